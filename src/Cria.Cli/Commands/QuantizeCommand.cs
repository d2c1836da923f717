using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Cria.Quantization;
using Cria.Tensors;

namespace Cria.Cli.Commands;

/// <summary><c>cria quantize INPUT.gguf OUTPUT.gguf TYPE [--pure] [--allow-requantize] [--threads N]</c>: llama-quantize's
/// mixes and blocks (without an importance matrix), streamed tensor by tensor, with one line per tensor on stdout.</summary>
public static class QuantizeCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var input = new Argument<string>("input") { Description = "The GGUF file to quantise (F32, F16 or BF16 weights; quantised ones with --allow-requantize)" };
        var output = new Argument<string>("output") { Description = "The GGUF file to write (through a temporary file, renamed when complete)" };
        var type = new Argument<string>("type") { Description = "The llama.cpp file type: " + string.Join(", ", LlamaFileTypes.Names) + " (case-insensitive)" };
        var pure = new Option<bool>("--pure") { Description = "Every matrix in the type's base type: no llama.cpp per-tensor choices (output, attn_v, ffn_down …); rows that fit no block still fall back" };
        var allowRequantize = new Option<bool>("--allow-requantize") { Description = "Accept already-quantised tensors: they are dequantised to float32 and quantised again (loses precision)" };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads quantising rows (default: one per processor); the output is the same for any count" };
        var command = new Command("quantize", "Quantise a GGUF model as llama-quantize does (Q4_K_M, Q8_0, …), bit for bit")
        {
            input, output, type, pure, allowRequantize, threads,
        };
        command.SetAction(Run);
        return command;

        int Run(ParseResult parse)
        {
            string typeName = parse.GetValue(type)!;
            if (!LlamaFileTypes.TryParse(typeName, out var fileType))
                throw new CriaException($"unknown quantisation type '{typeName}'; choose one of {string.Join(", ", LlamaFileTypes.Names)}");
            int threadCount = parse.GetValue(threads);
            if (threadCount < 0) throw new CriaException($"--threads must be positive, got {threadCount}");
            string inputPath = parse.GetValue(input)!, outputPath = parse.GetValue(output)!;
            var options = new QuantizeOptions
            {
                FileType = fileType,
                Pure = parse.GetValue(pure),
                AllowRequantize = parse.GetValue(allowRequantize),
                Threads = threadCount,
            };
            // Ctrl+C or SIGTERM stops the work at the next chunk instead of killing the process, so the writer can
            // remove its temporary file; the run then ends as "cria: cancelled".
            using var cancellation = new CancellationTokenSource();
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            void Stop(PosixSignalContext context)
            {
                context.Cancel = true;
                cancellation.Cancel();
            }
            var summary = GgufQuantizer.Quantize(inputPath, outputPath, options,
                plan => Announce(plan, inputPath, outputPath, options, stdout, stderr),
                report => stdout.WriteLine(Line(report)), cancellation.Token);
            Summarise(summary, stdout, stderr);
            return 0;
        }
    }

    private static void Announce(QuantizationPlan plan, string inputPath, string outputPath, QuantizeOptions options, TextWriter stdout, TextWriter stderr)
    {
        int threads = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        stdout.WriteLine($"quantizing '{inputPath}' to '{outputPath}' as {LlamaFileTypes.Name(plan.FileType)}{(options.Pure ? " (pure)" : "")}, " +
                         $"{plan.Tensors.Count} tensors, {threads} thread{(threads == 1 ? "" : "s")}");
        var requantized = plan.Tensors.Where(t => t.Convert && TensorTypeInfo.Get(t.Source.Type).BlockElements > 1).ToList();
        if (requantized.Count > 0)
            stderr.WriteLine($"cria: requantizing {requantized.Count} tensor{(requantized.Count == 1 ? "" : "s")} already in " +
                             $"{string.Join(", ", requantized.Select(t => TensorTypeInfo.Get(t.Source.Type).Name).Distinct())}: each is dequantized " +
                             "to float32 first, so its error adds to the new type's");
    }

    /// <summary>One tensor: <c>[  4/291] blk.0.attn_q.weight | size 4096 x 4096 | F32 -> Q4_K</c> (rows x columns, as inspect prints).</summary>
    public static string Line(QuantizedTensorReport report)
    {
        var t = report.Tensor;
        int width = Math.Max(3, report.Count.ToString(CultureInfo.InvariantCulture).Length);
        string counter = $"[{report.Index.ToString(CultureInfo.InvariantCulture).PadLeft(width)}/{report.Count}]";
        string from = TensorTypeInfo.Get(t.Source.Type).Name, to = TensorTypeInfo.Get(t.Type).Name;
        string change = t.Convert ? $"{from} -> {to}" : $"{from} (copied)";
        if (t.FallbackFrom is { } wanted)
            change += $" (fallback: rows of {t.Source.Dimensions[0]} are not whole {TensorTypeInfo.Get(wanted).Name} blocks of {TensorTypeInfo.Get(wanted).BlockElements})";
        return $"{counter} {t.Source.Name} | size {string.Join(" x ", t.Source.Dimensions.Reverse())} | {change}";
    }

    private static void Summarise(QuantizeSummary s, TextWriter stdout, TextWriter stderr)
    {
        int converted = s.Plan.Tensors.Count(t => t.Convert);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"tensor data {Mib(s.InputDataBytes)} -> {Mib(s.OutputDataBytes)} ({(double)s.InputDataBytes / Math.Max(1, s.OutputDataBytes):F2}x smaller); " +
            $"file {Mib(s.InputFileBytes)} -> {Mib(s.OutputFileBytes)}; {converted} tensors converted, {s.Plan.Tensors.Count - converted} copied; " +
            $"{s.Elapsed.TotalSeconds:F2} s"));
        if (s.Plan.Fallbacks > 0)
            stderr.WriteLine($"cria: {s.Plan.Fallbacks} of {s.Plan.Chosen} tensors needed a fallback type: their rows are not whole blocks of the type the mix asked for");
    }

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F2} MiB");
}
