using Cria.Tensors;
using Cria.Tensors.Activations;
using Xunit.Abstractions;

namespace Cria.Tests.Tensors;

/// <summary>Every DotQ8 body (AVX-512BW, AVX2, scalar) of every weight type agrees with ggml's own <c>vec_dot</c> on
/// the rows of Data/ggml-q8-dot-vectors.json: random blocks with edge-case scales and ggml-quantised weights, against
/// ggml's quantised activations of five kinds of row, over 1 … 9, 16, 33 and 64 blocks of 32 (every tail of the
/// two-blocks-per-vector, four-blocks-per-step 512-bit loops) or 1 … 5, 8 and 16 blocks of 256.
/// Tolerance: |Cria − ggml| ≤ 2e-6 · Σ|w·x| (w, x dequantised). The integer block sums are the same on both sides; only
/// the float accumulation differs (ggml sums blocks into one 8-lane vector, Cria into two 16-lane ones or per block), so
/// the difference is a few float32 roundings of the running sum. The largest seen is 7.0e-7 (Q5_K, AVX2 body); ggml's
/// own CPU variants differ from one another by up to 7.1e-7 on these rows (recorded in the fixture). A wrong scale,
/// quant, sign or block moves a result by orders of magnitude more.</summary>
[Collection(SimdTierCollection.Name)]
public sealed class DotQ8GgmlVectorTests(ITestOutputHelper output)
{
    private const double Tolerance = 2e-6;

    public static TheoryData<GgmlType, int> TypesByTier()
    {
        var data = new TheoryData<GgmlType, int>();
        foreach (var type in QuantizedDotKernels.SupportedTypes.Order())
            foreach (int tier in SimdTiers.All) data.Add(type, tier);
        return data;
    }

    [Fact]
    public void Each_type_multiplies_ggml_vec_dot_type()
    {
        foreach (var type in QuantizedDotKernels.SupportedTypes)
        {
            Assert.True(QuantizedDotKernels.TryGet(type, out var kernels));
            Assert.Equal(type, kernels.WeightType);
            var groups = Q8DotFixture.Dots.Where(d => d.GetProperty("ggml_type").GetInt32() == (int)type).ToList();
            Assert.Equal(2 * ActivationInputs.DotCases.Length, groups.Count);
            // The generator read type_traits_cpu[type].vec_dot_type from ggml and recorded it with each group.
            Assert.All(groups, g => Assert.Equal(Q8DotFixture.ActivationTypeOf(g.GetProperty("activation_type").GetString()!), kernels.ActivationType));
        }
    }

    [Theory]
    [MemberData(nameof(TypesByTier))]
    public void DotQ8_matches_ggml_vec_dot(GgmlType type, int tier)
    {
        Assert.True(QuantizedDotKernels.TryGet(type, out var kernels));
        double worst = 0;
        int compared = 0;
        using var _ = SimdTiers.Use(tier);
        foreach (var group in Q8DotFixture.Dots.Where(d => d.GetProperty("ggml_type").GetInt32() == (int)type))
        {
            string weightsCase = group.GetProperty("weights").GetString()!, activationCase = group.GetProperty("activations").GetString()!;
            byte[] weights = Q8DotFixture.Weights(type, weightsCase);
            byte[] activations = Q8DotFixture.Activation(kernels.ActivationType, activationCase).Quantized;
            int[] lengths = group.GetProperty("elements").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            string[] expected = group.GetProperty("dot_f32_bits").EnumerateArray().Select(e => e.GetString()!).ToArray();
            for (int k = 0; k < lengths.Length; k++)
            {
                int n = lengths[k];
                float ggml = BitConverter.UInt32BitsToSingle(Convert.ToUInt32(expected[k], 16));
                float cria = Q8DotMath.DotQ8(type, weights, activations, n);
                var (_, sumAbs) = Q8DotMath.Dot(Q8DotMath.Weights(type, weights, n), Q8DotMath.Dequantize(kernels.ActivationType, activations, n));
                string where = $"{type} tier {tier} (runs {SimdTier.Effective(tier)}), {weightsCase} x {activationCase}, n = {n}";
                Assert.True(float.IsFinite(ggml), $"{where}: the fixture's dot is {ggml} (its rows are meant to be finite)");
                double difference = Math.Abs((double)cria - ggml);
                Assert.True(difference <= Tolerance * sumAbs,
                    $"{where}: DotQ8 = {Q8DotMath.Show(cria)}, ggml vec_dot = {Q8DotMath.Show(ggml)}, difference {difference:E2} > " +
                    $"{Tolerance:E0} x sum|w*x| = {Tolerance * sumAbs:E2}");
                if (sumAbs > 0) worst = Math.Max(worst, difference / sumAbs);
                compared++;
            }
        }
        Assert.True(compared >= 70, $"only {compared} dot products compared");
        output.WriteLine($"{type} tier {tier}: {compared} dot products, largest |Cria - ggml| / sum|w*x| = {worst:E2}");
    }
}
