using System.Buffers.Binary;
using Cria.IO;

namespace Cria.Formats.PyTorch;

/// <summary>A checkpoint written by <c>torch.save</c> (PyTorch ≥ 1.6's zip format: <c>&lt;folder&gt;/data.pkl</c>, the
/// pickled object, and <c>&lt;folder&gt;/data/&lt;key&gt;</c>, one raw little-endian record per storage, stored
/// uncompressed). The pickle is read by <see cref="RestrictedUnpickler"/>, which runs nothing; the storages are used
/// in place from a memory map. The object must be a dict (a state dict): its string-keyed tensors are
/// <see cref="Tensors"/>.</summary>
public sealed unsafe class PyTorchFile : IDisposable
{
    /// <summary>Largest data.pkl read (a state dict's pickle takes about 100 bytes per tensor).</summary>
    public const int MaxPickleBytes = 16 << 20;

    private readonly MappedFile _file;
    private readonly Dictionary<string, PyTorchTensor> _byName;

    public string Path => _file.Path;
    /// <summary>"PyTorch checkpoint '&lt;path&gt;'", the prefix of every error about this file.</summary>
    public string Source { get; }
    /// <summary>The folder inside the zip that holds everything (torch names it after the file).</summary>
    public string ArchiveFolder { get; }
    /// <summary>The dict's tensors in the order the pickle holds them.</summary>
    public IReadOnlyList<PyTorchTensor> Tensors { get; }
    /// <summary>Keys of the dict whose values are not tensors (described, for messages).</summary>
    public IReadOnlyList<string> OtherEntries { get; }

    private PyTorchFile(MappedFile file, string source, string folder, List<PyTorchTensor> tensors, List<string> others)
    {
        _file = file;
        Source = source;
        ArchiveFolder = folder;
        Tensors = tensors;
        OtherEntries = others;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public bool TryGetTensor(string name, out PyTorchTensor tensor) => _byName.TryGetValue(name, out tensor!);

    /// <summary>Opens and checks <paramref name="path"/>; the file stays mapped until <see cref="Dispose"/>.</summary>
    public static PyTorchFile Open(string path)
    {
        var file = MappedFile.Open(path);
        try
        {
            return Read(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static PyTorchFile Read(MappedFile file)
    {
        string source = $"PyTorch checkpoint '{file.Path}'";
        CheckMagic(file, source);
        var zip = ZipDirectory.Read(file, source);
        string folder = TopFolder(zip, source);
        if (!zip.TryGet(folder + "/data.pkl", out var pickleEntry))
            throw new ModelFormatException($"{source}: the zip has no '{folder}/data.pkl': it is not a torch.save checkpoint");
        if (zip.TryGet(folder + "/byteorder", out var byteOrderEntry))
        {
            string order = System.Text.Encoding.ASCII.GetString(zip.ReadAll(byteOrderEntry, 16)).Trim();
            if (order != "little") throw new ModelFormatException($"{source}: storages are stored '{order}'-endian; Cria reads little-endian ones");
        }
        var pickle = zip.ReadAll(pickleEntry, MaxPickleBytes);
        if (pickle.AsSpan().StartsWith("PK\u0003\u0004"u8))
            throw new ModelFormatException($"{source}: data.pkl is itself a zip archive (a nested zip), not a pickle");
        var root = RestrictedUnpickler.Load(pickle, $"{source}, data.pkl");
        if (root is not PickleDict dict)
            throw new ModelFormatException($"{source}: data.pkl holds {Describe.Value(root)}, not a dict of tensors (a state dict)");

        var tensors = new List<PyTorchTensor>();
        var others = new List<string>();
        foreach (var (key, value) in dict.Items)
        {
            if (key is string name && value is TorchTensorRef tensor) tensors.Add(Locate(file, zip, folder, name, tensor, source));
            else others.Add($"{Describe.Value(key)}: {Describe.Value(value)}");
        }
        return new PyTorchFile(file, source, folder, tensors, others);
    }

    private static void CheckMagic(MappedFile file, string source)
    {
        if (file.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(file.Span(0, 4)) == 0x04034b50) return;
        if (file.Length >= 2 && file.Span(0, 1)[0] == 0x80)
            throw new ModelFormatException($"{source}: this is PyTorch's legacy (before 1.6) serialization, which Cria does not read; re-save it with a newer torch.save");
        throw new ModelFormatException($"{source}: not a torch.save checkpoint (it does not start as a zip archive)");
    }

    // torch.save puts every record under one folder named after the file; any folder name is accepted.
    private static string TopFolder(ZipDirectory zip, string source)
    {
        string? folder = null;
        foreach (var entry in zip.Entries)
        {
            int slash = entry.Name.IndexOf('/');
            if (slash <= 0) throw new ModelFormatException($"{source}: zip entry '{entry.Name}' is not inside a folder, as torch.save writes them");
            string top = entry.Name[..slash];
            if (folder == null) folder = top;
            else if (top != folder) throw new ModelFormatException($"{source}: the zip holds several top folders ('{folder}', '{top}'); torch.save writes one");
        }
        return folder ?? throw new ModelFormatException($"{source}: the zip archive is empty");
    }

    // Checks the tensor's elements lie inside its storage record, and finds its first element in the map.
    private static PyTorchTensor Locate(MappedFile file, ZipDirectory zip, string folder, string name, TorchTensorRef t, string source)
    {
        var storage = t.Storage;
        string recordName = $"{folder}/data/{storage.Key}";
        if (!zip.TryGet(recordName, out var record))
            throw new ModelFormatException($"{source}: tensor '{name}' uses storage '{storage.Key}' but the zip has no record '{recordName}'");
        if (!record.IsStored)
            throw new ModelFormatException($"{source}: storage record '{recordName}' is compressed (method {record.Method}); torch.save stores " +
                                           "storages uncompressed, and Cria maps them in place, so it cannot read a re-compressed checkpoint");
        if (record.CompressedSize != record.UncompressedSize || record.UncompressedSize != storage.ByteCount)
            throw new ModelFormatException($"{source}: storage record '{recordName}' holds {record.UncompressedSize} bytes but the pickle " +
                                           $"describes {storage.ElementCount} {storage.Dtype} elements ({storage.ByteCount} bytes)");
        try
        {
            long elements = 1, lastIndex = t.StorageOffset, expectedStride = 1;
            bool contiguous = true;
            for (int i = t.Shape.Length - 1; i >= 0; i--)
            {
                elements = checked(elements * t.Shape[i]);
                if (t.Shape[i] > 0) lastIndex = checked(lastIndex + (t.Shape[i] - 1) * t.Stride[i]);
                if (t.Shape[i] != 1 && t.Stride[i] != expectedStride) contiguous = false;
                expectedStride = checked(expectedStride * t.Shape[i]);
            }
            long size = t.Dtype.ElementSize;
            long byteOffset = checked(t.StorageOffset * size);
            if (elements > 0 && checked((lastIndex + 1) * size) > storage.ByteCount)
                throw new ModelFormatException($"{source}: tensor '{name}' [{string.Join(", ", t.Shape)}] at offset {t.StorageOffset} " +
                                               $"reaches past the end of storage '{storage.Key}' ({storage.ByteCount} bytes)");
            if (byteOffset > storage.ByteCount)
                throw new ModelFormatException($"{source}: tensor '{name}' starts at element {t.StorageOffset}, past the end of storage '{storage.Key}'");
            return new PyTorchTensor(name, t.Dtype, t.Shape, t.Stride, storage.Key, t.StorageOffset, elements, contiguous,
                file.Pointer + record.DataOffset + byteOffset, source);
        }
        catch (OverflowException)
        {
            throw new ModelFormatException($"{source}: tensor '{name}' has a shape [{string.Join(", ", t.Shape)}] or stride that overflows");
        }
    }

    public void Dispose() => _file.Dispose();
}
