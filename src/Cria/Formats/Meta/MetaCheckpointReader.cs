using System.Globalization;
using System.Text.RegularExpressions;
using Cria.Formats.PyTorch;
using Cria.Model;
using Cria.Tensors;
using Cria.Tokenization;

namespace Cria.Formats.Meta;

/// <summary>Meta's original checkpoint folder: <c>params.json</c>, <c>consolidated.NN.pth</c> (one torch.save file per
/// model-parallel shard, merged here as Meta's fairscale layers split them, without copying) and
/// <c>tokenizer.model</c>. Tensors keep their stored type (bfloat16 in Meta's releases) and get GGUF names.</summary>
public static partial class MetaCheckpointReader
{
    public const string ParamsFileName = "params.json";
    public const string TokenizerFileName = "tokenizer.model";

    [GeneratedRegex(@"^consolidated\.(\d{1,4})\.pth$")]
    private static partial Regex ShardName();

    /// <summary>True for a folder holding params.json or consolidated.*.pth files, or a <c>.pth</c> file or params.json
    /// in one: what <see cref="Open"/> takes (it then explains whatever is missing).</summary>
    public static bool Recognizes(string path)
    {
        if (Directory.Exists(path))
            return File.Exists(System.IO.Path.Combine(path, ParamsFileName)) || Directory.EnumerateFiles(path, "consolidated.*.pth").Any();
        return File.Exists(path) && (path.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) || System.IO.Path.GetFileName(path) == ParamsFileName);
    }

    /// <summary>Opens the checkpoint in folder <paramref name="path"/> (or the folder of the <c>.pth</c> file
    /// <paramref name="path"/>): every shard, merged. The tokenizer is <paramref name="tokenizerPath"/> if given, else
    /// the folder's tokenizer.model; with <paramref name="weightsOnly"/>, a tokenizer that is missing or cannot be
    /// loaded leaves the checkpoint without one instead of failing.</summary>
    public static LlamaCheckpoint Open(string path, string? tokenizerPath = null, bool weightsOnly = false)
    {
        string folder = System.IO.Path.GetFullPath(Directory.Exists(path) ? path : System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        if (!Directory.Exists(path) && !File.Exists(path)) throw new CriaException($"model path not found: '{path}'");
        var shardPaths = FindShards(folder);
        string source = shardPaths.Length == 1 ? $"Meta checkpoint '{folder}'" : $"Meta checkpoint '{folder}' ({shardPaths.Length} shards)";
        var parameters = MetaParams.Read(System.IO.Path.Combine(folder, ParamsFileName));
        var files = new List<PyTorchFile>();
        try
        {
            foreach (string shard in shardPaths) files.Add(PyTorchFile.Open(shard));
            var tensors = MergeShards(files, parameters, source);
            var config = Configure(parameters, tensors, source, files.Count);
            var tokenizer = LoadTokenizer(folder, tokenizerPath, config.VocabSize, weightsOnly, source);
            string format = files.Count == 1 ? "Meta" : $"Meta ({files.Count} shards)";
            return new LlamaCheckpoint(format, "Meta", folder, config, tensors, tokenizer, null, files.ToArray<IDisposable>());
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    // consolidated.00.pth … consolidated.{N-1}.pth, all present; Meta's loader takes sorted(glob("*.pth"))[rank].
    private static string[] FindShards(string folder)
    {
        var numbered = new SortedDictionary<int, string>();
        foreach (string file in Directory.EnumerateFiles(folder, "*.pth"))
        {
            string name = System.IO.Path.GetFileName(file);
            var match = ShardName().Match(name);
            if (!match.Success)
                throw new ModelFormatException($"Meta checkpoint '{folder}': '{name}' is not named like a shard (consolidated.NN.pth)");
            if (!numbered.TryAdd(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), file))
                throw new ModelFormatException($"Meta checkpoint '{folder}': two files are shard {match.Groups[1].Value}");
        }
        if (numbered.Count == 0) throw new CriaException($"Meta checkpoint '{folder}': no consolidated.NN.pth file in the folder");
        int expected = 0;
        foreach (int n in numbered.Keys)
        {
            if (n != expected)
                throw new ModelFormatException($"Meta checkpoint '{folder}': shard {expected:00} (consolidated.{expected:00}.pth) is missing; " +
                                               $"found {string.Join(", ", numbered.Values.Select(System.IO.Path.GetFileName))}");
            expected++;
        }
        return numbered.Values.ToArray();
    }

    // Every shard holds the same names; each name is merged by its split, in shard 0's order.
    private static List<TensorData> MergeShards(List<PyTorchFile> files, MetaParams parameters, string source)
    {
        var shardNames = files.Select(f => System.IO.Path.GetFileName(f.Path)).ToArray();
        var first = files[0];
        if (first.Tensors.Count == 0)
            throw new ModelFormatException($"{first.Source}: holds no tensors ({(first.OtherEntries.Count == 0 ? "an empty dict" : string.Join("; ", first.OtherEntries.Take(5)))})");
        for (int s = 1; s < files.Count; s++)
        {
            if (files[s].Tensors.Count != first.Tensors.Count || files[s].Tensors.Any(t => !first.TryGetTensor(t.Name, out _)))
            {
                var missing = first.Tensors.Select(t => t.Name).Except(files[s].Tensors.Select(t => t.Name)).Take(3).ToList();
                var extra = files[s].Tensors.Select(t => t.Name).Except(first.Tensors.Select(t => t.Name)).Take(3).ToList();
                throw new ModelFormatException($"{source}: {shardNames[s]} does not hold the same tensors as {shardNames[0]}" +
                                               (missing.Count > 0 ? $" (it lacks {string.Join(", ", missing)})" : "") +
                                               (extra.Count > 0 ? $" (it has {string.Join(", ", extra)} in addition)" : ""));
            }
        }
        var tensors = new List<TensorData>(first.Tensors.Count);
        foreach (var tensor in first.Tensors)
        {
            if (!MetaLayout.TryMap(tensor.Name, out string gguf, out var split, out int layer) || layer >= parameters.LayerCount)
                throw new ModelFormatException($"{first.Source}: tensor '{tensor.Name}' is not part of Meta's Llama layout" +
                                               (layer >= parameters.LayerCount ? $" (params.json has n_layers {parameters.LayerCount})" : ""));
            if (split == MetaSplit.Ignored) continue;
            var pieces = files.Select(f => f.TryGetTensor(tensor.Name, out var p) ? p : throw new InvalidOperationException()).ToArray();
            tensors.Add(MetaShardMerger.Merge(gguf, tensor.Name, split, pieces, shardNames, parameters.Dim, source));
        }
        foreach (string name in MetaLayout.RequiredNames(parameters.LayerCount))
            if (!first.TryGetTensor(name, out _))
                throw new ModelFormatException($"{first.Source}: tensor '{name}' is missing (params.json has n_layers {parameters.LayerCount})");
        return tensors;
    }

    // The config from params.json, the vocabulary from the embedding; every matrix's merged shape checked against it.
    private static LlamaConfig Configure(MetaParams p, List<TensorData> tensors, string source, int shards)
    {
        var byName = tensors.ToDictionary(t => t.SourceName);
        var embedding = byName["tok_embeddings.weight"];
        if (p.VocabSize > 0 && embedding.Rows != p.VocabSize)
            throw new ModelFormatException($"{source}: params.json has vocab_size {p.VocabSize} but tok_embeddings.weight has {embedding.Rows} rows");
        long w1Rows = byName["layers.0.feed_forward.w1.weight"].Rows;
        if (w1Rows != p.HiddenDim)
            throw new ModelFormatException($"{source}: params.json gives a feed-forward width of {p.HiddenDim} (dim {p.Dim}, multiple_of {p.MultipleOf}, " +
                                           $"ffn_dim_multiplier {p.FfnDimMultiplier?.ToString(CultureInfo.InvariantCulture) ?? "none"}) but " +
                                           $"layers.0.feed_forward.w1.weight has {w1Rows} rows{Hint(p.HiddenDim, w1Rows, shards)}");
        var c = p.ToConfig(embedding.Rows, source);
        foreach (var t in tensors)
        {
            (long Rows, long Cols) expected = ExpectedShape(t.SourceName, c);
            bool vector = expected.Cols == 0;
            bool ok = vector ? t.Dimensions.Length == 1 && t.Dimensions[0] == expected.Rows
                             : t.Dimensions.Length == 2 && t.Rows == expected.Rows && t.Cols == expected.Cols;
            string hint = vector ? "" : t.Rows != expected.Rows ? Hint(expected.Rows, t.Rows, shards) : Hint(expected.Cols, t.Cols, shards);
            if (!ok)
                throw new ModelFormatException($"{source}: '{t.SourceName}' is {string.Join(" x ", t.Dimensions.Reverse())} but params.json " +
                                               $"(dim {c.Dim}, n_heads {c.HeadCount}, n_kv_heads {c.KvHeadCount}) needs " +
                                               $"{(vector ? $"{expected.Rows}" : $"{expected.Rows} x {expected.Cols}")}{hint}");
        }
        return c;
    }

    // A dimension that is a whole fraction of the expected one suggests shards are missing.
    private static string Hint(long expected, long actual, int shards) =>
        actual > 0 && expected > actual && expected % actual == 0
            ? $" ({expected} is {expected / actual} x {actual}: are consolidated.NN.pth shards missing (the folder has {shards}), or is params.json another model's?)"
            : "";

    // Rows x columns as PyTorch prints them; columns 0 for a vector.
    private static (long Rows, long Cols) ExpectedShape(string metaName, LlamaConfig c)
    {
        string suffix = metaName.StartsWith("layers.", StringComparison.Ordinal) ? metaName[(metaName.IndexOf('.', 7) + 1)..] : metaName;
        return suffix switch
        {
            "tok_embeddings.weight" or "output.weight" => (c.VocabSize, c.Dim),
            "attention.wq.weight" => (c.QueryDim, c.Dim),
            "attention.wk.weight" or "attention.wv.weight" => (c.KvDim, c.Dim),
            "attention.wo.weight" => (c.Dim, c.QueryDim),
            "feed_forward.w1.weight" or "feed_forward.w3.weight" => (c.HiddenDim, c.Dim),
            "feed_forward.w2.weight" => (c.Dim, c.HiddenDim),
            _ => (c.Dim, 0), // the norms
        };
    }

    private static Tokenizer? LoadTokenizer(string folder, string? tokenizerPath, int vocabSize, bool weightsOnly, string source)
    {
        if (tokenizerPath != null) return TokenizerLoader.FromFile(tokenizerPath, vocabSize);
        string own = System.IO.Path.Combine(folder, TokenizerFileName);
        if (!File.Exists(own))
        {
            if (weightsOnly) return null;
            throw new CriaException($"{source} has no {TokenizerFileName}; pass --tokenizer PATH");
        }
        try
        {
            return TokenizerLoader.FromFile(own, vocabSize);
        }
        catch (CriaException e)
        {
            if (weightsOnly) return null;
            throw new CriaException($"{source}: its tokenizer '{own}' cannot be loaded ({e.Message}); pass --tokenizer PATH", e);
        }
    }
}
