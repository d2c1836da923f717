using System.Text;
using Cria.Tensors;

namespace Cria.Formats.Gguf;

/// <summary>
/// Writes a GGUF file (version 3 by default, or 2) in two phases, so that a model of any size streams through:
/// <list type="number">
/// <item>declare: <see cref="AddMetadata(string, GgufValue)"/> and <see cref="AddTensor(string, ReadOnlySpan{long}, GgmlType)"/>
/// in the order they should appear;</item>
/// <item>write each tensor's bytes in the declared order (<see cref="WriteTensor(string, ReadOnlySpan{byte})"/>, or
/// piece by piece through <see cref="BeginTensor"/>), then <see cref="Complete"/>.</item>
/// </list>
/// The header goes out when the first tensor is written; data is aligned to <c>general.alignment</c> (default 32)
/// and each tensor is zero-padded to it, as llama.cpp and gguf-py do. Everything is written to a temporary file in
/// the output's folder that replaces the output only in <see cref="Complete"/>: a failed or abandoned write
/// (<see cref="Dispose"/> without <see cref="Complete"/>) leaves any existing output untouched and no partial file.
/// </summary>
/// <example><code>
/// using var w = new GgufWriter("model.gguf");
/// w.AddMetadata("general.architecture", GgufValue.Of("llama"));
/// w.AddTensor("output_norm.weight", [64], GgmlType.F32);
/// w.WriteTensor("output_norm.weight", normBytes);
/// w.Complete();
/// </code></example>
public sealed class GgufWriter : IDisposable
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly bool _overwrite;
    private readonly string _tempPath;
    private readonly List<KeyValuePair<string, GgufValue>> _metadata = [];
    private readonly Dictionary<string, GgufValue> _metadataByKey = [];
    private readonly List<(string Name, long[] Dims, GgmlType Type, long Size)> _tensors = [];
    private readonly HashSet<string> _tensorNames = [];
    private FileStream? _stream;
    private TensorDataStream? _open;   // the tensor being written, if any
    private int _written;              // tensors fully written
    private long _dataOffset;
    private IReadOnlyList<GgufTensorInfo>? _layout; // fixed when the header is written
    private bool _headerWritten, _completed, _failed;

    /// <summary>Starts writing <paramref name="path"/> (through a temporary file beside it).</summary>
    /// <param name="path">The output file. Its folder must exist.</param>
    /// <param name="version">GGUF version to write: 3 (current) or 2 (same layout, for old readers).</param>
    /// <param name="overwrite">If false, an existing <paramref name="path"/> is an error (checked now and at the end).</param>
    public GgufWriter(string path, uint version = 3, bool overwrite = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (version is not (2 or 3)) throw new ArgumentOutOfRangeException(nameof(version), version, "GGUF version must be 2 or 3");
        Path = System.IO.Path.GetFullPath(path);
        Version = version;
        _overwrite = overwrite;
        if (Directory.Exists(Path)) throw new IOException($"cannot write GGUF to '{Path}': it is a directory");
        if (!overwrite && File.Exists(Path)) throw new IOException($"'{Path}' already exists");
        string folder = System.IO.Path.GetDirectoryName(Path)!;
        _tempPath = System.IO.Path.Combine(folder, $".{System.IO.Path.GetFileName(Path)}.{Guid.NewGuid():N}.tmp");
        _stream = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
    }

    /// <summary>The output file (absolute).</summary>
    public string Path { get; }

    /// <summary>The GGUF version written in the header.</summary>
    public uint Version { get; }

    /// <summary>Data alignment in bytes: <c>general.alignment</c> if it was added, else 32.</summary>
    public int Alignment => _metadataByKey.TryGetValue(GgufLayout.AlignmentKey, out var a) ? (int)(uint)a.Value : GgufLayout.DefaultAlignment;

    /// <summary>The metadata declared so far, in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> Metadata => _metadata;

    /// <summary>The tensors declared so far, in file order, with their offsets in the data section.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors => _layout ?? Layout();

    // Tensors follow each other in declared order, each padded to the alignment (the layout llama.cpp expects).
    private List<GgufTensorInfo> Layout()
    {
        var infos = new List<GgufTensorInfo>(_tensors.Count);
        long offset = 0;
        int alignment = Alignment;
        foreach (var t in _tensors)
        {
            infos.Add(new GgufTensorInfo(t.Name, (long[])t.Dims.Clone(), t.Type, offset, t.Size));
            offset += GgufLayout.AlignUp(t.Size, alignment);
        }
        return infos;
    }

    /// <summary>Adds a metadata key/value (any type, including nested arrays). Keys must be unique;
    /// <c>general.alignment</c> must be a power-of-two uint32. Only before the first tensor is written.</summary>
    public void AddMetadata(string key, GgufValue value)
    {
        EnsureDeclaring();
        ArgumentNullException.ThrowIfNull(key);
        GgufValueEncoder.ValidateString("metadata key", key);
        GgufValueEncoder.Validate($"metadata '{key}'", value);
        if (key == GgufLayout.AlignmentKey && (value.Value is not uint a || !GgufLayout.IsValidAlignment(a)))
            throw new ArgumentException($"{key} must be a power-of-two uint32 no larger than {GgufLayout.MaxAlignment}, got {value.Display()} ({value.Type})");
        if (!_metadataByKey.TryAdd(key, value)) throw new ArgumentException($"duplicate metadata key '{key}'", nameof(key));
        _metadata.Add(new(key, value));
    }

    /// <summary>Adds every entry of <paramref name="entries"/> in order (e.g. a source file's <see cref="GgufMetadata.Entries"/>).</summary>
    public void AddMetadata(IEnumerable<KeyValuePair<string, GgufValue>> entries)
    {
        foreach (var (key, value) in entries) AddMetadata(key, value);
    }

    /// <summary>Declares a tensor. <paramref name="dimensions"/> are in ggml order (row length first, 1 to 4 of them);
    /// the row length must be a whole number of the type's blocks. Returns the byte size its data must have.</summary>
    public long AddTensor(string name, ReadOnlySpan<long> dimensions, GgmlType type)
    {
        EnsureDeclaring();
        ArgumentNullException.ThrowIfNull(name);
        int nameBytes = GgufValueEncoder.ValidateString("tensor name", name);
        if (nameBytes > GgufLayout.MaxTensorNameBytes)
            throw new ArgumentException($"tensor name '{name}' is {nameBytes} bytes; ggml allows at most {GgufLayout.MaxTensorNameBytes}", nameof(name));
        if (_tensorNames.Contains(name)) throw new ArgumentException($"duplicate tensor name '{name}'", nameof(name));
        if (dimensions.Length is 0 or > GgufLayout.MaxDimensions)
            throw new ArgumentException($"tensor '{name}' has {dimensions.Length} dimensions (1 to {GgufLayout.MaxDimensions} allowed)", nameof(dimensions));
        if (!TensorTypeInfo.TryGet(type, out var info)) throw new ArgumentException($"tensor '{name}' has unknown type id {(uint)type}", nameof(type));
        foreach (long d in dimensions)
            if (d < 0 || (ulong)d > GgufLayout.MaxDimension)
                throw new ArgumentException($"tensor '{name}' has dimension {d}, out of range", nameof(dimensions));
        if (GgufLayout.ByteSizeError(dimensions, info, out long size) is { } problem)
            throw new ArgumentException($"tensor '{name}' ({string.Join(" x ", dimensions.ToArray())} {info.Name}): {problem}", nameof(dimensions));
        _tensorNames.Add(name);
        _tensors.Add((name, dimensions.ToArray(), type, size));
        return size;
    }

    /// <summary>Declares a tensor with the name, dimensions and type of <paramref name="tensor"/> (its offset is ignored).</summary>
    public long AddTensor(GgufTensorInfo tensor) => AddTensor(tensor.Name, tensor.Dimensions, tensor.Type);

    /// <summary>Writes the whole data of the next tensor, which must be <paramref name="name"/>.</summary>
    public void WriteTensor(string name, ReadOnlySpan<byte> data)
    {
        var sink = BeginTensor(name);
        if (data.Length != sink.Length)
            Fail(new ArgumentException($"tensor '{name}' needs {sink.Length} bytes, got {data.Length}", nameof(data)));
        sink.Write(data);
        FinishOpenTensor();
    }

    /// <summary>Copies the next tensor's data from <paramref name="source"/>, which must hold exactly its byte size.</summary>
    public void WriteTensor(string name, Stream source)
    {
        ArgumentNullException.ThrowIfNull(source);
        WriteTensor(name, sink => source.CopyTo(sink, 1 << 20));
    }

    /// <summary>Lets <paramref name="writeData"/> write the next tensor's data in pieces (e.g. row by row as it is
    /// quantized); it must write exactly the tensor's byte size.</summary>
    public void WriteTensor(string name, Action<Stream> writeData)
    {
        ArgumentNullException.ThrowIfNull(writeData);
        var sink = BeginTensor(name);
        try
        {
            writeData(sink);
        }
        catch
        {
            _failed = true;
            throw;
        }
        FinishOpenTensor();
    }

    /// <summary>Starts the next tensor, which must be <paramref name="name"/> (tensors are written in declared order),
    /// and returns a write-only stream that takes exactly its byte size. The tensor is checked and padded when the
    /// next one begins or on <see cref="Complete"/>. The first call writes the header.</summary>
    public Stream BeginTensor(string name)
    {
        EnsureWritable();
        FinishOpenTensor();
        WriteHeaderOnce();
        if (_written >= _tensors.Count) Fail(new InvalidOperationException($"tensor '{name}': all {_tensors.Count} declared tensors are already written"));
        var next = _tensors[_written];
        if (next.Name != name)
            Fail(new InvalidOperationException($"tensor '{name}' written out of order: tensors are written in declared order and '{next.Name}' is next"));
        _open = new TensorDataStream(this, next.Name, next.Size);
        return _open;
    }

    /// <summary>Finishes the file: checks every declared tensor was written, flushes it to disk, and moves it over
    /// <see cref="Path"/>. Without this call nothing appears at <see cref="Path"/>.</summary>
    public void Complete()
    {
        EnsureWritable();
        FinishOpenTensor();
        WriteHeaderOnce();
        if (_written != _tensors.Count)
            Fail(new InvalidOperationException($"only {_written} of {_tensors.Count} tensors were written; '{_tensors[_written].Name}' is next"));
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

    /// <summary>Closes the writer; if <see cref="Complete"/> did not succeed, deletes the temporary file.</summary>
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
        _completed = true; // further calls are refused
    }

    private void WriteHeaderOnce()
    {
        if (_headerWritten) return;
        _headerWritten = true;
        _layout = Layout();
        try
        {
            using var bw = new BinaryWriter(_stream!, StrictUtf8, leaveOpen: true);
            var encoder = new GgufValueEncoder(bw);
            bw.Write(GgufFile.Magic);
            bw.Write(Version);
            bw.Write((ulong)_tensors.Count);
            bw.Write((ulong)_metadata.Count);
            foreach (var (key, value) in _metadata)
            {
                encoder.WriteString(key);
                encoder.WriteTagged(value);
            }
            foreach (var t in _layout)
            {
                encoder.WriteString(t.Name);
                bw.Write((uint)t.Dimensions.Length);
                foreach (long d in t.Dimensions) bw.Write((ulong)d);
                bw.Write((uint)t.Type);
                bw.Write((ulong)t.Offset);
            }
            bw.Flush();
            // A file without tensors has no data section and ends here, like llama.cpp's vocab-only files.
            if (_tensors.Count > 0) WriteZeros(GgufLayout.AlignUp(_stream!.Position, Alignment) - _stream.Position);
            _dataOffset = _stream!.Position;
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    private void FinishOpenTensor()
    {
        if (_open is null) return;
        var open = _open;
        _open = null;
        open.Close();
        if (open.Remaining != 0)
            Fail(new InvalidOperationException($"tensor '{open.Name}' got {open.Length - open.Remaining} of its {open.Length} bytes"));
        long padded = GgufLayout.AlignUp(open.Length, Alignment);
        WriteZeros(padded - open.Length);
        _written++;
        long expectedEnd = _dataOffset + _layout![_written - 1].Offset + padded;
        if (_stream!.Position != expectedEnd) Fail(new InvalidOperationException($"internal error: after tensor '{open.Name}' the file is at {_stream.Position}, expected {expectedEnd}"));
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

    private void WriteZeros(long count)
    {
        Span<byte> zeros = stackalloc byte[256];
        zeros.Clear();
        for (long left = count; left > 0; left -= zeros.Length)
            WriteData(zeros[..(int)Math.Min(left, zeros.Length)]);
    }

    private void EnsureDeclaring()
    {
        EnsureWritable();
        if (_headerWritten) throw new InvalidOperationException("metadata and tensors must be declared before the first tensor is written");
    }

    private void EnsureWritable()
    {
        if (_completed) throw new InvalidOperationException($"the GGUF writer for '{Path}' is already completed or disposed");
        if (_failed) throw new InvalidOperationException($"an earlier write to '{Path}' failed; dispose this writer and start again");
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void Fail(Exception e)
    {
        _failed = true;
        throw e;
    }

    /// <summary>Write-only view of one tensor's slot in the file: refuses bytes beyond the tensor's size.</summary>
    private sealed class TensorDataStream : Stream
    {
        private readonly GgufWriter _owner;
        private readonly long _length;
        private bool _closed;

        public TensorDataStream(GgufWriter owner, string name, long length)
        {
            _owner = owner;
            Name = name;
            _length = length;
            Remaining = length;
        }

        public string Name { get; }
        public long Remaining { get; private set; }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => !_closed;
        public override long Length => _length;
        public override long Position { get => _length - Remaining; set => throw new NotSupportedException(); }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            if (buffer.Length > Remaining)
                _owner.Fail(new InvalidOperationException($"tensor '{Name}' takes {_length} bytes, but {_length - Remaining + buffer.Length} were written"));
            _owner.WriteData(buffer);
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
