using System.Diagnostics;
using Cria.Generation;
using Cria.Model;

namespace Cria.Benchmarking;

/// <summary>One measured test: its name ("pp512", "tg128"), thread count and tokens/s of each repetition.</summary>
public sealed record BenchmarkTest(string Test, int Threads, int Tokens, IReadOnlyList<double> SamplesTokensPerSecond)
{
    public double Mean => SamplesTokensPerSecond.Average();

    /// <summary>Sample standard deviation, as llama-bench reports it (0 for a single sample).</summary>
    public double StandardDeviation
    {
        get
        {
            int n = SamplesTokensPerSecond.Count;
            if (n < 2) return 0;
            double mean = Mean;
            return Math.Sqrt(SamplesTokensPerSecond.Sum(s => (s - mean) * (s - mean)) / (n - 1));
        }
    }
}

/// <summary>llama-bench's tests on a model: <c>ppN</c> is one forward pass of N prompt tokens (BOS, then random ids)
/// on a fresh KV cache; <c>tgN</c> is N single-token decodes from an empty cache. Each test runs once to warm up,
/// then <see cref="Repetitions"/> timed times.</summary>
public sealed class ModelBenchmark(LlamaModel model)
{
    public int Repetitions { get; init; } = 5;
    public ulong Seed { get; init; } = 1234;
    /// <summary>Most prompt tokens one forward pass takes (llama-bench's <c>-ub</c>); a longer prompt goes in several.</summary>
    public int BatchSize { get; init; } = ContextOptions.DefaultBatchSize;

    /// <summary>Runs pp (if <paramref name="promptTokens"/> &gt; 0) then tg (if <paramref name="generatedTokens"/> &gt; 0)
    /// for each thread count.</summary>
    public List<BenchmarkTest> Run(int promptTokens, int generatedTokens, IEnumerable<int> threadCounts, Action<BenchmarkTest>? onResult = null)
    {
        if (promptTokens < 0 || generatedTokens < 0) throw new CriaException("token counts must be 0 or more");
        if (Repetitions < 1) throw new CriaException($"repetitions must be at least 1, got {Repetitions}");
        if (BatchSize < 1) throw new CriaException($"the batch size must be at least 1, got {BatchSize}");
        var results = new List<BenchmarkTest>();
        foreach (int threads in threadCounts)
        {
            if (threads < 1) throw new CriaException($"thread counts must be positive, got {threads}");
            if (promptTokens > 0) results.Add(Report(PromptProcessing(promptTokens, threads), onResult));
            if (generatedTokens > 0) results.Add(Report(TextGeneration(generatedTokens, threads), onResult));
        }
        return results;
    }

    private static BenchmarkTest Report(BenchmarkTest test, Action<BenchmarkTest>? onResult)
    {
        onResult?.Invoke(test);
        return test;
    }

    private BenchmarkTest PromptProcessing(int n, int threads)
    {
        int[] tokens = RandomTokens(n);
        using var context = new LlamaContext(model, new ContextOptions { ContextLength = n, BatchSize = Math.Min(n, BatchSize), Threads = threads });
        var samples = new List<double>();
        for (int rep = -1; rep < Repetitions; rep++)
        {
            context.Reset();
            long start = Stopwatch.GetTimestamp();
            context.Process(tokens);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (rep >= 0) samples.Add(n / seconds);
        }
        if (context.ProfileReport is string report) Console.Error.WriteLine($"profile pp{n} t{threads}: {report}");
        return new BenchmarkTest($"pp{n}", threads, n, samples);
    }

    private BenchmarkTest TextGeneration(int n, int threads)
    {
        int[] tokens = RandomTokens(n);
        using var context = new LlamaContext(model, new ContextOptions { ContextLength = n, Threads = threads });
        var samples = new List<double>();
        context.Process([tokens[0]]); // warm-up: one token, as llama-bench does
        for (int rep = 0; rep < Repetitions; rep++)
        {
            context.Reset();
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < n; i++) context.Process([tokens[i]]);
            samples.Add(n / Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        if (context.ProfileReport is string report) Console.Error.WriteLine($"profile tg{n} t{threads}: {report}");
        return new BenchmarkTest($"tg{n}", threads, n, samples);
    }

    // BOS first when the model uses one, then seeded random ids (speed does not depend on which).
    private int[] RandomTokens(int n)
    {
        var random = new Xoshiro256(Seed);
        var tokens = new int[n];
        int vocab = model.Config.VocabSize;
        for (int i = 0; i < n; i++) tokens[i] = (int)(random.NextUInt64() % (ulong)vocab);
        if (model.Tokenizer is { AddBos: true, BosId: >= 0 } t) tokens[0] = t.BosId;
        return tokens;
    }
}
