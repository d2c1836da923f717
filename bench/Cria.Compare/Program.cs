using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

// cria-compare: alternates llama.cpp (llamacpp-ref bench) and cria bench on the same models and threads, several rounds,
// and prints a markdown table of the medians of the round means and their ratio. Machines here are shared and noisy:
// alternating the tools and taking medians keeps a busy moment from favouring either.
//   dotnet run -c Release --project bench/Cria.Compare -- --models a.gguf,b.gguf [--threads 1,2] [--rounds 3] [--reps 3]
//       [--pp 512] [--tg 128] [--llamacpp ../shared/tools/llamacpp-ref/run.sh] [--cria src/Cria.Cli/bin/Release/net10.0/cria]
//       [--log raw.jsonl]   (every run's JSON, one per line, appended as it comes: a long session keeps what it measured)
//       [--cria-args "--no-repack"]   (passed to every cria bench run)
var options = ParseArgs(args);
string[] models = options["models"].Split(',', StringSplitOptions.RemoveEmptyEntries);
string threads = options.GetValueOrDefault("threads", "1,2");
int rounds = int.Parse(options.GetValueOrDefault("rounds", "3"));
string reps = options.GetValueOrDefault("reps", "3"), pp = options.GetValueOrDefault("pp", "512"), tg = options.GetValueOrDefault("tg", "128");
string llamacpp = options.GetValueOrDefault("llamacpp", "../shared/tools/llamacpp-ref/run.sh");
string cria = options.GetValueOrDefault("cria", "src/Cria.Cli/bin/Release/net10.0/cria");
string? log = options.GetValueOrDefault("log");
string criaArgs = options.GetValueOrDefault("cria-args", "");
string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
var memory = new Dictionary<string, List<JsonNode>>(); // model → cria's JSON of every run (sizes, load time, peak RSS)

// (model, tool, test, threads) → per-round mean t/s
var results = new Dictionary<(string, string, string, int), List<double>>();
foreach (string model in models.Distinct())
{
    for (int round = 0; round < rounds; round++)
    {
        var order = round % 2 == 0 ? new[] { "llama.cpp", "cria" } : new[] { "cria", "llama.cpp" };
        foreach (string tool in order)
        {
            string json = tool == "cria"
                ? Run(cria, $"bench {model} -p {pp} -n {tg} -t {threads} -r {reps} --json {criaArgs}")
                : Run(llamacpp, $"bench {model} --pp {pp} --tg {tg} --threads {threads} --reps {reps} --json --no-idle-check");
            var parsed = JsonNode.Parse(json)!;
            // One line per run, naming no machine's paths: the model as given (llama.cpp's harness logs it resolved), the
            // home folder as ~.
            if (log != null)
                File.AppendAllText(log, parsed.ToJsonString().Replace(Path.GetFullPath(model), model).Replace(home, "~") + "\n");
            if (tool == "cria")
            {
                if (!memory.TryGetValue(model, out var runs)) memory[model] = runs = [];
                runs.Add(parsed);
            }
            foreach (var test in parsed["tests"]!.AsArray())
            {
                var key = (model, tool, test!["test"]!.GetValue<string>(), test["n_threads"]!.GetValue<int>());
                if (!results.TryGetValue(key, out var list)) results[key] = list = [];
                list.Add(test["avg_ts"]!.GetValue<double>());
            }
            Console.Error.WriteLine($"{Path.GetFileName(model)} round {round + 1}/{rounds}: {tool} done");
        }
    }
}

var table = new StringBuilder();
table.AppendLine("| model | test | threads | llama.cpp t/s | cria t/s | cria / llama.cpp |");
table.AppendLine("| --- | --- | ---: | ---: | ---: | ---: |");
foreach (var group in results.Keys.Where(k => k.Item2 == "cria").OrderBy(k => Array.IndexOf(models, k.Item1)).ThenBy(k => k.Item3.StartsWith("tg")).ThenBy(k => k.Item4))
{
    var (model, _, test, n) = group;
    if (!results.TryGetValue((model, "llama.cpp", test, n), out var reference)) continue;
    double ours = Median(results[group]), theirs = Median(reference);
    table.AppendLine(string.Create(CultureInfo.InvariantCulture,
        $"| {Path.GetFileNameWithoutExtension(model)} | {test} | {n} | {theirs:F2} | {ours:F2} | {ours / theirs:F2} |"));
}
Console.Write(table);

// Memory: the highest peak RSS of the cria runs against the mapped file + the largest KV cache its tests made (+10%);
// every run's load time, in the order run, since a load right after llama.cpp's run differs from one after cria's.
var mem = new StringBuilder();
mem.AppendLine("| model | file MiB | KV cache MiB | peak RSS MiB | (file + KV) × 1.1 MiB | within | load ms, each run |");
mem.AppendLine("| --- | ---: | ---: | ---: | ---: | --- | ---: |");
foreach (string model in models.Distinct())
{
    if (!memory.TryGetValue(model, out var runs)) continue;
    var m = runs[^1];
    double file = m["file_bytes"]!.GetValue<long>() / 1048576.0, kv = runs.Max(r => r["kv_cache_bytes"]!.GetValue<long>()) / 1048576.0;
    double peak = runs.Max(r => r["peak_rss_bytes"]!.GetValue<long>()) / 1048576.0, limit = (file + kv) * 1.1;
    string loads = string.Join(", ", runs.Select(r => r["load_ms"]!.GetValue<double>().ToString("F0", CultureInfo.InvariantCulture)));
    mem.AppendLine(string.Create(CultureInfo.InvariantCulture,
        $"| {Path.GetFileNameWithoutExtension(model)} | {file:F0} | {kv:F0} | {peak:F0} | {limit:F0} | {(peak <= limit ? "yes" : "no")} | {loads} |"));
}
Console.WriteLine();
Console.Write(mem);

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

static string Run(string file, string arguments)
{
    var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
    var stderr = process.StandardError.ReadToEndAsync();
    string stdout = process.StandardOutput.ReadToEnd();
    process.WaitForExit();
    if (process.ExitCode != 0) throw new Exception($"{file} {arguments} failed ({process.ExitCode}): {stderr.Result}");
    int start = stdout.IndexOf('{');
    return stdout[start..];
}

static Dictionary<string, string> ParseArgs(string[] args)
{
    var options = new Dictionary<string, string>();
    for (int i = 0; i + 1 < args.Length; i += 2)
    {
        if (!args[i].StartsWith("--")) throw new ArgumentException($"expected --option value, got '{args[i]}'");
        options[args[i][2..]] = args[i + 1];
    }
    if (!options.ContainsKey("models")) throw new ArgumentException("--models a.gguf,b.gguf is required");
    return options;
}
