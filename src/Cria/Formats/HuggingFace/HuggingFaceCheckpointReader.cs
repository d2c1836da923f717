using Cria.Formats.SafeTensors;
using Cria.Model;
using Cria.Tensors;
using Cria.Tokenization;

namespace Cria.Formats.HuggingFace;

/// <summary>Reads a Hugging Face <c>LlamaForCausalLM</c> checkpoint (<c>config.json</c> + <c>model.safetensors</c>, or
/// shards listed by <c>model.safetensors.index.json</c>) as a <see cref="LlamaCheckpoint"/>: tensors stay in place in
/// the memory-mapped files under GGUF names, and the config says <see cref="RopeStyle.Halves"/>, which on HF's permuted
/// q/k rows computes exactly what adjacent pairs compute on Meta's, so no weight is copied or reordered.</summary>
public static class HuggingFaceCheckpointReader
{
    /// <summary>The hyper-parameters file every HF checkpoint folder has.</summary>
    public const string ConfigFileName = "config.json";
    /// <summary>The weights of an unsharded checkpoint.</summary>
    public const string SingleFileName = "model.safetensors";
    /// <summary>The tensor → shard map of a sharded checkpoint.</summary>
    public const string IndexFileName = "model.safetensors.index.json";
    /// <summary>Tokenizer files looked for in the folder, in order of preference.</summary>
    public static readonly string[] TokenizerFileNames = ["tokenizer.model", "tokenizer.json"];

    /// <summary>True when <paramref name="path"/> names a Hugging Face checkpoint: a folder holding config.json, a
    /// config.json or index file, or a safetensors file.</summary>
    public static bool IsHuggingFace(string path)
    {
        if (Directory.Exists(path)) return File.Exists(Path.Combine(path, ConfigFileName));
        if (!File.Exists(path)) return false;
        string name = Path.GetFileName(path);
        return name == ConfigFileName || name.EndsWith(".safetensors.index.json", StringComparison.Ordinal)
               || name.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) || SafeTensorsFile.HasSafeTensorsHeader(path);
    }

    /// <summary>Opens the checkpoint at <paramref name="path"/>: its folder, its config.json, its index, or one of its
    /// safetensors files (with config.json beside it; a shard listed in an index beside it opens the whole index).</summary>
    /// <param name="tokenizerPath">A tokenizer file to use instead of the folder's tokenizer.model / tokenizer.json.</param>
    /// <param name="withTokenizer">False to open only the weights (e.g. to convert them) without loading any tokenizer.</param>
    public static LlamaCheckpoint Open(string path, string? tokenizerPath = null, bool withTokenizer = true)
    {
        var (folder, weightFiles, index) = Locate(path);
        string source = $"Hugging Face checkpoint '{folder}'";
        var hf = HuggingFaceConfig.Read(Path.Combine(folder, ConfigFileName));
        var files = new List<SafeTensorsFile>();
        try
        {
            foreach (string file in weightFiles) files.Add(SafeTensorsFile.Open(file));
            if (index != null) CheckIndex(index, files, source);
            var (tensors, tied) = MapTensors(files, hf, source);
            var config = hf.Config with { TiedOutput = tied };
            var tokenizer = withTokenizer ? LoadTokenizer(folder, tokenizerPath, config.VocabSize, source) : null;
            return new LlamaCheckpoint("Hugging Face", "Hugging Face", folder, config, tensors, tokenizer, null, files.ToArray<IDisposable>());
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    /// <summary>The safetensors files <see cref="Open"/> reads for <paramref name="path"/>, in reading order.</summary>
    public static IReadOnlyList<string> WeightFiles(string path) => Locate(path).Files;

    // Which folder and which safetensors files the path means.
    private static (string Folder, List<string> Files, SafeTensorsIndex? Index) Locate(string path)
    {
        string full = Path.GetFullPath(path);
        if (!Directory.Exists(full) && !File.Exists(full)) throw new CriaException($"model not found: '{path}'");
        string folder = Directory.Exists(full) ? full : Path.GetDirectoryName(full)!;
        string name = Directory.Exists(full) ? "" : Path.GetFileName(full);
        if (!File.Exists(Path.Combine(folder, ConfigFileName)))
            throw new CriaException($"'{path}': no {ConfigFileName} in '{folder}'; a Hugging Face checkpoint needs its config beside the weights");
        string single = Path.Combine(folder, SingleFileName), indexPath = Path.Combine(folder, IndexFileName);
        if (name.EndsWith(".safetensors.index.json", StringComparison.Ordinal)) return FromIndex(folder, full);
        if (name.Length > 0 && name != ConfigFileName)
        {
            // One shard of an index opens the whole model: alone it would be missing tensors.
            if (File.Exists(indexPath))
            {
                var sharded = FromIndex(folder, indexPath);
                if (sharded.Files.Contains(full)) return sharded;
            }
            return (folder, [full], null);
        }
        if (File.Exists(single)) return (folder, [single], null);
        if (File.Exists(indexPath)) return FromIndex(folder, indexPath);
        string others = Directory.EnumerateFiles(folder, "*.bin").Concat(Directory.EnumerateFiles(folder, "*.pt*")).Select(Path.GetFileName).FirstOrDefault() is { } bin
            ? $" ('{bin}' is a PyTorch pickle, which Cria does not read here; save the model with safetensors)" : "";
        throw new CriaException($"Hugging Face checkpoint '{folder}' has neither {SingleFileName} nor {IndexFileName}{others}");
    }

    private static (string Folder, List<string> Files, SafeTensorsIndex? Index) FromIndex(string folder, string indexPath)
    {
        var index = SafeTensorsIndex.Read(indexPath);
        var files = new List<string>();
        foreach (string file in index.Files.Order(StringComparer.Ordinal))
        {
            string shard = Path.Combine(folder, file);
            if (!File.Exists(shard)) throw new ModelFormatException($"safetensors index '{indexPath}' lists '{file}', which is not in '{folder}'");
            files.Add(shard);
        }
        return (folder, files, index);
    }

    // Every tensor the index places in a file must be there.
    private static void CheckIndex(SafeTensorsIndex index, List<SafeTensorsFile> files, string source)
    {
        var byName = files.ToDictionary(f => Path.GetFileName(f.Path), StringComparer.Ordinal);
        foreach (var (tensor, file) in index.WeightMap)
            if (!byName[file].TryGetTensor(tensor, out _))
                throw new ModelFormatException($"{source}: {IndexFileName} places '{tensor}' in '{file}', which has no such tensor");
    }

    private static (List<TensorData> Tensors, bool Tied) MapTensors(List<SafeTensorsFile> files, HuggingFaceConfig hf, string source)
    {
        var config = hf.Config;
        var found = new Dictionary<string, (SafeTensorsFile File, SafeTensorsTensorInfo Info, string Gguf)>(StringComparer.Ordinal);
        foreach (var file in files)
            foreach (var t in file.Tensors)
            {
                if (HuggingFaceTensorNames.IsDerivedBuffer(t.Name)) continue;
                if (!HuggingFaceTensorNames.TryToGguf(t.Name, out string gguf, out int layer))
                    throw new ModelFormatException($"{source}: tensor '{t.Name}' in '{Path.GetFileName(file.Path)}' is not part of a {HuggingFaceConfig.Architecture} " +
                                                   "(biases, adapters or another architecture?)");
                if (layer >= config.LayerCount)
                    throw new ModelFormatException($"{source}: tensor '{t.Name}' is for layer {layer}, but {ConfigFileName} says num_hidden_layers = {config.LayerCount}");
                if (found.TryGetValue(t.Name, out var other))
                    throw new ModelFormatException($"{source}: tensor '{t.Name}' is in both '{Path.GetFileName(other.File.Path)}' and '{Path.GetFileName(file.Path)}'");
                found.Add(t.Name, (file, t, gguf));
            }

        // transformers ties lm_head to the embedding when the config says so, whatever the files hold; a file without
        // lm_head is tied too (save_pretrained leaves it out of tied models).
        bool tied = hf.TieWordEmbeddings || !found.ContainsKey(HuggingFaceTensorNames.LmHead);
        if (tied) found.Remove(HuggingFaceTensorNames.LmHead);
        var missing = HuggingFaceTensorNames.ModelNames(config.LayerCount, tied).Where(n => !found.ContainsKey(n)).ToList();
        if (missing.Count > 0)
            throw new ModelFormatException($"{source}: {missing.Count} tensor(s) missing, e.g. '{missing[0]}' (files: {string.Join(", ", files.Select(f => Path.GetFileName(f.Path)))})");

        var tensors = new List<TensorData>(found.Count);
        foreach (var file in files)
            foreach (var t in file.Tensors)
                if (found.TryGetValue(t.Name, out var entry) && ReferenceEquals(entry.Info, t))
                    tensors.Add(file.ToTensorData(t, entry.Gguf));
        return (tensors, tied);
    }

    private static Tokenizer? LoadTokenizer(string folder, string? tokenizerPath, int vocabSize, string source)
    {
        string? path = tokenizerPath ?? TokenizerFileNames.Select(n => Path.Combine(folder, n)).FirstOrDefault(File.Exists);
        if (path == null) return null;
        try
        {
            return TokenizerLoader.FromFile(path, vocabSize);
        }
        catch (CriaException e) when (tokenizerPath == null)
        {
            throw new CriaException($"{source}: cannot load its tokenizer '{Path.GetFileName(path)}': {e.Message} (pass --tokenizer PATH to use another)", e);
        }
    }
}
