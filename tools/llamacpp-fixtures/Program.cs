using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cria.Formats.Gguf;
using Cria.Tests.Infrastructure;

// Writes each synthetic Llama GGUF, asks llama.cpp (shared/tools/llamacpp-ref, f32 KV cache, no flash attention,
// one batch) for its logits, and stores them as the reference the tests compare against.
// usage: dotnet run --project tools/llamacpp-fixtures -- SHARED_DIR OUTPUT.json
string shared = Path.GetFullPath(args.Length > 0 ? args[0] : "../shared");
string output = args.Length > 1 ? args[1] : "tests/Cria.Tests/Data/llamacpp-synthetic-logits.json";
string runner = Path.Combine(shared, "tools/llamacpp-ref/run.sh");
using var vocabulary = GgufFile.Open(Path.Combine(shared, "assets/stories260K-gguf/stories260K-f32.gguf"));
string scratch = Directory.CreateTempSubdirectory("cria-fixtures-").FullName;
int[] ids = SyntheticLlama.PromptIds;
int[] keptPositions = [0, ids.Length / 2, ids.Length - 1];

var models = new JsonObject();
string library = "";
foreach (var spec in SyntheticLlama.Specs)
{
    string model = Path.Combine(scratch, spec.Name + ".gguf");
    SyntheticLlama.Write(spec, model, vocabulary.Metadata);
    string logitsFile = Path.Combine(scratch, spec.Name + ".json");
    Run(runner, $"logits {model} --ids {string.Join(',', ids)} --all --fa off --ctk f32 --ctv f32 --threads 1 --out {logitsFile}");
    var result = JsonNode.Parse(File.ReadAllText(logitsFile))!;
    library = result["library"]!.GetValue<string>();
    var all = result["logits_all"]!.AsArray();
    var positions = new JsonObject();
    foreach (int p in keptPositions) positions[p.ToString()] = all[p]!.DeepClone();
    models[spec.Name] = new JsonObject
    {
        ["file_sha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(model))),
        ["argmax_per_position"] = result["argmax"]!.DeepClone(),
        ["logits_at_position"] = positions,
    };
    Console.Error.WriteLine($"{spec.Name}: argmax {result["argmax"]!.ToJsonString()}");
}
var root = new JsonObject
{
    ["note"] = "llama.cpp logits for the synthetic models of tests/Cria.Tests/Infrastructure/SyntheticLlama.cs, made by " +
               "tools/llamacpp-fixtures with shared/tools/llamacpp-ref: one batch of all prompt ids, f32 K/V cache, flash attention off, 1 thread.",
    ["library"] = library,
    ["prompt_ids"] = new JsonArray(ids.Select(i => (JsonNode)i).ToArray()),
    ["models"] = models,
};
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
File.WriteAllText(output, root.ToJsonString(new JsonSerializerOptions { WriteIndented = false }) + "\n");
Directory.Delete(scratch, true);
Console.Error.WriteLine($"wrote {output}");

static void Run(string file, string arguments)
{
    var p = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
    string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
    p.WaitForExit();
    if (p.ExitCode != 0) throw new Exception($"{file} {arguments} failed ({p.ExitCode}):\n{stdout}\n{stderr}");
}
