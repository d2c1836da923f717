using System.Text;

namespace Cria.Formats.SafeTensors;

/// <summary>
/// Writes a safetensors file in two phases, so that tensors of any size stream through:
/// <list type="number">
/// <item>declare: <see cref="AddMetadata"/> and <see cref="AddTensor"/>;</item>
/// <item>write each tensor's bytes in <see cref="Layout"/> order (<see cref="WriteTensor(string, ReadOnlySpan{byte})"/>,
/// or piece by piece through <see cref="BeginTensor"/>), then <see cref="Complete"/>.</item>
/// </list>
/// The layout is the reference library's (huggingface/safetensors <c>serialize</c>): tensors sorted by descending dtype
/// alignment, then by name (byte order), packed with no gaps after a header padded with spaces to a multiple of 8
/// bytes, so every tensor's data is aligned to its element size. Everything goes to a temporary file beside the output
/// that replaces it only in <see cref="Complete"/>; an abandoned write leaves no partial file.
/// </summary>
public sealed class SafeTensorsWriter : IDisposable
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly bool _overwrite;
    private readonly string _tempPath;
    private readonly List<KeyValuePair<string, string>> _metadata = [];
    private readonly HashSet<string> _metadataKeys = new(StringComparer.Ordinal);
    private readonly List<(string Name, SafeTensorsDType DType, long[] Shape, long Size)> _tensors = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private FileStream? _stream;
    private IReadOnlyList<SafeTensorsTensorInfo>? _layout; // fixed when the header is written
    private TensorSink? _open;
    private int _written;
    private bool _headerWritten, _completed, _failed;

    /// <summary>Starts writing <paramref name="path"/> (through a temporary file in the same folder, which must exist).</summary>
    public SafeTensorsWriter(string path, bool overwrite = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
        _overwrite = overwrite;
        if (Directory.Exists(Path)) throw new IOException($"cannot write safetensors to '{Path}': it is a directory");
        if (!overwrite && File.Exists(Path)) throw new IOException($"'{Path}' already exists");
        string folder = System.IO.Path.GetDirectoryName(Path)!;
        _tempPath = System.IO.Path.Combine(folder, $".{System.IO.Path.GetFileName(Path)}.{Guid.NewGuid():N}.tmp");
        _stream = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
    }

    /// <summary>The output file (absolute).</summary>
    public string Path { get; }

    /// <summary>Adds a <c>__metadata__</c> entry (e.g. <c>format</c> = <c>pt</c>, as PyTorch's save_file writes).</summary>
    public void AddMetadata(string key, string value)
    {
        EnsureDeclaring();
        ValidateString("metadata key", key);
        ValidateString("metadata value", value);
        if (!_metadataKeys.Add(key)) throw new ArgumentException($"duplicate metadata key '{key}'", nameof(key));
        _metadata.Add(new(key, value));
    }

    /// <summary>Declares a tensor of <paramref name="shape"/> (outermost first, C order) and returns its byte size.</summary>
    public long AddTensor(string name, SafeTensorsDType dtype, ReadOnlySpan<long> shape)
    {
        EnsureDeclaring();
        ValidateString("tensor name", name);
        if (name == SafeTensorsHeader.MetadataKey) throw new ArgumentException($"'{name}' is reserved for the metadata", nameof(name));
        if (_names.Contains(name)) throw new ArgumentException($"duplicate tensor name '{name}'", nameof(name));
        if (!Enum.IsDefined(dtype)) throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a safetensors dtype");
        ulong bits = (ulong)dtype.Bits();
        try
        {
            foreach (long d in shape)
            {
                if (d < 0) throw new ArgumentException($"tensor '{name}' has negative dimension {d}", nameof(shape));
                bits = checked(bits * (ulong)d);
            }
        }
        catch (OverflowException)
        {
            throw new ArgumentException($"tensor '{name}' [{string.Join(" x ", shape.ToArray())}] is too large", nameof(shape));
        }
        if (bits % 8 != 0) throw new ArgumentException($"tensor '{name}' of {dtype} is not a whole number of bytes", nameof(shape));
        long size = (long)(bits / 8);
        _names.Add(name);
        _tensors.Add((name, dtype, shape.ToArray(), size));
        return size;
    }

    /// <summary>The tensors in the order their data must be written, with their offsets in the data section.</summary>
    public IReadOnlyList<SafeTensorsTensorInfo> Layout => _layout ?? ComputeLayout();

    private List<SafeTensorsTensorInfo> ComputeLayout()
    {
        var ordered = _tensors.OrderByDescending(t => t.DType).ThenBy(t => StrictUtf8.GetBytes(t.Name), Utf8Order.Instance);
        var layout = new List<SafeTensorsTensorInfo>(_tensors.Count);
        long offset = 0;
        foreach (var t in ordered)
        {
            layout.Add(new SafeTensorsTensorInfo(t.Name, t.DType, t.Shape, offset, offset + t.Size));
            offset += t.Size;
        }
        return layout;
    }

    /// <summary>Writes the whole data of the next tensor in <see cref="Layout"/> order, which must be <paramref name="name"/>.</summary>
    public void WriteTensor(string name, ReadOnlySpan<byte> data)
    {
        var sink = BeginTensor(name);
        if (data.Length != sink.Length) Fail(new ArgumentException($"tensor '{name}' needs {sink.Length} bytes, got {data.Length}", nameof(data)));
        sink.Write(data);
        FinishOpenTensor();
    }

    /// <summary>Starts the next tensor, which must be <paramref name="name"/>, and returns a write-only stream that takes
    /// exactly its byte size. The first call writes the header.</summary>
    public Stream BeginTensor(string name)
    {
        EnsureWritable();
        FinishOpenTensor();
        WriteHeaderOnce();
        if (_written >= _layout!.Count) Fail(new InvalidOperationException($"tensor '{name}': all {_layout.Count} declared tensors are already written"));
        var next = _layout[_written];
        if (next.Name != name)
            Fail(new InvalidOperationException($"tensor '{name}' written out of order: tensors are written in Layout order and '{next.Name}' is next"));
        _open = new TensorSink(this, next.Name, next.ByteSize);
        return _open;
    }

    /// <summary>Checks every declared tensor was written, flushes the file to disk and moves it over <see cref="Path"/>.</summary>
    public void Complete()
    {
        EnsureWritable();
        FinishOpenTensor();
        WriteHeaderOnce();
        if (_written != _layout!.Count)
            Fail(new InvalidOperationException($"only {_written} of {_layout.Count} tensors were written; '{_layout[_written].Name}' is next"));
        try
        {
            _stream!.Flush(flushToDisk: true);
            _stream.Dispose();
            _stream = null;
            File.Move(_tempPath, Path, _overwrite);
            _completed = true;
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    /// <summary>Closes the writer; without a successful <see cref="Complete"/>, deletes the temporary file.</summary>
    public void Dispose()
    {
        _stream?.Dispose();
        _stream = null;
        if (!_completed)
        {
            try { File.Delete(_tempPath); }
            catch (IOException) { } // best effort: the temporary name says what it is
            catch (UnauthorizedAccessException) { }
        }
        _completed = true;
    }

    private void WriteHeaderOnce()
    {
        if (_headerWritten) return;
        _headerWritten = true;
        _layout = ComputeLayout();
        byte[] json = SafeTensorsJson.Header(_metadata, _layout);
        int padding = (8 - json.Length % 8) % 8; // the reference pads with spaces so the data starts 8-byte aligned
        if (json.Length + padding > SafeTensorsHeader.MaxHeaderBytes)
            Fail(new InvalidOperationException($"the header would be {json.Length + padding} bytes, over the format's {SafeTensorsHeader.MaxHeaderBytes}"));
        Span<byte> length = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)(json.Length + padding));
        WriteData(length);
        WriteData(json);
        Span<byte> spaces = stackalloc byte[8];
        spaces.Fill((byte)' ');
        WriteData(spaces[..padding]);
    }

    private void FinishOpenTensor()
    {
        if (_open is null) return;
        var open = _open;
        _open = null;
        open.Close();
        if (open.Remaining != 0) Fail(new InvalidOperationException($"tensor '{open.Name}' got {open.Length - open.Remaining} of its {open.Length} bytes"));
        _written++;
    }

    private void WriteData(ReadOnlySpan<byte> data)
    {
        try
        {
            _stream!.Write(data);
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    private static void ValidateString(string what, string value)
    {
        ArgumentNullException.ThrowIfNull(value, what);
        try
        {
            StrictUtf8.GetByteCount(value);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"{what} '{value}' is not valid Unicode", e);
        }
    }

    private void EnsureDeclaring()
    {
        EnsureWritable();
        if (_headerWritten) throw new InvalidOperationException("metadata and tensors must be declared before the first tensor is written");
    }

    private void EnsureWritable()
    {
        if (_completed) throw new InvalidOperationException($"the safetensors writer for '{Path}' is already completed or disposed");
        if (_failed) throw new InvalidOperationException($"an earlier write to '{Path}' failed; dispose this writer and start again");
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void Fail(Exception e)
    {
        _failed = true;
        throw e;
    }

    /// <summary>Orders names by their UTF-8 bytes, as Rust's string comparison does.</summary>
    private sealed class Utf8Order : IComparer<byte[]>
    {
        public static readonly Utf8Order Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }

    /// <summary>Write-only view of one tensor's slot: refuses bytes beyond the tensor's size.</summary>
    private sealed class TensorSink(SafeTensorsWriter owner, string name, long length) : Stream
    {
        private readonly long _length = length;
        private bool _closed;

        public string Name { get; } = name;
        public long Remaining { get; private set; } = length;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => !_closed;
        public override long Length => _length;
        public override long Position { get => _length - Remaining; set => throw new NotSupportedException(); }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            if (buffer.Length > Remaining)
                owner.Fail(new InvalidOperationException($"tensor '{Name}' takes {_length} bytes, but {_length - Remaining + buffer.Length} were written"));
            owner.WriteData(buffer);
            Remaining -= buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void WriteByte(byte value) => Write([value]);
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            _closed = true;
            base.Dispose(disposing);
        }
    }
}
