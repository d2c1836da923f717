using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;

namespace Cria.IO;

/// <summary>A read-only memory map of a whole file; weights are used in place through <see cref="Pointer"/>.</summary>
public sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _pointer;
    private SafeFileHandle? _handle;
    private readonly Lock _handleLock = new();

    public string Path { get; }
    public long Length { get; }

    /// <summary>The first byte of the file; valid until <see cref="Dispose"/>.</summary>
    public byte* Pointer => _pointer != null || Length == 0 ? _pointer : throw new ObjectDisposedException(Path);

    private MappedFile(string path, long length, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* pointer)
    {
        Path = path;
        Length = length;
        _map = map;
        _view = view;
        _pointer = pointer;
    }

    /// <summary>Maps <paramref name="path"/> read-only. An empty file maps to a zero-length view.</summary>
    public static MappedFile Open(string path)
    {
        var info = new FileInfo(path);
        if (Directory.Exists(path)) throw new CriaException($"'{path}' is a directory, not a file");
        if (!info.Exists) throw new CriaException($"file not found: '{path}'");
        if (info.Length == 0) return new MappedFile(path, 0, null, null, null);
        MemoryMappedFile map;
        try
        {
            map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        }
        catch (UnauthorizedAccessException e) { throw new CriaException($"cannot read '{path}': {e.Message}", e); }
        catch (IOException e) { throw new CriaException($"cannot map '{path}': {e.Message}", e); }
        MemoryMappedViewAccessor view;
        try
        {
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            map.Dispose(); // don't leak the mapping handle when the view cannot be made
            throw new CriaException($"cannot map '{path}': {e.Message}", e);
        }
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        p += view.PointerOffset;
        return new MappedFile(path, info.Length, map, view, p);
    }

    /// <summary>A span over <paramref name="length"/> bytes at <paramref name="offset"/> (checked against the file).</summary>
    public ReadOnlySpan<byte> Span(long offset, int length)
    {
        if (offset < 0 || length < 0 || offset > Length - length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"range {offset}+{length} is outside '{Path}' ({Length} bytes)");
        return new ReadOnlySpan<byte>(Pointer + offset, length);
    }

    /// <summary>Copies the bytes at <paramref name="offset"/> into <paramref name="destination"/> with a positioned read,
    /// not through the map: the map's pages of what is read once (a header, a norm, a matrix being repacked) would
    /// otherwise stay resident. Safe from several threads at once.</summary>
    public void Read(long offset, Span<byte> destination)
    {
        fixed (byte* d = destination) Read(offset, d, destination.Length);
    }

    /// <inheritdoc cref="Read(long, Span{byte})"/>
    public void Read(long offset, byte* destination, long bytes)
    {
        if (offset < 0 || bytes < 0 || offset > Length - bytes)
            throw new ArgumentOutOfRangeException(nameof(offset), $"range {offset}+{bytes} is outside '{Path}' ({Length} bytes)");
        var handle = Handle;
        for (long done = 0; done < bytes;)
        {
            int read = RandomAccess.Read(handle, new Span<byte>(destination + done, (int)Math.Min(1 << 30, bytes - done)), offset + done);
            if (read <= 0) throw new ModelFormatException($"'{Path}' ended at byte {offset + done} while {bytes} bytes from {offset} were read (the file changed?)");
            done += read;
        }
    }

    // Opened on the first read and kept: a load reads hundreds of pieces.
    private SafeFileHandle Handle
    {
        get
        {
            if (_handle != null) return _handle;
            lock (_handleLock) return _handle ??= File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
    }

    public void Dispose()
    {
        if (_view != null && _pointer != null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _pointer = null;
        }
        _view?.Dispose();
        _map?.Dispose();
        _handle?.Dispose();
    }
}
