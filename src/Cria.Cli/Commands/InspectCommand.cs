using System.CommandLine;
using Cria.Formats.Gguf;
using Cria.Formats.Llama2c;
using Cria.Model;
using Cria.Tensors;

namespace Cria.Cli.Commands;

/// <summary><c>cria inspect MODEL</c>: architecture, hyper-parameters, tokenizer summary, metadata, and every tensor.</summary>
public static class InspectCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Argument<string>("model") { Description = "A GGUF file, a llama2.c checkpoint, or a Meta or Hugging Face checkpoint" };
        var command = new Command("inspect", "Show a model file's architecture, hyper-parameters, tokenizer and tensors") { model };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(model)!;
            if (Formats.HuggingFace.HuggingFaceCheckpointReader.IsHuggingFace(path)) return InspectHuggingFace.Write(path, stdout);
            if (Formats.Meta.MetaCheckpointReader.Recognizes(path))
            {
                using var meta = Formats.Meta.MetaCheckpointReader.Open(path, null, weightsOnly: true);
                InspectCheckpoint(meta, stdout, string.Join(", ", meta.Tensors.GroupBy(t => t.TypeInfo.Name).Select(g => $"{g.Count()} x {g.Key}")), TryTokenizer(path));
                return 0;
            }
            if (Directory.Exists(path)) throw new CriaException($"'{path}' is a folder with neither a Meta checkpoint (params.json + consolidated.NN.pth) nor a Hugging Face one (config.json + safetensors)");
            if (!File.Exists(path)) throw new CriaException($"model file not found: '{path}'");
            if (GgufFile.HasMagic(path)) InspectGguf(path, stdout);
            else InspectLlama2c(path, stdout);
            return 0;
        });
        return command;
    }

    private static void InspectGguf(string path, TextWriter o)
    {
        using var file = GgufFile.Open(path);
        var m = file.Metadata;
        o.WriteLine($"file:         {path}");
        o.WriteLine($"format:       GGUF v{file.Version}, {file.FileLength:N0} bytes, alignment {file.Alignment}, data at offset {file.DataOffset}");
        o.WriteLine($"architecture: {m.GetString("general.architecture") ?? "(none)"}");
        if (m.GetString("general.name") is string name) o.WriteLine($"name:         {name}");
        o.WriteLine();
        try
        {
            WriteConfig(GgufConfigReader.ReadConfig(file), o);
        }
        catch (CriaException e)
        {
            o.WriteLine($"hyper-parameters: not a runnable Llama model: {e.Message}");
        }
        o.WriteLine();
        WriteGgufTokenizer(m, o);
        o.WriteLine();
        o.WriteLine($"metadata ({m.Entries.Count} keys):");
        foreach (var (key, value) in m.Entries)
            o.WriteLine($"  {key,-44} {value.Type,-8} {value.Display()}");
        o.WriteLine();
        o.WriteLine($"tensors ({file.Tensors.Count}, llama.cpp GGUF naming; size is rows x columns, outermost first as PyTorch prints it):");
        var byType = new SortedDictionary<string, (int Count, long Bytes)>();
        for (int i = 0; i < file.Tensors.Count; i++)
        {
            var t = file.Tensors[i];
            string type = TensorTypeInfo.Get(t.Type).Name;
            o.WriteLine($"{Counter(i, file.Tensors.Count)} {t.Name} | size {Size(t.Dimensions.Reverse())} | type {type}");
            byType[type] = byType.TryGetValue(type, out var s) ? (s.Count + 1, s.Bytes + t.ByteSize) : (1, t.ByteSize);
        }
        o.WriteLine();
        o.WriteLine("by type: " + string.Join(", ", byType.Select(kv => $"{kv.Value.Count} x {kv.Key} ({kv.Value.Bytes:N0} bytes)")));
        long parameters = file.Tensors.Sum(t => t.ElementCount);
        o.WriteLine($"parameters: {parameters:N0}");
    }

    private static void WriteGgufTokenizer(GgufMetadata m, TextWriter o)
    {
        string? kind = m.GetString("tokenizer.ggml.model");
        if (kind is null)
        {
            o.WriteLine("tokenizer:    none in the file");
            return;
        }
        var tokens = m.GetArray<string>("tokenizer.ggml.tokens");
        string Id(string key)
        {
            long? id = m.GetInt(key);
            if (id is null) return "-";
            string text = tokens != null && id >= 0 && id < tokens.Length ? $" '{tokens[id.Value]}'" : "";
            return $"{id}{text}";
        }
        string family = kind switch { "llama" => "SentencePiece BPE", "gpt2" => "byte-level BPE", _ => "unknown" };
        o.WriteLine($"tokenizer:    {family} ('{kind}'), {tokens?.Length ?? 0} tokens, " +
                    $"bos {Id("tokenizer.ggml.bos_token_id")}, eos {Id("tokenizer.ggml.eos_token_id")}, unk {Id("tokenizer.ggml.unknown_token_id")}, " +
                    $"add BOS {m.GetBool("tokenizer.ggml.add_bos_token")?.ToString().ToLowerInvariant() ?? "default"}" +
                    (m.Contains("tokenizer.chat_template") ? ", has a chat template" : ""));
    }

    private static void InspectLlama2c(string path, TextWriter o)
    {
        using var checkpoint = Llama2cCheckpoint.Open(path).ToCheckpoint(null);
        InspectCheckpoint(checkpoint, o, "float32", TryTokenizer(path));
    }

    // A checkpoint layout other than GGUF: the file's own tensor names and the shapes as the file stores them.
    private static void InspectCheckpoint(LlamaCheckpoint checkpoint, TextWriter o, string storage, string tokenizer)
    {
        o.WriteLine($"file:         {checkpoint.Path}");
        o.WriteLine($"format:       {checkpoint.Format}, {storage}");
        o.WriteLine("architecture: llama");
        o.WriteLine();
        WriteConfig(checkpoint.Config, o);
        o.WriteLine();
        o.WriteLine($"tokenizer:    {tokenizer}");
        o.WriteLine();
        var tensors = checkpoint.Tensors;
        o.WriteLine($"tensors ({tensors.Count}, {checkpoint.Naming} naming; size is rows x columns):");
        for (int i = 0; i < tensors.Count; i++)
            o.WriteLine($"{Counter(i, tensors.Count)} {tensors[i].SourceName} | size {Size(tensors[i].Dimensions.Reverse())} | type {tensors[i].TypeInfo.Name}" +
                        (tensors[i].Parts.Count > 1 ? $" | {tensors[i].Parts.Count} shards" : ""));
        o.WriteLine();
        o.WriteLine($"parameters: {tensors.Sum(t => t.ElementCount):N0}");
    }

    private static string TryTokenizer(string path)
    {
        try
        {
            var t = Cria.Model.ModelLoader.OpenTokenizer(path);
            return $"{t.GetType().Name.Replace("Tokenizer", "")}, {t.VocabSize} tokens, bos {t.BosId}, eos {t.EosId}";
        }
        catch (CriaException e)
        {
            return $"none found ({e.Message})";
        }
    }

    internal static void WriteConfig(LlamaConfig c, TextWriter o)
    {
        o.WriteLine("hyper-parameters:");
        o.WriteLine($"  context length      {c.ContextLength}");
        o.WriteLine($"  embedding length    {c.Dim}");
        o.WriteLine($"  block count         {c.LayerCount}");
        o.WriteLine($"  feed-forward length {c.HiddenDim}");
        o.WriteLine($"  heads               {c.HeadCount} (KV heads {c.KvHeadCount}{(c.KvHeadCount < c.HeadCount ? ", grouped-query" : "")}), head dim {c.HeadDim}");
        o.WriteLine($"  RMS norm epsilon    {c.RmsEps:G}");
        o.WriteLine($"  RoPE                base {c.RopeTheta:G}, {c.RopeDim} dims, {(c.RopeStyle == RopeStyle.AdjacentPairs ? "adjacent pairs" : "halves")}" +
                    (c.RopeScaling.Kind == RopeScalingKind.None ? "" : $", {c.RopeScaling.Kind.ToString().ToLowerInvariant()} scaling x{c.RopeScaling.Factor:G}"));
        o.WriteLine($"  vocabulary          {c.VocabSize}");
        o.WriteLine($"  output projection   {(c.TiedOutput ? "tied to the token embedding" : "separate")}");
    }

    internal static string Counter(int i, int total)
    {
        int width = total.ToString().Length;
        return $"[{(i + 1).ToString().PadLeft(Math.Max(3, width))}/{total}]";
    }

    internal static string Size(IEnumerable<long> dims) => string.Join(" x ", dims);
}
