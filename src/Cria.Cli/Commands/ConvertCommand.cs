using System.CommandLine;
using System.Diagnostics;
using Cria.Conversion;
using Cria.Model;
using Cria.Tensors;

namespace Cria.Cli.Commands;

/// <summary><c>cria convert INPUT OUTPUT [--type TYPE]</c>: any layout Cria reads to GGUF, streaming tensor by tensor
/// into a temporary file that replaces OUTPUT only when complete.</summary>
public static class ConvertCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var input = new Argument<string>("input") { Description = "A model: GGUF, llama2.c checkpoint, Meta or Hugging Face folder" };
        var output = new Argument<string>("output") { Description = "The file to write (.gguf)" };
        var type = new Option<string?>("--type", "--outtype") { Description = "Type of the matrices: f32, f16, bf16, q8_0, q4_0, … (default: keep the stored types; norms stay F32)" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "A tokenizer to store instead of the model's own" };
        var command = new Command("convert", "Convert a model to GGUF, printing each tensor as it is written") { input, output, type, tokenizer };
        command.SetAction(parse =>
        {
            string outputPath = parse.GetValue(output)!;
            GgmlType? matrixType = parse.GetValue(type) is string name ? ParseType(name) : null;
            if (!outputPath.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
                throw new CriaException($"output '{outputPath}': only .gguf output is supported so far");
            string? folder = Path.GetDirectoryName(Path.GetFullPath(outputPath));
            if (folder != null && !Directory.Exists(folder)) throw new CriaException($"output folder '{folder}' does not exist");

            var clock = Stopwatch.StartNew();
            using var checkpoint = ModelLoader.OpenCheckpoint(parse.GetValue(input)!, parse.GetValue(tokenizer));
            var plans = CheckpointConverter.PlanGguf(checkpoint, matrixType);
            stderr.WriteLine($"cria: converting {checkpoint.Description} ({checkpoint.Naming} naming, {plans.Count} tensors) to GGUF '{outputPath}'");
            var printer = new ConversionProgressPrinter(stdout, stderr, progressBar: !Console.IsErrorRedirected && ReferenceEquals(stderr, Console.Error));
            GgufModelWriter.Write(outputPath, checkpoint.Config, checkpoint.Tokenizer, checkpoint.Metadata, plans,
                CheckpointConverter.PredominantMatrixType(plans), printer.Report);
            long bytes = new FileInfo(outputPath).Length;
            stderr.WriteLine($"cria: wrote {bytes:N0} bytes in {clock.Elapsed.TotalSeconds:F1} s ({bytes / 1e6 / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F0} MB/s)");
            return 0;
        });
        return command;
    }

    /// <summary>A type name as llama.cpp spells it, any case (f16, Q8_0, q4_k …).</summary>
    public static GgmlType ParseType(string name)
    {
        if (!TensorTypeInfo.TryParse(name, out var info) || !RowEncoder.CanEncode(info.Type))
        {
            var writable = Enum.GetValues<GgmlType>().Where(RowEncoder.CanEncode).Select(t => TensorTypeInfo.Get(t).Name.ToLowerInvariant());
            throw new CriaException($"unknown or unwritable type '{name}' (known: {string.Join(", ", writable)})");
        }
        return info.Type;
    }
}
