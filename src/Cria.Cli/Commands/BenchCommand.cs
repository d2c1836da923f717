using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cria.Benchmarking;
using Cria.Model;
using Cria.Tensors;

namespace Cria.Cli.Commands;

/// <summary><c>cria bench MODEL [--prompt-tokens 512] [--gen-tokens 128] [--threads 1,2] [--reps 5] [--batch-size 256] [--no-repack] [--json]</c>: llama-bench's
/// pp/tg tests, mean ± standard deviation of tokens/s, plus load time and peak RSS.</summary>
public static class BenchCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Argument<string>("model") { Description = "The model to measure", Arity = ArgumentArity.ZeroOrOne };
        var machine = new Option<bool>("--machine") { Description = "Measure the machine instead: memory read bandwidth, fp32 FMA and int8 multiply-add peaks" };
        var prompt = new Option<int>("--prompt-tokens", "-p") { Description = "Prompt length of the pp test (0 = skip)", DefaultValueFactory = _ => 512 };
        var generate = new Option<int>("--gen-tokens", "-n") { Description = "Tokens of the tg test (0 = skip)", DefaultValueFactory = _ => 128 };
        var threads = new Option<string>("--threads", "-t") { Description = "Comma-separated thread counts", DefaultValueFactory = _ => Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture) };
        var reps = new Option<int>("--reps", "-r") { Description = "Timed repetitions of each test (after one warm-up)", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch-size", "-b") { Description = "Prompt tokens per forward pass, as llama-bench's -ub (a longer prompt takes several)", DefaultValueFactory = _ => ContextOptions.DefaultBatchSize };
        var json = new Option<bool>("--json") { Description = "Print one JSON object with a 'tests' array instead of a table" };
        var noRepack = new Option<bool>("--no-repack") { Description = ModelOptionSet.RepackDescription };
        var command = new Command("bench", "Measure prompt processing (pp) and generation (tg) speed as llama-bench does") { model, prompt, generate, threads, reps, batch, json, noRepack, machine };
        command.SetAction(parse =>
        {
            var threadCounts = ParseThreads(parse.GetValue(threads)!);
            if (parse.GetValue(machine))
            {
                foreach (var f in MachineLimits.Measure(threadCounts))
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{f.What,-22} {f.Threads} thread{(f.Threads == 1 ? " " : "s")} {f.Value,8:F1} {f.Unit}"));
                return 0;
            }
            string path = parse.GetValue(model) ?? throw new CriaException("give a model to benchmark (or --machine)");
            var clock = Stopwatch.StartNew();
            using var llama = LlamaModel.Load(path, repack: !parse.GetValue(noRepack));
            double loadMs = clock.Elapsed.TotalMilliseconds;
            var bench = new ModelBenchmark(llama) { Repetitions = parse.GetValue(reps), BatchSize = parse.GetValue(batch) };
            string size = $"{ModelBytes(llama) / (double)(1L << 30):F2} GiB";
            long parameters = LlamaPresets.ParameterCount(llama.Config);
            bool asJson = parse.GetValue(json);
            if (!asJson)
            {
                stdout.WriteLine("| model | size | params | threads | test | t/s |");
                stdout.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
            }
            string name = $"llama {parameters / 1e9:F2}B {MainType(llama)}";
            var results = bench.Run(parse.GetValue(prompt), parse.GetValue(generate), threadCounts, r =>
            {
                if (!asJson) stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {size} | {parameters / 1e9:F2} B | {r.Threads} | {r.Test} | {r.Mean:F2} ± {r.StandardDeviation:F2} |"));
            });
            long peak = ProcessMemory.PeakResidentBytes();
            if (asJson)
            {
                var tests = new JsonArray(results.Select(r => (JsonNode)new JsonObject
                {
                    ["test"] = r.Test,
                    ["n_threads"] = r.Threads,
                    ["n_ubatch"] = bench.BatchSize,
                    ["n_tokens"] = r.Tokens,
                    ["avg_ts"] = r.Mean,
                    ["stddev_ts"] = r.StandardDeviation,
                    ["samples_ts"] = new JsonArray(r.SamplesTokensPerSecond.Select(s => (JsonNode)s).ToArray()),
                }).ToArray());
                var root = new JsonObject
                {
                    ["model"] = path,
                    ["model_type"] = MainType(llama),
                    ["model_size"] = ModelBytes(llama),
                    ["model_n_params"] = parameters,
                    ["file_bytes"] = File.Exists(path) ? new FileInfo(path).Length : 0, // 0 for a folder (Hugging Face)
                    // The largest cache a test made (a context is sized to its test); peak RSS should stay within
                    // the mapped file + this + 10%.
                    ["kv_cache_bytes"] = KvCache.BytesFor(llama.Config.LayerCount, Math.Max(parse.GetValue(prompt), parse.GetValue(generate)), llama.Config.KvDim),
                    ["repack"] = !parse.GetValue(noRepack),
                    ["load_ms"] = loadMs,
                    ["peak_rss_bytes"] = peak,
                    ["tests"] = tests,
                };
                stdout.WriteLine(root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                stdout.WriteLine();
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load {loadMs:F1} ms; peak RSS {peak / (double)(1L << 20):F0} MiB"));
            }
            return 0;
        });
        return command;
    }

    private static int[] ParseThreads(string text)
    {
        try
        {
            var counts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            if (counts.Length == 0 || counts.Any(c => c < 1)) throw new FormatException();
            return counts;
        }
        catch (FormatException)
        {
            throw new CriaException($"--threads takes comma-separated positive counts such as 1,2; got '{text}'");
        }
    }

    private static long ModelBytes(LlamaModel model)
    {
        var w = model.Weights;
        long bytes = w.TokenEmbedding.ByteSize + (ReferenceEquals(w.Output, w.TokenEmbedding) ? 0 : w.Output.ByteSize);
        foreach (var l in w.Layers)
            bytes += l.Query.ByteSize + l.Key.ByteSize + l.Value.ByteSize + l.Output.ByteSize + l.Gate.ByteSize + l.Up.ByteSize + l.Down.ByteSize;
        return bytes;
    }

    private static string MainType(LlamaModel model) => TensorTypeInfo.Get(model.Weights.Layers[0].Gate.Type).Name;
}
