using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Cria.Generation;
using Cria.Model;

namespace Cria.Cli.Commands;

/// <summary><c>cria generate MODEL --prompt TEXT …</c>: streams only the generated text to stdout, and load time,
/// prompt and generation speed to stderr.</summary>
public static class GenerateCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Argument<string>("model") { Description = "A GGUF file or a llama2.c checkpoint" };
        var prompt = new Option<string>("--prompt", "-p") { Description = "The text to continue", Required = true };
        var maxTokens = new Option<int>("--max-tokens", "-n") { Description = "Most tokens to generate; -1 = until end of sequence or a full context", DefaultValueFactory = _ => -1 };
        var sampling = new SamplingOptionSet();
        var running = new ModelOptionSet();
        var command = new Command("generate", "Continue a prompt with a model, streaming the generated text") { model, prompt, maxTokens };
        sampling.AddTo(command);
        running.AddTo(command);
        command.SetAction(parse =>
        {
            var samplerOptions = sampling.Read(parse);
            var contextOptions = running.ReadContextOptions(parse);
            int limit = parse.GetValue(maxTokens);
            if (limit < -1) throw new CriaException($"--max-tokens must be -1 (no limit) or more, got {limit}");

            var clock = Stopwatch.StartNew();
            using var llama = LlamaModel.Load(parse.GetValue(model)!, running.TokenizerPath(parse), running.Repack(parse));
            using var context = new LlamaContext(llama, contextOptions);
            var tokenizer = llama.Tokenizer!;
            var sampler = new Sampler(samplerOptions, llama.Config.VocabSize);
            var loadTime = clock.Elapsed;
            stderr.WriteLine(Describe(llama, context) + (samplerOptions.Temperature > 0 ? $", seed {sampler.Seed}" : ", greedy"));

            var result = new Generator(context, tokenizer, sampler).Generate(tokenizer.Encode(parse.GetValue(prompt)!), limit, stdout);
            stdout.WriteLine();
            stdout.Flush();
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"cria: load {Ms(loadTime)}; prompt {result.PromptTokens} tokens in {Ms(result.PromptTime)} ({result.PromptTokensPerSecond:F1} tokens/s); " +
                $"generated {result.GeneratedTokens} tokens in {Ms(result.GenerationTime)} ({result.GenerationTokensPerSecond:F1} tokens/s); " +
                $"stopped: {Describe(result.StopReason)}"));
            return 0;
        });
        return command;
    }

    internal static string Describe(LlamaModel model, LlamaContext context) =>
        $"cria: loaded {model.Source} ({model.Config.LayerCount} layers, dim {model.Config.Dim}, context {context.ContextLength}, {context.Threads} threads)";

    internal static string Ms(TimeSpan t) => string.Create(CultureInfo.InvariantCulture, $"{t.TotalMilliseconds:F1} ms");

    internal static string Describe(StopReason reason) => reason switch
    {
        StopReason.EndOfSequence => "end of sequence",
        StopReason.MaxTokens => "max tokens",
        StopReason.ContextFull => "context full",
        _ => "cancelled",
    };
}
