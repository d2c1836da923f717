using Cria.Formats.PyTorch;

namespace Cria.Tests.Formats.PyTorch.Support;

/// <summary>Writes torch.save-style checkpoints (a zip with folder/data.pkl, folder/data/KEY, folder/version) from
/// named tensors, with a pickle like torch 1.13's (protocol 2, _rebuild_tensor_v2, persistent storage ids).</summary>
internal static class TorchCheckpoint
{
    /// <summary>A tensor to write: its storage's bytes, type (e.g. "BFloat16Storage") and key, and its view of it.</summary>
    public sealed record Tensor(string Name, string StorageType, long[] Shape, byte[] Storage, long[]? Stride = null, long Offset = 0, string? Key = null)
    {
        public int ElementSize => StorageType switch { "FloatStorage" or "IntStorage" => 4, "LongStorage" or "DoubleStorage" => 8, "ByteStorage" or "BoolStorage" => 1, _ => 2 };
        public long[] RowMajorStride
        {
            get
            {
                var s = new long[Shape.Length];
                long step = 1;
                for (int i = Shape.Length - 1; i >= 0; i--) { s[i] = step; step *= Shape[i]; }
                return s;
            }
        }
    }

    /// <summary>The pickle of a dict of <paramref name="tensors"/> (storage keys default to their index).</summary>
    public static byte[] Pickle(IReadOnlyList<Tensor> tensors)
    {
        var p = new PickleBuilder().Proto(2).EmptyDict().Mark();
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            p.Unicode(t.Name).Tensor(t.StorageType, t.Key ?? i.ToString(), t.Storage.Length / t.ElementSize, t.Offset, t.Shape, t.Stride ?? t.RowMajorStride);
        }
        return p.SetItems().Stop().ToArray();
    }

    /// <summary>The zip around <paramref name="pickle"/> and the storages (one record per distinct key).</summary>
    public static ZipBuilder Zip(string folder, byte[] pickle, IReadOnlyList<Tensor> tensors)
    {
        var zip = new ZipBuilder();
        zip.Add(folder + "/data.pkl", pickle);
        var keys = new HashSet<string>();
        for (int i = 0; i < tensors.Count; i++)
            if (keys.Add(tensors[i].Key ?? i.ToString())) zip.Add($"{folder}/data/{tensors[i].Key ?? i.ToString()}", tensors[i].Storage);
        zip.Add(folder + "/version", "3\n"u8.ToArray());
        return zip;
    }

    public static byte[] Build(string folder, IReadOnlyList<Tensor> tensors) => Zip(folder, Pickle(tensors), tensors).ToArray();

    /// <summary>The tensors of an existing checkpoint, each with its own copy of its bytes, for rewriting.</summary>
    public static List<Tensor> Read(string path)
    {
        using var file = PyTorchFile.Open(path);
        return file.Tensors.Select(t => new Tensor(t.Name, t.Dtype.StorageName!, t.Shape, t.Bytes.ToArray())).ToList();
    }
}
