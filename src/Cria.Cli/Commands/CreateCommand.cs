using System.CommandLine;
using System.Diagnostics;
using Cria.Conversion;
using Cria.Formats.Gguf;
using Cria.Model;
using Cria.Tensors;

namespace Cria.Cli.Commands;

/// <summary><c>cria create --preset NAME --random --type TYPE OUTPUT.gguf</c>: a random-weight model of a published
/// shape, for benchmarks, written row by row.</summary>
public static class CreateCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var output = new Argument<string>("output") { Description = "The GGUF file to write" };
        var preset = new Option<string>("--preset") { Description = $"The shape: {string.Join(", ", LlamaPresets.All.Keys)}", Required = true };
        var random = new Option<bool>("--random") { Description = "Random weights (the only kind so far; say it so nobody mistakes the file for a trained model)" };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the weights", DefaultValueFactory = _ => 1 };
        var type = new Option<string>("--type") { Description = "llama-quantize's file type (F16, Q8_0, Q4_0, Q4_K_M, …: its per-tensor mix) or, with --pure, a tensor type for every matrix", DefaultValueFactory = _ => "f16" };
        var pure = new Option<bool>("--pure") { Description = "Every matrix in --type (no mix)" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "The family's real tokenizer to store (its size must match the preset's vocabulary); default: a placeholder" };
        var command = new Command("create", "Create a random-weight model of a published shape") { output, preset, random, seed, type, pure, tokenizer };
        command.SetAction(parse =>
        {
            if (!parse.GetValue(random)) throw new CriaException("only random models can be created: pass --random");
            var config = LlamaPresets.Get(parse.GetValue(preset)!);
            var (choose, fileType, typeName) = TypeChooser(config, parse.GetValue(type)!, parse.GetValue(pure));
            string path = parse.GetValue(output)!;
            var vocabulary = parse.GetValue(tokenizer) is string tokenizerPath
                ? ModelLoader.OpenTokenizer(tokenizerPath)
                : RandomModel.PlaceholderTokenizer(config.VocabSize);
            if (vocabulary.VocabSize != config.VocabSize)
                throw new CriaException($"the tokenizer has {vocabulary.VocabSize} tokens but {parse.GetValue(preset)} has a vocabulary of {config.VocabSize}");

            var clock = Stopwatch.StartNew();
            var plans = RandomModel.Plan(config, choose, parse.GetValue(seed));
            stderr.WriteLine($"cria: creating a random {parse.GetValue(preset)} ({LlamaPresets.ParameterCount(config) / 1e6:N0} M parameters, {typeName}) at '{path}'");
            var printer = new ConversionProgressPrinter(stdout, stderr, progressBar: !Console.IsErrorRedirected && ReferenceEquals(stderr, Console.Error));
            var metadata = new[] { new KeyValuePair<string, GgufValue>("general.name", GgufValue.Of($"{parse.GetValue(preset)} (random weights, seed {parse.GetValue(seed)})")) };
            GgufModelWriter.Write(path, config, vocabulary, metadata, plans, fileType, plans.Any(p => TensorTypeInfo.Get(p.Type).BlockElements > 1), printer.Report);
            long bytes = new FileInfo(path).Length;
            stderr.WriteLine($"cria: wrote {bytes:N0} bytes in {clock.Elapsed.TotalSeconds:F1} s; peak RSS {Cria.Benchmarking.ProcessMemory.PeakResidentBytes() / 1048576.0:F0} MiB");
            return 0;
        });
        return command;
    }

    // A llama-quantize file type gives its per-tensor mix (output Q6_K for Q4_0, …); --pure or a plain tensor type
    // (e.g. q4_1) puts every matrix in that type.
    private static (Func<string, long[], GgmlType> Choose, int FileType, string Name) TypeChooser(LlamaConfig config, string name, bool pure)
    {
        // llama.cpp applies a mix only when the base type is a block type (F16 and BF16 files keep every matrix so).
        if (!pure && Cria.Quantization.LlamaFileTypes.TryParse(name, out var fileType)
            && TensorTypeInfo.Get(Cria.Quantization.LlamaFileTypes.BaseType(fileType)).BlockElements > 1)
        {
            var info = new Cria.Quantization.QuantizationModelInfo("llama", config.LayerCount, config.HeadCount, config.KvHeadCount, 0,
                HasOutput: !config.TiedOutput, AttentionVCount: config.LayerCount);
            var selector = new Cria.Quantization.LlamaTensorTypeSelector(info, fileType);
            var baseType = Cria.Quantization.LlamaFileTypes.BaseType(fileType);
            return ((tensor, dims) => selector.Choose(tensor, dims, baseType).Type, (int)fileType, Cria.Quantization.LlamaFileTypes.Name(fileType));
        }
        GgmlType type = ConvertCommand.ParseType(name);
        return ((tensor, dims) => dims[0] % TensorTypeInfo.Get(type).BlockElements == 0 ? type : GgmlType.F16, GgufModelWriter.FileType(type), TensorTypeInfo.Get(type).Name);
    }
}
