using System.Runtime.InteropServices;
using System.Text.Json;
using Cria.Formats.SafeTensors;
using Cria.Model;
using Cria.Tensors;

namespace Cria.Formats.HuggingFace;

/// <summary>Options for <see cref="HuggingFaceWriter.Write"/>.</summary>
public sealed record HuggingFaceWriteOptions
{
    /// <summary>F32, F16 or BF16; null writes the type of the source's matrices when it is one of those, else F32
    /// (exact for dequantised weights).</summary>
    public SafeTensorsDType? DType { get; init; }

    /// <summary>Largest shard in bytes of tensor data before a new file starts (transformers' default "5GB"). A model
    /// that fits in one is written as <c>model.safetensors</c>; otherwise as numbered shards and an index.</summary>
    public long MaxShardBytes { get; init; } = 5_000_000_000;

    /// <summary>Replace a checkpoint already in the folder (its stale weight files are removed).</summary>
    public bool Overwrite { get; init; }
}

/// <summary>What <see cref="HuggingFaceWriter.Write"/> wrote.</summary>
public sealed record HuggingFaceWriteResult(string Folder, SafeTensorsDType DType, IReadOnlyList<string> Files, IReadOnlyList<string> CopiedTokenizerFiles,
    bool PermutedQueryKey, long TensorBytes);

/// <summary>
/// Writes any <see cref="LlamaCheckpoint"/> as a Hugging Face <c>LlamaForCausalLM</c> folder: <c>config.json</c> and
/// <c>model.safetensors</c> (or <c>model-0000N-of-0000M.safetensors</c> + <c>model.safetensors.index.json</c>), laid out
/// as <c>save_pretrained</c> does. Tensors stream row by row from the source (dequantised when quantised, rounded to
/// nearest even for BF16/F16, copied bit for bit when the type is unchanged), so no whole tensor is ever in memory.
/// Sources whose q/k rows are in adjacent-pair order (GGUF, Meta, llama2.c) get HF's rotate_half permutation — the
/// inverse of llama.cpp's <c>convert_hf_to_gguf</c> <c>permute</c>; a Hugging Face source is already in that order.
/// Tokenizer files are copied byte for byte only when the source is a folder holding them (a Hugging Face or Meta
/// checkpoint); Cria does not synthesise tokenizer.json/tokenizer.model from a GGUF vocabulary.
/// </summary>
public static class HuggingFaceWriter
{
    /// <summary>Files copied unchanged from a source folder when present.</summary>
    public static readonly string[] TokenizerFileNames =
        ["tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"];

    /// <summary>Writes <paramref name="source"/> into <paramref name="folder"/> (created if needed). Nothing appears there
    /// until every file is complete; a failure leaves the folder as it was.</summary>
    public static HuggingFaceWriteResult Write(LlamaCheckpoint source, string folder, HuggingFaceWriteOptions? options = null)
    {
        options ??= new HuggingFaceWriteOptions();
        var c = source.Config;
        var dtype = options.DType ?? DefaultDType(source);
        if (dtype is not (SafeTensorsDType.F32 or SafeTensorsDType.F16 or SafeTensorsDType.BF16))
            throw new CriaException($"Hugging Face weights are written as F32, F16 or BF16, not {dtype}");
        if (options.MaxShardBytes <= 0) throw new ArgumentOutOfRangeException(nameof(options), "MaxShardBytes must be positive");
        var config = CheckConvertible(source);

        folder = Path.GetFullPath(folder);
        Directory.CreateDirectory(folder);
        var existing = ExistingCheckpointFiles(folder);
        if (existing.Count > 0 && !options.Overwrite)
            throw new CriaException($"'{folder}' already holds a checkpoint ({string.Join(", ", existing)}); choose another folder or overwrite it");

        var plan = Plan(source, dtype);
        var shards = Shard(plan, options.MaxShardBytes);
        bool permute = c.RopeStyle == RopeStyle.AdjacentPairs;
        var staged = new List<(string Staging, string Final)>();
        try
        {
            for (int i = 0; i < shards.Count; i++)
            {
                string name = shards.Count == 1 ? HuggingFaceCheckpointReader.SingleFileName : $"model-{i + 1:00000}-of-{shards.Count:00000}.safetensors";
                string staging = Path.Combine(folder, $".{name}.{Guid.NewGuid():N}.staged");
                staged.Add((staging, Path.Combine(folder, name)));
                WriteShard(staging, shards[i], dtype, c, permute);
            }
            if (shards.Count > 1) Stage(folder, HuggingFaceCheckpointReader.IndexFileName, IndexJson(plan, shards, staged), staged);
            var (bos, eos) = TokenIds(source);
            Stage(folder, HuggingFaceCheckpointReader.ConfigFileName, HuggingFaceConfigWriter.ToJson(config, dtype, bos, eos), staged);
            var copied = StageTokenizerFiles(source, folder, staged);

            // Everything is on disk: move it into place (config last), then drop weight files of an older checkpoint.
            foreach (var (staging, final) in staged) File.Move(staging, final, overwrite: true);
            var written = staged.Select(s => Path.GetFileName(s.Final)).ToHashSet(StringComparer.Ordinal);
            foreach (string stale in existing.Where(f => !written.Contains(f) && f != HuggingFaceCheckpointReader.ConfigFileName))
                File.Delete(Path.Combine(folder, stale));
            return new HuggingFaceWriteResult(folder, dtype, staged.Select(s => Path.GetFileName(s.Final)).ToList(), copied, permute, plan.Sum(p => p.Bytes));
        }
        finally
        {
            foreach (var (staging, _) in staged)
                if (File.Exists(staging)) File.Delete(staging);
        }
    }

    private sealed record PlannedTensor(string HfName, TensorData Source, long[] Shape, long Bytes, int Heads);

    private static SafeTensorsDType DefaultDType(LlamaCheckpoint source) =>
        source.TryGetTensor("blk.0.attn_q.weight", out var q) && SafeTensorsDTypes.TryFromGgmlType(q.Type, out var d) ? d : SafeTensorsDType.F32;

    // Things HF's LlamaForCausalLM cannot express are refused rather than written wrongly. Returns the config to write.
    private static LlamaConfig CheckConvertible(LlamaCheckpoint source)
    {
        var c = source.Config;
        string what = source.Description;
        if (c.RopeDim != c.HeadDim)
            throw new CriaException($"{what} rotates {c.RopeDim} of {c.HeadDim} dimensions per head; LlamaForCausalLM rotates all of them");
        foreach (var t in source.Tensors)
        {
            if (t.Name == "rope_freqs.weight") c = c with { RopeScaling = RopeScalingOf(source, t) };
            else if (!HuggingFaceTensorNames.TryToHuggingFace(t.Name, out _))
                throw new CriaException($"{what}: tensor '{t.SourceName}' ({t.Name}) has no place in a {HuggingFaceConfig.Architecture}");
        }
        return c;
    }

    // GGUF stores Llama 3.1's RoPE scaling as per-pair divisors (llama.cpp writes no scaling keys with them); config.json
    // can only say it with the llama3 parameters. Those of the file's keys, else Meta's published ones (factor = the
    // largest divisor, low 1, high 4, original context 8192, as Llama 3.1 and 3.2 use), are taken only if they give
    // back every stored divisor.
    private static RopeScaling RopeScalingOf(LlamaCheckpoint source, TensorData factors)
    {
        var c = source.Config;
        float[] stored = factors.ToFloats();
        if (stored.Length != c.RopeDim / 2) throw new CriaException($"{source.Description}: rope_freqs has {stored.Length} values, expected {c.RopeDim / 2}");
        var candidate = c.RopeScaling.Kind == RopeScalingKind.Llama3 ? c.RopeScaling
            : new RopeScaling(RopeScalingKind.Llama3, Math.Round(stored.Max()), 1, 4, 8192);
        for (int i = 0; i < stored.Length; i++)
        {
            double frequency = Math.Pow(c.RopeTheta, -2.0 * i / c.RopeDim);
            double expected = frequency / candidate.ScaleLlama3(frequency);
            if (!(Math.Abs(stored[i] - expected) <= 1e-4 * Math.Abs(expected)))
                throw new CriaException($"{source.Description}: rope_freqs[{i}] = {stored[i]}, but llama3 scaling (factor {candidate.Factor}, low {candidate.LowFrequencyFactor}, " +
                                        $"high {candidate.HighFrequencyFactor}, original context {candidate.OriginalContextLength}) gives {expected}; config.json cannot express these RoPE frequencies");
        }
        return candidate;
    }

    private static List<PlannedTensor> Plan(LlamaCheckpoint source, SafeTensorsDType dtype)
    {
        var c = source.Config;
        int elementBytes = dtype.Bits() / 8;
        var plan = new List<PlannedTensor>();
        foreach (string hf in HuggingFaceTensorNames.ModelNames(c.LayerCount, c.TiedOutput))
        {
            HuggingFaceTensorNames.TryToGguf(hf, out string gguf, out _);
            var t = source.Tensor(gguf);
            long[] shape = t.Dimensions.Reverse().ToArray(); // PyTorch order: outermost first
            int heads = hf.EndsWith(".self_attn.q_proj.weight", StringComparison.Ordinal) ? c.HeadCount
                : hf.EndsWith(".self_attn.k_proj.weight", StringComparison.Ordinal) ? c.KvHeadCount : 0;
            if (heads > 0 && (t.Dimensions.Length != 2 || t.Rows != heads * c.HeadDim || t.Cols != c.Dim))
                throw new CriaException($"{source.Description}: tensor '{t.SourceName}' is {string.Join(" x ", shape)}, expected {heads * c.HeadDim} x {c.Dim}");
            plan.Add(new PlannedTensor(hf, t, shape, t.ElementCount * elementBytes, heads));
        }
        return plan;
    }

    // huggingface_hub's split: tensors in state-dict order fill a shard until the next would pass the limit.
    private static List<List<PlannedTensor>> Shard(List<PlannedTensor> plan, long maxShardBytes)
    {
        var shards = new List<List<PlannedTensor>> { new() };
        long size = 0;
        foreach (var t in plan)
        {
            if (size + t.Bytes > maxShardBytes && shards[^1].Count > 0)
            {
                shards.Add([]);
                size = 0;
            }
            shards[^1].Add(t);
            size += t.Bytes;
        }
        return shards;
    }

    private static void WriteShard(string path, List<PlannedTensor> tensors, SafeTensorsDType dtype, LlamaConfig c, bool permute)
    {
        using var writer = new SafeTensorsWriter(path);
        writer.AddMetadata("format", "pt"); // as transformers' save_pretrained writes
        foreach (var t in tensors) writer.AddTensor(t.HfName, dtype, t.Shape);
        var byName = tensors.ToDictionary(t => t.HfName);
        // One pair of row buffers for the whole shard: memory use is a row, whatever the model's size.
        var rowBytes = new byte[tensors.Max(t => Math.Max(t.Source.RowBytes, t.Source.Cols * (long)(dtype.Bits() / 8)))];
        var floats = new float[tensors.Max(t => t.Source.Cols)];
        foreach (var info in writer.Layout)
        {
            var t = byName[info.Name];
            using var sink = writer.BeginTensor(info.Name);
            WriteRows(t, sink, dtype, permute && t.Heads > 0 ? c.HeadDim : 0, rowBytes, floats);
        }
        writer.Complete();
    }

    /// <summary>Streams a tensor row by row in <paramref name="dtype"/>; with <paramref name="permuteHeadDim"/> &gt; 0, from
    /// adjacent-pair row order into HF's halves order.</summary>
    private static void WriteRows(PlannedTensor t, Stream sink, SafeTensorsDType dtype, int permuteHeadDim, byte[] rowBytes, float[] rowFloats)
    {
        var source = t.Source;
        bool copy = SafeTensorsDTypes.TryFromGgmlType(source.Type, out var sourceDType) && sourceDType == dtype;
        int outBytes = source.Cols * (dtype.Bits() / 8);
        var floats = rowFloats.AsSpan(0, source.Cols);
        for (int r = 0; r < source.Rows; r++)
        {
            int from = permuteHeadDim > 0 ? QueryKeyRowOrder.PairsRowOfHalvesRow(r, permuteHeadDim) : r;
            var output = rowBytes.AsSpan(0, outBytes);
            if (copy)
            {
                source.ReadRow(from, output);
            }
            else
            {
                source.DequantizeRow(from, floats);
                switch (dtype)
                {
                    case SafeTensorsDType.F32: MemoryMarshal.AsBytes(floats).CopyTo(output); break;
                    case SafeTensorsDType.BF16: FloatRounding.ToBF16(floats, MemoryMarshal.Cast<byte, ushort>(output)); break;
                    default: FloatRounding.ToF16(floats, MemoryMarshal.Cast<byte, ushort>(output)); break;
                }
            }
            sink.Write(output);
        }
    }

    private static byte[] IndexJson(List<PlannedTensor> plan, List<List<PlannedTensor>> shards, List<(string Staging, string Final)> files)
    {
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < shards.Count; i++)
            foreach (var t in shards[i]) weightMap[t.HfName] = Path.GetFileName(files[i].Final);
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, IndentSize = 2, NewLine = "\n" }))
        {
            w.WriteStartObject();
            w.WriteStartObject("metadata");
            w.WriteNumber("total_size", plan.Sum(t => t.Bytes));
            w.WriteEndObject();
            w.WriteStartObject("weight_map");
            foreach (var (name, file) in weightMap) w.WriteString(name, file);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    private static void Stage(string folder, string name, byte[] content, List<(string Staging, string Final)> staged)
    {
        string staging = Path.Combine(folder, $".{name}.{Guid.NewGuid():N}.staged");
        staged.Add((staging, Path.Combine(folder, name)));
        using var stream = new FileStream(staging, FileMode.CreateNew, FileAccess.Write);
        stream.Write(content);
        stream.Flush(flushToDisk: true);
    }

    // bos/eos ids: the tokenizer's, else those of the source's own config.json (a Hugging Face source opened without one).
    private static (int? Bos, int? Eos) TokenIds(LlamaCheckpoint source)
    {
        if (source.Tokenizer is { } tokenizer)
            return (tokenizer.BosId >= 0 ? tokenizer.BosId : null, tokenizer.EosId >= 0 ? tokenizer.EosId : null);
        string config = Path.Combine(source.Path, HuggingFaceCheckpointReader.ConfigFileName);
        if (source.Naming == "Hugging Face" && File.Exists(config))
        {
            var hf = HuggingFaceConfig.Read(config);
            return (hf.BosTokenId, hf.EosTokenId);
        }
        return (null, null);
    }

    private static List<string> StageTokenizerFiles(LlamaCheckpoint source, string folder, List<(string Staging, string Final)> staged)
    {
        var copied = new List<string>();
        if (!Directory.Exists(source.Path) || Path.GetFullPath(source.Path) == folder) return copied;
        foreach (string name in TokenizerFileNames)
        {
            string from = Path.Combine(source.Path, name);
            if (!File.Exists(from)) continue;
            string staging = Path.Combine(folder, $".{name}.{Guid.NewGuid():N}.staged");
            staged.Add((staging, Path.Combine(folder, name)));
            File.Copy(from, staging);
            copied.Add(name);
        }
        return copied;
    }

    // Files of a checkpoint already in the folder, which a new one would replace or leave stale.
    private static List<string> ExistingCheckpointFiles(string folder) =>
        Directory.EnumerateFiles(folder).Select(Path.GetFileName).OfType<string>()
            .Where(n => n is HuggingFaceCheckpointReader.ConfigFileName or HuggingFaceCheckpointReader.SingleFileName or HuggingFaceCheckpointReader.IndexFileName
                        || System.Text.RegularExpressions.Regex.IsMatch(n, @"^model-\d{5}-of-\d{5}\.safetensors$"))
            .Order(StringComparer.Ordinal).ToList();
}
