using System.Text.Json;
using Cria.Formats.Gguf;
using Cria.Tensors;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Tensors;

/// <summary>Every tensor of every GGUF file in the shared assets dequantises to llama.cpp's digest
/// (<c>llamacpp-reference.json</c>: sha256 of the float32 array, first16, last4), with every kernel width.</summary>
[Collection(SimdTierCollection.Name)]
public sealed unsafe class LlamaCppDequantDigestTests
{
    private static readonly string[] Folders = ["synthetic-k256-gguf", "stories260K-gguf"];

    public static TheoryData<string, string> Files()
    {
        var data = new TheoryData<string, string>();
        foreach (string folder in Folders)
            foreach (var file in Reference(folder).GetProperty("files").EnumerateObject())
                data.Add(folder, file.Name);
        return data;
    }

    private static JsonElement Reference(string folder) =>
        JsonDocument.Parse(File.ReadAllText(TestAssets.Path(Path.Combine(folder, "llamacpp-reference.json")))).RootElement;

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_tensor_matches_llama_cpp(string folder, string file)
    {
        var expected = Reference(folder).GetProperty("files").GetProperty(file).GetProperty("tensors");
        using var gguf = GgufFile.Open(TestAssets.Path(Path.Combine(folder, file)));
        Assert.Equal(gguf.Tensors.Count, expected.GetArrayLength());
        var failures = new List<string>();
        foreach (int tier in SimdTiers.All)
        {
            using var _ = SimdTiers.Use(tier);
            foreach (var t in expected.EnumerateArray())
            {
                string name = t.GetProperty("name").GetString()!;
                Assert.True(gguf.TryGetTensor(name, out var info), $"{file}: no tensor '{name}'");
                Assert.Equal(t.GetProperty("type").GetString(), TensorTypeInfo.Get(info.Type).Name, StringComparer.OrdinalIgnoreCase);
                long[] ne = t.GetProperty("ne").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                Assert.Equal(TrimOnes(ne), TrimOnes(info.Dimensions));

                float[] y = DequantDigest.Dequantize(info.Type, gguf.TensorData(info), info.ElementCount);
                if (DequantDigest.Sha256(y) == t.GetProperty("dequant_f32le_sha256").GetString()) continue;
                failures.Add($"tier {tier}: {name} ({info.Type}) {Describe(y, t)}");
            }
        }
        Assert.True(failures.Count == 0, $"{file}: dequantised tensors differ from llama.cpp:\n" + string.Join("\n", failures));
    }

    // llama.cpp lists ne with trailing 1s ([256, 1]); the file may store fewer dimensions.
    private static long[] TrimOnes(long[] ne) => ne.Reverse().SkipWhile(d => d == 1).Reverse().DefaultIfEmpty(1).ToArray();

    private static string Describe(float[] y, JsonElement t)
    {
        float[] first = t.GetProperty("first16").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        float[] last = t.GetProperty("last4").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        for (int i = 0; i < first.Length; i++)
            if (y[i] != first[i]) return $"element {i}: {DequantDigest.Show(y[i])}, llama.cpp {DequantDigest.Show(first[i])}";
        for (int i = 0; i < last.Length; i++)
            if (y[y.Length - last.Length + i] != last[i])
                return $"element {y.Length - last.Length + i}: {DequantDigest.Show(y[y.Length - last.Length + i])}, llama.cpp {DequantDigest.Show(last[i])}";
        return "sha256 differs somewhere between first16 and last4";
    }
}
