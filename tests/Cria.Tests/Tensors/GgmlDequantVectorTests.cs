using System.Buffers.Binary;
using System.Text.Json;
using Cria.Tensors;

namespace Cria.Tests.Tensors;

/// <summary>Dequantize is bit-identical to ggml's <c>to_float</c> on the vectors in Data/ggml-dequant-vectors.json,
/// made by tools/ggml-reference from libggml-base.so: random blocks with edge-case scales and ggml-quantised blocks of
/// every supported type (including Q4_1, Q5_1 and BF16, for which no model file exists), and every fp16/bf16 pattern.</summary>
[Collection(SimdTierCollection.Name)]
public sealed unsafe class GgmlDequantVectorTests
{
    private static readonly Lazy<JsonDocument> Fixture = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "ggml-dequant-vectors.json"))));

    private static IEnumerable<JsonElement> Cases => Fixture.Value.RootElement.GetProperty("cases").EnumerateArray();

    public static TheoryData<string, string> CaseNames()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in Cases.Where(c => BlockKernels.TryGet((GgmlType)c.GetProperty("ggml_type").GetInt32(), out _)))
            data.Add(c.GetProperty("type").GetString()!, c.GetProperty("case").GetString()!);
        return data;
    }

    [Fact]
    public void Fixture_covers_every_supported_type()
    {
        var covered = Cases.Select(c => (GgmlType)c.GetProperty("ggml_type").GetInt32()).ToHashSet();
        Assert.All(BlockKernels.SupportedTypes, t => Assert.Contains(t, covered));
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Dequantize_matches_ggml(string typeName, string caseName)
    {
        var c = Cases.Single(e => e.GetProperty("type").GetString() == typeName && e.GetProperty("case").GetString() == caseName);
        var type = (GgmlType)c.GetProperty("ggml_type").GetInt32();
        long elements = c.GetProperty("elements").GetInt64();
        byte[] data = c.TryGetProperty("data_base64", out var b64) ? Convert.FromBase64String(b64.GetString()!)
            : Generate(c.GetProperty("generator").GetString()!);
        Assert.Equal(TensorTypeInfo.Get(type).RowBytes(elements), data.Length);

        foreach (int tier in SimdTiers.All)
        {
            using var _ = SimdTiers.Use(tier);
            float[] y;
            fixed (byte* src = data) y = DequantDigest.Dequantize(type, src, elements);
            string[] first8 = c.GetProperty("first8").EnumerateArray().Select(e => e.GetString()!).ToArray();
            string[] last4 = c.GetProperty("last4").EnumerateArray().Select(e => e.GetString()!).ToArray();
            for (int i = 0; i < 8; i++)
                Assert.True(Bits(y[i]) == first8[i], $"{typeName}/{caseName} tier {tier}: element {i} is {DequantDigest.Show(y[i])}, ggml gives {first8[i]}");
            for (int i = 0; i < 4; i++)
                Assert.True(Bits(y[elements - 4 + i]) == last4[i],
                    $"{typeName}/{caseName} tier {tier}: element {elements - 4 + i} is {DequantDigest.Show(y[elements - 4 + i])}, ggml gives {last4[i]}");
            Assert.True(DequantDigest.Sha256(y) == c.GetProperty("dequant_f32le_sha256").GetString(),
                $"{typeName}/{caseName} tier {tier}: the dequantised array differs from ggml's (first8/last4 agree)");
        }
    }

    private static string Bits(float f) => $"0x{BitConverter.SingleToUInt32Bits(f):x8}";

    private static byte[] Generate(string generator)
    {
        Assert.Equal("u16-all", generator);
        byte[] data = new byte[65536 * 2];
        for (int i = 0; i < 65536; i++) BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(2 * i), (ushort)i);
        return data;
    }
}
