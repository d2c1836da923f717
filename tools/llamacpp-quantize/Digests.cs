using System.Security.Cryptography;
using System.Text.Json;
using Cria.Formats.Gguf;
using Cria.Tensors;
using Cria.Tests.Quantization;

namespace LlamacppQuantize;

/// <summary>Writes tests/Cria.Tests/Data/llamacpp-quantize-digests.json: for each (input, mix, flags) case, the sha256
/// of the whole file llama.cpp's <c>llama_model_quantize</c> writes and its tensor types, so the tests can check that
/// <c>cria quantize</c> writes the same bytes. Inputs: the synthetic models of SyntheticQuantizeModels (regenerated
/// by the tests) and files from the shared assets.</summary>
internal static class Digests
{
    public static string DefaultAssets => Environment.GetEnvironmentVariable("CRIA_ASSETS") ?? Path.GetFullPath(Path.Combine("..", "shared", "assets"));

    // llama.cpp's ftype ids of the mixes Cria writes.
    private static readonly (string Name, int Id)[] Mixes =
    [
        ("Q4_0", 2), ("Q4_1", 3), ("Q5_0", 8), ("Q5_1", 9), ("Q8_0", 7), ("F16", 1), ("BF16", 32), ("Q2_K", 10),
        ("Q3_K_S", 11), ("Q3_K_M", 12), ("Q3_K_L", 13), ("Q4_K_S", 14), ("Q4_K_M", 15), ("Q5_K_S", 16), ("Q5_K_M", 17), ("Q6_K", 18),
    ];

    private sealed record Case(string Source, string Mix, int FtypeId, bool Pure, bool AllowRequantize);

    public static int Write(string outPath, string assets, string libDir)
    {
        var llama = new LlamaQuantizer(libDir);
        LlamaQuantizer.Verbose = false;
        var cases = new List<Case>();
        foreach (var spec in SyntheticQuantizeModels.Specs)
            foreach (var (name, id) in Mixes) cases.Add(new($"synthetic:{spec.Name}", name, id, false, false));
        foreach (bool pure in new[] { false, true })
            foreach (var (name, id) in Mixes) cases.Add(new("asset:stories260K-gguf/stories260K-f32.gguf", name, id, pure, false));
        foreach (var (name, id) in Mixes.Where(m => m.Name is "Q4_K_M" or "Q5_0" or "Q6_K" or "F16"))
            cases.Add(new("asset:synthetic-k256-gguf/synth-k256-Q8_0.gguf", name, id, false, true));
        foreach (var (name, id) in Mixes.Where(m => m.Name is "Q4_K_M" or "Q8_0"))
            cases.Add(new("asset:synthetic-k256-gguf/synth-k256-F16.gguf", name, id, false, false));

        string temp = Path.Combine(Path.GetTempPath(), "llamacpp-quantize-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(temp);
        try
        {
            var inputs = new Dictionary<string, string>();
            var results = new List<Dictionary<string, object>>();
            foreach (var c in cases)
            {
                if (!inputs.TryGetValue(c.Source, out string? input))
                {
                    input = c.Source.StartsWith("synthetic:")
                        ? Path.Combine(temp, c.Source["synthetic:".Length..] + ".gguf")
                        : Path.Combine(assets, c.Source["asset:".Length..]);
                    if (c.Source.StartsWith("synthetic:")) SyntheticQuantizeModels.Write(SyntheticQuantizeModels.Get(c.Source["synthetic:".Length..]), input);
                    inputs[c.Source] = input;
                }
                string output = Path.Combine(temp, "out.gguf");
                File.Delete(output);
                uint rc = llama.Quantize(input, output, c.FtypeId, c.Pure, c.AllowRequantize, threads: 2);
                var r = new Dictionary<string, object>
                {
                    ["source"] = c.Source, ["mix"] = c.Mix, ["pure"] = c.Pure, ["allow_requantize"] = c.AllowRequantize,
                    ["llama_model_quantize"] = rc,
                };
                if (rc == 0)
                {
                    r["output_sha256"] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(output)));
                    r["output_bytes"] = new FileInfo(output).Length;
                    using var file = GgufFile.Open(output);
                    r["tensor_types"] = string.Join(",", file.Tensors.Select(t => TensorTypeInfo.Get(t.Type).Name)); // in file order
                }
                results.Add(r);
                Console.WriteLine($"{c.Source} {c.Mix}{(c.Pure ? " --pure" : "")}{(c.AllowRequantize ? " --allow-requantize" : "")}: rc {rc}");
            }
            var doc = new Dictionary<string, object>
            {
                ["note"] = "llama.cpp's llama_model_quantize (no importance matrix, 2 threads) on synthetic models from " +
                           "tests/Cria.Tests/Quantization/SyntheticQuantizeModels.cs and on shared asset files: sha256 of the whole " +
                           "output file and its tensor types in file order (llama.cpp order: see LlamaTensorOrder). Made by tools/llamacpp-quantize ('digests').",
                ["library"] = new Dictionary<string, object>
                {
                    ["file"] = Path.GetFileName(llama.LlamaLibrary),
                    ["package"] = ReadPackage(libDir),
                    ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(llama.LlamaLibrary))),
                },
                ["cases"] = results,
            };
            File.WriteAllText(outPath, JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }) + "\n");
            Console.WriteLine($"wrote {results.Count} cases to {outPath}");
            return 0;
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    private static string ReadPackage(string libDir)
    {
        for (var dir = new DirectoryInfo(libDir); dir != null; dir = dir.Parent)
        {
            string pkg = Path.Combine(dir.FullName, "package.json");
            if (!File.Exists(pkg)) continue;
            using var json = JsonDocument.Parse(File.ReadAllText(pkg));
            return $"{json.RootElement.GetProperty("name").GetString()}@{json.RootElement.GetProperty("version").GetString()}";
        }
        return "unknown";
    }
}
