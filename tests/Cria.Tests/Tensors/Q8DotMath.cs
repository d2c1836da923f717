using System.Buffers.Binary;
using Cria.Tensors;
using Cria.Tensors.Activations;

namespace Cria.Tests.Tensors;

/// <summary>Independent arithmetic for the DotQ8 tests: quantised activations read back as d·q (in double, from the
/// block layouts ggml-common.h defines), the exact dot with dequantised weights, and its scale Σ|w·x|.</summary>
public static unsafe class Q8DotMath
{
    /// <summary>d·q of the first <paramref name="n"/> activations: Q8_0 { fp16 d; int8 qs[32] }, Q8_1 { fp16 d; fp16 s;
    /// int8 qs[32] } (s is not a value), Q8_K { float d; int8 qs[256]; int16 bsums[16] }.</summary>
    public static double[] Dequantize(ActivationType type, ReadOnlySpan<byte> blocks, int n)
    {
        int block = ActivationLayout.BlockElements(type), bytes = ActivationLayout.BlockBytes(type);
        int qs = type == ActivationType.Q8_0 ? 2 : 4;
        var x = new double[n];
        for (int i = 0; i < n; i++)
        {
            var b = blocks[(i / block * bytes)..];
            double d = type == ActivationType.Q8_K ? BinaryPrimitives.ReadSingleLittleEndian(b) : (double)BinaryPrimitives.ReadHalfLittleEndian(b);
            x[i] = d * (sbyte)b[qs + i % block];
        }
        return x;
    }

    /// <summary>Cria's dequantisation of the first <paramref name="n"/> weights (bit-identical to ggml's to_float,
    /// checked by <see cref="GgmlDequantVectorTests"/>).</summary>
    public static float[] Weights(GgmlType type, byte[] row, int n)
    {
        fixed (byte* p = row) return DequantDigest.Dequantize(type, p, n);
    }

    /// <summary>Σ w·x and Σ|w·x| in double (each product of a float and a d·q is exact in double but for the last bits).</summary>
    public static (double Exact, double SumAbs) Dot(float[] w, double[] x)
    {
        double exact = 0, sumAbs = 0;
        for (int i = 0; i < w.Length; i++)
        {
            double p = w[i] * x[i];
            exact += p;
            sumAbs += Math.Abs(p);
        }
        return (exact, sumAbs);
    }

    /// <summary>What ggml's Q4_1/Q5_1 dot differs from the dequantised dot by, by design: it multiplies each block's
    /// minimum m by the activations' stored <c>s = fp16(d·Σq)</c>, not by the exact <c>d·Σq</c>; this is Σ|m·(s − d·Σq)|
    /// over the blocks (0 for the other types).</summary>
    public static double MinimumTimesSumRounding(GgmlType type, byte[] weights, ReadOnlySpan<byte> activations, int n)
    {
        if (type is not (GgmlType.Q4_1 or GgmlType.Q5_1)) return 0;
        int weightBytes = TensorTypeInfo.Get(type).BlockBytes;
        double total = 0;
        for (int b = 0; b < n / 32; b++)
        {
            double m = (double)BinaryPrimitives.ReadHalfLittleEndian(weights.AsSpan(b * weightBytes + 2));
            var a = activations[(b * 36)..];
            double d = (double)BinaryPrimitives.ReadHalfLittleEndian(a), s = (double)BinaryPrimitives.ReadHalfLittleEndian(a[2..]);
            int sum = 0;
            for (int j = 0; j < 32; j++) sum += (sbyte)a[4 + j];
            total += Math.Abs(m * (s - d * sum));
        }
        return total;
    }

    /// <summary>The registered integer dot of <paramref name="type"/> over the first <paramref name="n"/> elements.</summary>
    public static float DotQ8(GgmlType type, byte[] weights, byte[] activations, int n)
    {
        Assert.True(QuantizedDotKernels.TryGet(type, out var kernels), $"{type} has no integer dot");
        fixed (byte* w = weights)
        fixed (byte* a = activations)
            return kernels.DotQ8(w, a, n);
    }

    public static string Show(float f) => $"{f:R} (0x{BitConverter.SingleToUInt32Bits(f):x8})";
}
