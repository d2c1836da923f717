using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using Cria.Quantization;
using Cria.Tensors;

namespace Cria.Tests.Tensors;

/// <summary>Quantize is bit-identical to ggml's own <c>ggml_quantize_chunk</c> (no importance matrix, as llama-quantize
/// calls it) on the vectors in Data/ggml-quantize-vectors.json, made by tools/ggml-reference from libggml-base.so:
/// every type Cria computes with, including Q4_1, Q5_0, Q5_1 and BF16 that no asset file covers, on realistic rows,
/// edge-case blocks (zeros, ties, a huge value, subnormals, fp16 overflow) and NaN/inf input, plus a sweep of float bit
/// patterns through the fp16 and bf16 conversions. ggml's verdict on each result (ggml_validate_row_data) must match
/// <see cref="TensorDataValidator"/>. Every case runs both the eight-lane K-quant searches and the scalar ones.</summary>
[Collection(SimdTierCollection.Name)]
public sealed unsafe class QuantizeGgmlVectorTests
{
    private static readonly Lazy<JsonDocument> Fixture = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "ggml-quantize-vectors.json"))));

    private static IEnumerable<JsonElement> Cases => Fixture.Value.RootElement.GetProperty("cases").EnumerateArray();

    public static TheoryData<string, string> CaseNames()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in Cases) data.Add(c.GetProperty("type").GetString()!, c.GetProperty("case").GetString()!);
        return data;
    }

    [Fact]
    public void Fixture_covers_every_type_but_F32()
    {
        var covered = Cases.Select(c => (GgmlType)c.GetProperty("ggml_type").GetInt32()).ToHashSet();
        Assert.All(BlockKernels.SupportedTypes.Where(t => t != GgmlType.F32), t => Assert.Contains(t, covered));
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Quantize_matches_ggml(string typeName, string caseName)
    {
        var c = Cases.Single(e => e.GetProperty("type").GetString() == typeName && e.GetProperty("case").GetString() == caseName);
        var type = (GgmlType)c.GetProperty("ggml_type").GetInt32();
        var info = TensorTypeInfo.Get(type);
        int rowLength = c.GetProperty("row_length").GetInt32();
        float[] x = QuantizeInputs.Generate(c.GetProperty("generator").GetString()!, c.GetProperty("seed").GetUInt64(),
            c.GetProperty("blocks").GetInt32(), rowLength);
        Assert.Equal(c.GetProperty("elements").GetInt32(), x.Length);
        Assert.True(Sha256(x) == c.GetProperty("input_f32le_sha256").GetString(), "the regenerated input differs from the fixture's");

        byte[] y = new byte[info.RowBytes(x.Length)];
        var kernels = BlockKernels.Get(type, caseName);
        foreach (int tier in QuantizeTiers)
        {
            using var _ = SimdTiers.Use(tier);
            fixed (float* src = x)
            fixed (byte* dst = y)
                for (int row = 0; row < x.Length / rowLength; row++)
                    kernels.Quantize(src + (long)row * rowLength, dst + info.RowBytes((long)row * rowLength), rowLength);

            if (c.TryGetProperty("quantized_base64", out var b64))
            {
                byte[] expected = Convert.FromBase64String(b64.GetString()!);
                int at = expected.AsSpan().CommonPrefixLength(y);
                Assert.True(at == expected.Length && y.Length == expected.Length,
                    $"{typeName}/{caseName} tier {tier}: first difference at byte {at} (block {at / info.BlockBytes}, offset {at % info.BlockBytes}" +
                    $"{BlockName(caseName, at / info.BlockBytes * info.BlockElements / rowLength)}): ggml {Hex(expected, at)}, Cria {Hex(y, at)}");
            }
            Assert.True(c.GetProperty("quantized_sha256").GetString() == Convert.ToHexStringLower(SHA256.HashData(y)), $"tier {tier}: digest differs");
        }

        bool valid;
        fixed (byte* p = y) valid = TensorDataValidator.FindInvalid(type, p, TensorDataValidator.Units(type, x.Length)) < 0;
        Assert.Equal(c.GetProperty("ggml_valid").GetBoolean(), valid);
    }

    /// <summary>The eight-lane searches (256-bit vectors) and the scalar ones.</summary>
    internal static readonly int[] QuantizeTiers = [256, 0];

    private static string BlockName(string caseName, int index) => caseName switch
    {
        "edge" when index < QuantizeInputs.EdgeBlocks.Length => $", input block '{QuantizeInputs.EdgeBlocks[index]}'",
        "nonfinite" when index < QuantizeInputs.NonFiniteBlocks.Length => $", input block '{QuantizeInputs.NonFiniteBlocks[index]}'",
        _ => "",
    };

    private static string Hex(byte[] data, int at) => at < data.Length ? $"{data[at]:x2}" : "(end)";

    private static string Sha256(float[] x)
    {
        byte[] bytes = new byte[x.Length * 4];
        for (int i = 0; i < x.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), x[i]);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }
}
