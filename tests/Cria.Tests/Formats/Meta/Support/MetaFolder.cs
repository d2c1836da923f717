using Cria.Tests.Formats.Gguf.Support;
using Cria.Tests.Formats.PyTorch.Support;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Formats.Meta.Support;

/// <summary>A temporary copy of a Meta checkpoint folder from the shared assets, to break in one way per test.</summary>
public sealed class MetaFolder : IDisposable
{
    private readonly TempDir _dir = new();

    public string Path => _dir.Path;

    public static MetaFolder CopyOf(string asset)
    {
        var folder = new MetaFolder();
        foreach (string file in Directory.EnumerateFiles(TestAssets.Path(asset)))
            if (!file.EndsWith(".md", StringComparison.Ordinal) && !file.EndsWith(".json", StringComparison.Ordinal) || file.EndsWith("params.json", StringComparison.Ordinal))
                System.IO.File.Copy(file, folder.File(System.IO.Path.GetFileName(file)));
        return folder;
    }

    public string File(string name) => _dir.File(name);

    public string Shard(int index) => File($"consolidated.{index:00}.pth");

    public void WriteParams(string json) => System.IO.File.WriteAllText(File("params.json"), json);

    /// <summary>Rewrites shard <paramref name="index"/> (as torch.save would) with its tensors changed.</summary>
    internal void RewriteShard(int index, Func<List<TorchCheckpoint.Tensor>, IEnumerable<TorchCheckpoint.Tensor>> change)
    {
        var tensors = change(TorchCheckpoint.Read(Shard(index))).ToList();
        System.IO.File.WriteAllBytes(Shard(index), TorchCheckpoint.Build($"consolidated.{index:00}", tensors));
    }

    public void Dispose() => _dir.Dispose();
}
