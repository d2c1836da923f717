using Cria.Tensors.Activations;

namespace Cria.Tests.Tensors;

/// <summary>The activation quantisers (Q8_0, Q8_1, Q8_K) write exactly ggml's bytes on every SIMD tier, on the rows of
/// Data/ggml-q8-dot-vectors.json: what ggml's x86 CPU backend's <c>from_float</c> makes of normal rows, magnitudes from
/// 1e-6 to 300 (an fp16 scale that underflows), zero blocks, exact and near ties (the AVX2 rounding, not _ref's),
/// outliers and equal extremes of opposite sign, and NaN/inf and scales that overflow.</summary>
[Collection(SimdTierCollection.Name)]
public sealed unsafe class Q8ActivationGgmlVectorTests
{
    public static TheoryData<string, string, int> Rows()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var a in Q8DotFixture.Activations)
            foreach (int tier in SimdTiers.All)
                data.Add(a.GetProperty("type").GetString()!, a.GetProperty("case").GetString()!, tier);
        return data;
    }

    [Fact]
    public void Fixture_covers_every_activation_type_and_case()
    {
        var cases = ActivationInputs.DotCases.Concat(ActivationInputs.QuantizeOnlyCases).ToArray();
        foreach (var type in Enum.GetValues<ActivationType>())
            Assert.Equal(cases, Q8DotFixture.Activations.Where(a => Q8DotFixture.ActivationTypeOf(a.GetProperty("type").GetString()!) == type)
                .Select(a => a.GetProperty("case").GetString()!).ToArray());
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Quantizer_writes_ggml_bytes(string typeName, string caseName, int tier)
    {
        var type = Q8DotFixture.ActivationTypeOf(typeName);
        var (x, expected) = Q8DotFixture.Activation(type, caseName);
        int blockBytes = ActivationLayout.BlockBytes(type), blockElements = ActivationLayout.BlockElements(type);
        Assert.Equal(ActivationLayout.RowBytes(type, x.Length), expected.Length);

        byte[] y = new byte[expected.Length];
        y.AsSpan().Fill(0xCD); // every byte must be written, bsums of zero blocks included
        using (SimdTiers.Use(tier))
            fixed (float* px = x)
            fixed (byte* py = y)
                QuantizedDotKernels.ActivationQuantizer(type)(px, py, x.Length);

        int at = expected.AsSpan().CommonPrefixLength(y);
        Assert.True(at == expected.Length,
            $"{typeName}/{caseName} tier {tier}: first difference at byte {at} (block {at / blockBytes}, offset {at % blockBytes}; " +
            $"inputs {Show(x, at / blockBytes * blockElements, blockElements)}): ggml {Hex(expected, at)}, Cria {Hex(y, at)}");
    }

    private static string Hex(byte[] bytes, int at) => Convert.ToHexStringLower(bytes, at, Math.Min(8, bytes.Length - at));

    private static string Show(float[] x, int start, int count) =>
        string.Join(" ", x.Skip(start).Take(Math.Min(count, 8)).Select(v => v.ToString("R"))) + (count > 8 ? " …" : "");
}
