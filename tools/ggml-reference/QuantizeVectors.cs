using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using Cria.Tests.Tensors;

namespace GgmlReference;

/// <summary>Writes tests/Cria.Tests/Data/ggml-quantize-vectors.json: for every type Cria quantises, float inputs made by
/// <see cref="QuantizeInputs"/> (compiled from the test project, so both sides generate the same floats) and what ggml's
/// own <c>ggml_quantize_chunk</c> (no importance matrix, as llama-quantize without --imatrix) makes of them.</summary>
internal static class QuantizeVectors
{
    // (ggml id, name, block elements, block bytes, blocks of "mixed" input)
    private static readonly (int Id, string Name, int Block, int Bytes, int MixedBlocks)[] Types =
    [
        (1, "f16", 1, 2, 0),
        (30, "bf16", 1, 2, 0),
        (8, "q8_0", 32, 34, 64),
        (2, "q4_0", 32, 18, 64),
        (3, "q4_1", 32, 20, 64),
        (6, "q5_0", 32, 22, 64),
        (7, "q5_1", 32, 24, 64),
        (10, "q2_K", 256, 84, 10),
        (11, "q3_K", 256, 110, 10),
        (12, "q4_K", 256, 144, 10),
        (13, "q5_K", 256, 176, 10),
        (14, "q6_K", 256, 210, 10),
    ];

    public static int Write(Ggml ggml, string libPath, string packageVersion, string outPath)
    {
        var cases = new List<Dictionary<string, object>>();
        foreach (var t in Types)
        {
            var traits = ggml.GetTraits(t.Id, t.Name, t.Block, t.Bytes, null);
            ulong seed = 0x51A7_0000UL + (ulong)t.Id;
            if (t.Block == 1)
            {
                cases.Add(Case(ggml, t.Id, t.Name, t.Bytes, "f32-sweep", seed, 0, 256, storeOutput: false));
                cases.Add(Case(ggml, t.Id, t.Name, t.Bytes, "mixed", seed, 16, 256, storeOutput: true));
                cases.Add(Case(ggml, t.Id, t.Name, t.Bytes, "edge", seed, 0, 256, storeOutput: true));
                cases.Add(Case(ggml, t.Id, t.Name, t.Bytes, "nonfinite", seed, 0, 256, storeOutput: true));
                continue;
            }
            cases.Add(Case(ggml, t.Id, t.Name, t.Bytes, "mixed", seed, t.MixedBlocks, t.Block, storeOutput: true));
            cases.Add(Case(ggml, t.Id, t.Name, t.Bytes, "edge", seed, 0, t.Block, storeOutput: true));
            cases.Add(Case(ggml, t.Id, t.Name, t.Bytes, "nonfinite", seed, 0, t.Block, storeOutput: true));
        }
        var doc = new Dictionary<string, object>
        {
            ["note"] = "Quantisation vectors made by tools/ggml-reference ('quantize' mode): inputs from tests/Cria.Tests/Tensors/QuantizeInputs.cs " +
                       "(generator, seed, blocks of row_length elements; the sha256 of the float32 LE input guards against drift) and " +
                       "ggml_quantize_chunk(type, x, y, 0, rows, row_length, imatrix = NULL) over rows of row_length elements, as llama-quantize " +
                       "calls it. 'ggml_valid' is ggml_validate_row_data on the result (llama-quantize rejects invalid data). 'f32-sweep' stores " +
                       "only the sha256 of the output; the others store it base64.",
            ["library"] = new Dictionary<string, object>
            {
                ["file"] = Path.GetFileName(libPath),
                ["package"] = packageVersion,
                ["ggml_version"] = ggml.Version,
                ["ggml_commit"] = ggml.Commit,
                ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(libPath))),
            },
            ["cases"] = cases,
        };
        File.WriteAllText(outPath, JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        Console.WriteLine($"wrote {cases.Count} quantisation cases to {outPath} (ggml {ggml.Version} {ggml.Commit}, {packageVersion})");
        return 0;
    }

    private static Dictionary<string, object> Case(Ggml ggml, int id, string name, int blockBytes, string generator, ulong seed,
        int blocks, int rowLength, bool storeOutput)
    {
        float[] x = QuantizeInputs.Generate(generator, seed, blocks, rowLength);
        int blockElements = id is 1 or 30 ? 1 : rowLength;
        long rows = x.Length / rowLength;
        long rowBytes = rowLength / blockElements * blockBytes;
        byte[] y = ggml.QuantizeChunk(id, x, rows, rowLength, rowBytes);
        byte[] input = new byte[x.Length * 4];
        for (int i = 0; i < x.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(input.AsSpan(4 * i), x[i]);
        var c = new Dictionary<string, object>
        {
            ["type"] = name,
            ["ggml_type"] = id,
            ["case"] = generator,
            ["generator"] = generator,
            ["seed"] = seed,
            ["blocks"] = blocks,
            ["row_length"] = rowLength,
            ["elements"] = x.Length,
            ["input_f32le_sha256"] = Convert.ToHexStringLower(SHA256.HashData(input)),
            ["quantized_sha256"] = Convert.ToHexStringLower(SHA256.HashData(y)),
            ["ggml_valid"] = ggml.ValidateRowData(id, y),
        };
        if (storeOutput) c["quantized_base64"] = Convert.ToBase64String(y);
        return c;
    }
}
