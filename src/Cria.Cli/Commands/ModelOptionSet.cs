using System.CommandLine;
using Cria.Model;

namespace Cria.Cli.Commands;

/// <summary>The options that say how to open and run a model: tokenizer override, context, batch, threads.</summary>
public sealed class ModelOptionSet
{
    private readonly Option<string?> _tokenizer = new("--tokenizer") { Description = "A tokenizer file to use instead of the model's own (needed for llama2.c checkpoints without one beside them)" };
    private readonly Option<int> _contextSize = new("--ctx-size", "-c") { Description = $"Context length (default: the model's, at most {Cria.Model.ContextOptions.DefaultMaxContext})" };
    private readonly Option<int> _batchSize = new("--batch-size", "-b") { Description = "Prompt tokens per forward pass", DefaultValueFactory = _ => ContextOptions.DefaultBatchSize };
    private readonly Option<int> _threads = new("--threads", "-t") { Description = "Threads for the kernels (default: one per processor)" };
    private readonly Option<bool> _noRepack = new("--no-repack") { Description = RepackDescription };

    /// <summary>What --no-repack does, for every command that loads a model.</summary>
    public const string RepackDescription = "Keep every matrix as the file stores it: a faster load, a slower decode for the types this machine repacks (F16, BF16, Q4_0, Q4_K, Q6_K, Q8_0 with AVX-512)";

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _tokenizer, _contextSize, _batchSize, _threads, _noRepack }) command.Options.Add(option);
    }

    public string? TokenizerPath(ParseResult parse) => parse.GetValue(_tokenizer);

    /// <summary>Whether to repack matrices at load (not --no-repack).</summary>
    public bool Repack(ParseResult parse) => !parse.GetValue(_noRepack);

    public ContextOptions ReadContextOptions(ParseResult parse)
    {
        int threads = parse.GetValue(_threads), context = parse.GetValue(_contextSize), batch = parse.GetValue(_batchSize);
        if (threads < 0) throw new CriaException($"--threads must be positive, got {threads}");
        if (context < 0) throw new CriaException($"--ctx-size must be positive, got {context}");
        if (batch <= 0) throw new CriaException($"--batch-size must be positive, got {batch}");
        return new ContextOptions { ContextLength = context, BatchSize = batch, Threads = threads };
    }
}
