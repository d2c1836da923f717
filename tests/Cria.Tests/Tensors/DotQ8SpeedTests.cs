using System.Diagnostics;
using Cria.Tensors;
using Cria.Tensors.Activations;
using Xunit.Abstractions;

namespace Cria.Tests.Tensors;

/// <summary>The vector DotQ8 bodies are no slower than 2.5x the float Dot of the same weights at the same width. The
/// integer path exists to be faster: on the Zen 4 development machine, with these 512 rows in cache, it takes 0.24–0.89x
/// the float dot's time. A scale-shuffle control built from two Vector64s (compiled through the stack, a store-forwarding
/// stall per sub-block) made the AVX2 Q2_K, Q3_K and Q6_K bodies 2.5–7x slower than the float dot. Both are timed in the
/// same process, alternately, keeping the fastest of 15 runs, so a busy machine slows both alike.</summary>
[Collection(SimdTierCollection.Name)]
public sealed unsafe class DotQ8SpeedTests(ITestOutputHelper output)
{
    private const int Rows = 512, Cols = 4096;
    private const double MaxRatio = 2.5;

    public static TheoryData<GgmlType, int> TypesByVectorTier()
    {
        var data = new TheoryData<GgmlType, int>();
        foreach (var type in QuantizedDotKernels.SupportedTypes.Order())
            foreach (int tier in new[] { 512, 256 }) data.Add(type, tier);
        return data;
    }

    [Theory]
    [MemberData(nameof(TypesByVectorTier))]
    public void DotQ8_is_not_far_slower_than_the_float_dot(GgmlType type, int tier)
    {
        if (SimdTier.Effective(tier) != tier)
        {
            output.WriteLine($"{type}: this machine has no {tier}-bit body (it would time the {SimdTier.Effective(tier)}-bit one)");
            return;
        }
        Assert.True(QuantizedDotKernels.TryGet(type, out var kernels));
        var info = TensorTypeInfo.Get(type);
        var floatDot = BlockKernels.Get(type, "speed");
        byte[] weights = TestBlocks.Random(type, Rows * Cols / info.BlockElements, new Random(7));
        float[] x = TestBlocks.Activations(Cols, new Random(8));
        byte[] activations = new byte[ActivationLayout.RowBytes(kernels.ActivationType, Cols)];
        float[] y = new float[Rows];
        long rowBytes = info.RowBytes(Cols);
        using var _ = SimdTiers.Use(tier);
        double bestFloat = double.MaxValue, bestInteger = double.MaxValue;
        fixed (byte* w = weights)
        fixed (float* px = x)
        fixed (byte* a = activations)
        fixed (float* py = y)
            for (int run = 0; run < 16; run++) // run 0 warms up (and JIT-compiles) both
            {
                var clock = Stopwatch.StartNew();
                for (int r = 0; r < Rows; r++) py[r] = floatDot.Dot(w + r * rowBytes, px, Cols);
                double floatTime = clock.Elapsed.TotalMicroseconds;
                clock.Restart();
                kernels.QuantizeActivations(px, a, Cols);
                for (int r = 0; r < Rows; r++) py[r] = kernels.DotQ8(w + r * rowBytes, a, Cols);
                double integerTime = clock.Elapsed.TotalMicroseconds;
                if (run == 0) continue;
                bestFloat = Math.Min(bestFloat, floatTime);
                bestInteger = Math.Min(bestInteger, integerTime);
            }
        double ratio = bestInteger / bestFloat;
        output.WriteLine($"{type} {tier}-bit: float Dot {bestFloat:F0} us, quantise + DotQ8 {bestInteger:F0} us, ratio {ratio:F2}");
        Assert.True(ratio <= MaxRatio,
            $"{type} {tier}-bit: quantise + DotQ8 over {Rows} x {Cols} took {bestInteger:F0} us, {ratio:F1}x the float Dot's {bestFloat:F0} us (limit {MaxRatio}x)");
    }
}
