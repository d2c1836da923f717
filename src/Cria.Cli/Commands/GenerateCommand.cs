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
        var temperature = new Option<float>("--temperature", "--temp") { Description = "Sampling temperature; 0 = greedy", DefaultValueFactory = _ => 0.8f };
        var topK = new Option<int>("--top-k") { Description = "Keep the K most likely tokens (0 = all)", DefaultValueFactory = _ => 40 };
        var topP = new Option<float>("--top-p") { Description = "Keep the most likely tokens up to this total probability (1 = all)", DefaultValueFactory = _ => 0.95f };
        var minP = new Option<float>("--min-p") { Description = "Drop tokens less likely than this fraction of the best one (0 = off)", DefaultValueFactory = _ => 0.05f };
        var repeatPenalty = new Option<float>("--repeat-penalty") { Description = "Penalty for tokens among the last --repeat-last-n (1 = off)", DefaultValueFactory = _ => 1.0f };
        var repeatLastN = new Option<int>("--repeat-last-n") { Description = "How many recent tokens the repetition penalty looks at", DefaultValueFactory = _ => 64 };
        var seed = new Option<ulong?>("--seed", "-s") { Description = "Random seed; the same seed repeats the same text (default: random, printed)" };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads for the kernels (default: one per processor)" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "A tokenizer file to use instead of the model's own (needed for llama2.c checkpoints without one beside them)" };
        var contextSize = new Option<int>("--ctx-size", "-c") { Description = $"Context length (default: the model's, at most {ContextOptions.DefaultMaxContext})" };
        var batchSize = new Option<int>("--batch-size", "-b") { Description = "Prompt tokens per forward pass", DefaultValueFactory = _ => 512 };

        var command = new Command("generate", "Continue a prompt with a model, streaming the generated text")
        {
            model, prompt, maxTokens, temperature, topK, topP, minP, repeatPenalty, repeatLastN, seed, threads, tokenizer, contextSize, batchSize,
        };
        command.SetAction(parse =>
        {
            var sampling = new SamplerOptions
            {
                Temperature = parse.GetValue(temperature),
                TopK = parse.GetValue(topK),
                TopP = parse.GetValue(topP),
                MinP = parse.GetValue(minP),
                RepeatPenalty = parse.GetValue(repeatPenalty),
                RepeatLastN = parse.GetValue(repeatLastN),
                Seed = parse.GetValue(seed),
            };
            sampling.Validate();
            int threadCount = parse.GetValue(threads);
            if (threadCount < 0) throw new CriaException($"--threads must be positive, got {threadCount}");
            if (parse.GetValue(maxTokens) < -1) throw new CriaException($"--max-tokens must be -1 (no limit) or more, got {parse.GetValue(maxTokens)}");

            var clock = Stopwatch.StartNew();
            using var llama = LlamaModel.Load(parse.GetValue(model)!, parse.GetValue(tokenizer));
            using var context = new LlamaContext(llama, new ContextOptions
            {
                ContextLength = parse.GetValue(contextSize),
                BatchSize = parse.GetValue(batchSize),
                Threads = threadCount,
            });
            var vocabulary = llama.Tokenizer ?? throw new CriaException("the model has no tokenizer; pass --tokenizer PATH");
            var sampler = new Sampler(sampling, llama.Config.VocabSize);
            var loadTime = clock.Elapsed;
            stderr.WriteLine($"cria: loaded {llama.Source} in {Ms(loadTime)} ({llama.Config.LayerCount} layers, dim {llama.Config.Dim}, " +
                             $"context {context.ContextLength}, {context.Threads} threads)" +
                             (sampling.Temperature > 0 ? $", seed {sampler.Seed}" : ", greedy"));

            var promptIds = vocabulary.Encode(parse.GetValue(prompt)!);
            var result = new Generator(context, vocabulary, sampler).Generate(promptIds, parse.GetValue(maxTokens), stdout);
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

    private static string Ms(TimeSpan t) => string.Create(CultureInfo.InvariantCulture, $"{t.TotalMilliseconds:F1} ms");

    private static string Describe(StopReason reason) => reason switch
    {
        StopReason.EndOfSequence => "end of sequence",
        StopReason.MaxTokens => "max tokens",
        StopReason.ContextFull => "context full",
        _ => "cancelled",
    };
}
