using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cria.Tensors.Formats;

namespace Cria.Tensors.Activations;

/// <summary>The quantiser of <c>block_q8_0</c> and <c>block_q8_1</c> activations exactly as ggml's CPU backend runs it
/// on x86 (<c>quantize_row_q8_0</c> / <c>quantize_row_q8_1</c> in ggml-cpu/arch/x86/quants.c, AVX2 path): per block of
/// 32, <c>amax = max|x|</c>, <c>d = amax/127</c> stored as fp16, <c>id = 127/amax</c> (0 for an all-zero block), and
/// <c>qs = cvtps2dq(round_nearest_even(x·id))</c> packed with signed saturation. Unlike <c>quantize_row_q8_0_ref</c>
/// (which multiplies by <c>1/d</c> and rounds half away from zero) this gives different bytes on ties and near them.
/// Q8_1 also stores <c>s = fp16(d·Σqs)</c> (the sum of the 32-bit integers, before saturation).
/// The 256-bit body is ggml's instruction sequence; the scalar body emulates it operation by operation, including
/// vmaxps's NaN rule (the second operand wins) in ggml's reduction order, so every tier writes the same bytes.</summary>
internal static unsafe class Block32Quantizer
{
    /// <summary>Quantises <paramref name="n"/> floats (a multiple of 32) into blocks of 34 bytes (d, then the 32 quants)
    /// or, <paramref name="withSum"/>, 36 bytes (d, s, quants).</summary>
    public static void Quantize(float* x, byte* y, int n, bool withSum)
    {
        if (n < 0 || n % 32 != 0) throw new ArgumentException($"{n} activations: not a whole number of blocks of 32", nameof(n));
        if (SimdTier.MaxVectorBits >= 256 && SimdTier.Has256) Quantize256(x, y, n / 32, withSum);
        else QuantizeScalar(x, y, n / 32, withSum);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Quantize256(float* x, byte* y, int nb, bool withSum)
    {
        var signBit = Vector256.Create(-0.0f);
        var order = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
        int qsOffset = withSum ? 4 : 2;
        for (int i = 0; i < nb; i++, x += 32, y += qsOffset + 32)
        {
            var v0 = Vector256.Load(x);
            var v1 = Vector256.Load(x + 8);
            var v2 = Vector256.Load(x + 16);
            var v3 = Vector256.Load(x + 24);
            var maxAbs = Avx.AndNot(signBit, v0);
            maxAbs = Avx.Max(maxAbs, Avx.AndNot(signBit, v1));
            maxAbs = Avx.Max(maxAbs, Avx.AndNot(signBit, v2));
            maxAbs = Avx.Max(maxAbs, Avx.AndNot(signBit, v3));
            var max4 = Sse.Max(maxAbs.GetUpper(), maxAbs.GetLower());
            max4 = Sse.Max(max4, Sse.MoveHighToLow(max4, max4));
            max4 = Sse.MaxScalar(max4, Sse3.MoveHighAndDuplicate(max4));
            float maxScalar = max4.ToScalar();

            float d = maxScalar / 127f;
            Unsafe.WriteUnaligned(y, HalfOf(d));
            float id = maxScalar != 0.0f ? 127f / maxScalar : 0.0f;
            var mul = Vector256.Create(id);
            var i0 = Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(v0 * mul));
            var i1 = Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(v1 * mul));
            var i2 = Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(v2 * mul));
            var i3 = Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(v3 * mul));
            if (withSum) Unsafe.WriteUnaligned(y + 2, HalfOf(d * Vector256.Sum((i0 + i1) + (i2 + i3))));
            // Packing works within 128-bit lanes; the permute puts the 32 bytes back in order.
            var packed = Avx2.PackSignedSaturate(Avx2.PackSignedSaturate(i0, i1), Avx2.PackSignedSaturate(i2, i3));
            Avx2.PermuteVar8x32(packed.AsInt32(), order).Store((int*)(y + qsOffset));
        }
    }

    private static void QuantizeScalar(float* x, byte* y, int nb, bool withSum)
    {
        float* lanes = stackalloc float[8];
        int qsOffset = withSum ? 4 : 2;
        for (int i = 0; i < nb; i++, x += 32, y += qsOffset + 32)
        {
            // The lane-wise maximum of the four vectors of 8, then ggml's 8 → 4 → 2 → 1 reduction.
            for (int l = 0; l < 8; l++)
            {
                float m = MathF.Abs(x[l]);
                m = VMax(m, MathF.Abs(x[8 + l]));
                m = VMax(m, MathF.Abs(x[16 + l]));
                lanes[l] = VMax(m, MathF.Abs(x[24 + l]));
            }
            for (int l = 0; l < 4; l++) lanes[l] = VMax(lanes[4 + l], lanes[l]);
            for (int l = 0; l < 2; l++) lanes[l] = VMax(lanes[l], lanes[l + 2]);
            float maxScalar = VMax(lanes[0], lanes[1]);

            float d = maxScalar / 127f;
            Unsafe.WriteUnaligned(y, HalfOf(d));
            float id = maxScalar != 0.0f ? 127f / maxScalar : 0.0f;
            sbyte* qs = (sbyte*)(y + qsOffset);
            int sum = 0;
            for (int j = 0; j < 32; j++)
            {
                int q = ConvertToInt32(MathF.Round(x[j] * id)); // MathF.Round rounds half to even, as vroundps does here
                sum = unchecked(sum + q);
                qs[j] = (sbyte)Math.Clamp(q, -128, 127);       // vpackssdw then vpacksswb: signed saturation
            }
            if (withSum) Unsafe.WriteUnaligned(y + 2, HalfOf(d * sum));
        }
    }

    /// <summary>ggml's <c>GGML_CPU_FP32_TO_FP16</c> on x86 (<c>_cvtss_sh(x, 0)</c>, F16C): round to nearest even, and
    /// a NaN keeps its sign and the top 10 bits of its payload, quietened (ggml-base's software encoder writes 0x7E00).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ushort HalfOf(float f)
    {
        if (!float.IsNaN(f)) return Fp16.FromSingle(f);
        uint bits = BitConverter.SingleToUInt32Bits(f);
        return (ushort)(((bits >> 16) & 0x8000) | 0x7E00 | ((bits >> 13) & 0x3FF));
    }

    /// <summary>vmaxps on one lane: <c>a &gt; b ? a : b</c>, so a NaN in either operand yields <paramref name="b"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float VMax(float a, float b) => a > b ? a : b;

    /// <summary>cvtps2dq of an already integral value: the "integer indefinite" int.MinValue for NaN and out-of-range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ConvertToInt32(float r) => r >= -2147483648f && r < 2147483648f ? (int)r : int.MinValue;
}
