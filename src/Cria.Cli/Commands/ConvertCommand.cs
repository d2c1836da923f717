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
        var output = new Argument<string>("output") { Description = "A .gguf file, or a folder (or a .safetensors path in one) for a Hugging Face checkpoint" };
        var type = new Option<string?>("--type", "--outtype") { Description = "Type of the matrices: f32, f16, bf16, q8_0, q4_0, … (default: keep the stored types; norms stay F32)" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "A tokenizer to store instead of the model's own" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace a Hugging Face checkpoint already in the output folder" };
        var command = new Command("convert", "Convert a model to GGUF or Hugging Face safetensors, printing each tensor as it is written")
        {
            input, output, type, tokenizer, overwrite,
        };
        command.SetAction(parse =>
        {
            string outputPath = parse.GetValue(output)!;
            GgmlType? matrixType = parse.GetValue(type) is string name ? ParseType(name) : null;
            if (!outputPath.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
                return ToHuggingFace(parse.GetValue(input)!, outputPath, matrixType, parse.GetValue(tokenizer), parse.GetValue(overwrite), stdout, stderr);
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
            stderr.WriteLine($"cria: wrote {bytes:N0} bytes in {clock.Elapsed.TotalSeconds:F1} s ({bytes / 1e6 / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F0} MB/s); " +
                             MemoryLine(printer.PeakOwnBytes));
            return 0;
        });
        return command;
    }

    // Peak RSS counts the pages of the memory-mapped input the conversion has read (the kernel drops them at will);
    // "own" is what the process allocated itself, which is what streaming keeps small.
    internal static string MemoryLine(long peakOwnBytes) =>
        $"peak RSS {Cria.Benchmarking.ProcessMemory.PeakResidentBytes() / 1048576.0:F0} MiB (own memory at most {peakOwnBytes / 1048576.0:F0} MiB; the rest is mapped input pages)";

    // A folder, or model.safetensors inside one: config.json + safetensors in F32, F16 or BF16.
    private static int ToHuggingFace(string input, string output, GgmlType? matrixType, string? tokenizer, bool overwrite, TextWriter stdout, TextWriter stderr)
    {
        string folder = output.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? Path.GetDirectoryName(Path.GetFullPath(output))! : output;
        Cria.Formats.SafeTensors.SafeTensorsDType? dtype = matrixType switch
        {
            null => null,
            GgmlType.F32 => Cria.Formats.SafeTensors.SafeTensorsDType.F32,
            GgmlType.F16 => Cria.Formats.SafeTensors.SafeTensorsDType.F16,
            GgmlType.BF16 => Cria.Formats.SafeTensors.SafeTensorsDType.BF16,
            _ => throw new CriaException($"Hugging Face checkpoints hold f32, f16 or bf16 weights, not {TensorTypeInfo.Get(matrixType.Value).Name}"),
        };
        var clock = Stopwatch.StartNew();
        using var checkpoint = ModelLoader.OpenCheckpoint(input, tokenizer);
        stderr.WriteLine($"cria: converting {checkpoint.Description} ({checkpoint.Naming} naming, {checkpoint.Tensors.Count} tensors) to a Hugging Face checkpoint in '{folder}'");
        var result = Cria.Formats.HuggingFace.HuggingFaceWriter.Write(checkpoint, folder, new Cria.Formats.HuggingFace.HuggingFaceWriteOptions { DType = dtype, Overwrite = overwrite });
        foreach (string file in result.Files) stdout.WriteLine($"wrote {file}");
        stderr.WriteLine($"cria: wrote {result.TensorBytes:N0} bytes of {result.DType} weights in {clock.Elapsed.TotalSeconds:F1} s" +
                         (result.PermutedQueryKey ? " (q/k rows put in rotate_half order)" : "") +
                         (result.CopiedTokenizerFiles.Count > 0 ? $"; copied {string.Join(", ", result.CopiedTokenizerFiles)}" : "; no tokenizer files copied") +
                         "; " + MemoryLine(Cria.Benchmarking.ProcessMemory.AnonymousResidentBytes()));
        return 0;
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
