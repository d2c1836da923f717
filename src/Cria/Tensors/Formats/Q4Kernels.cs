using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

/// <summary>Dot for the 4-bit affine blocks (Q4_0, Q4_1). The 512-bit body turns each block into a 16-entry float
/// table (q·d + bias for q = 0…15) and looks the nibbles up with vpermps, which reads only the low 4 bits of each
/// index, so no masking and no int→float conversion is needed.</summary>
internal static unsafe class Q4Kernels<T> where T : struct, IAffineBlock32
{
    public static float Dot(byte* row, float* x, int n)
    {
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) return Dot512(row, x, n / 32);
        if (bits >= 256 && SimdTier.Has256) return Dot256(row, x, n / 32);
        if (bits >= 128 && SimdTier.Has128) return Dot128(row, x, n / 32);
        return DotScalar(row, x, n / 32);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot512(byte* b, float* x, int nb)
    {
        // q + Offset for the formats without a minimum, so their table is one multiply.
        var iota = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) + Vector512.Create(T.Offset);
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        var acc2 = Vector512<float>.Zero;
        var acc3 = Vector512<float>.Zero;
        int i = 0;
        for (; i + 2 <= nb; i += 2, b += 2 * T.Bytes, x += 64) // two blocks per step: a prefetch per 36-48 bytes is enough
        {
            Prefetch.Ahead(b);
            var t0 = Table512(b, iota);
            var q0 = WideLoad.U8x16(b + T.QsOffset);
            var t1 = Table512(b + T.Bytes, iota);
            var q1 = WideLoad.U8x16(b + T.Bytes + T.QsOffset);
            acc0 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32(t0, q0), Vector512.Load(x), acc0);
            acc1 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32(t0, q0 >>> 4), Vector512.Load(x + 16), acc1);
            acc2 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32(t1, q1), Vector512.Load(x + 32), acc2);
            acc3 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32(t1, q1 >>> 4), Vector512.Load(x + 48), acc3);
        }
        if (i < nb)
        {
            var t = Table512(b, iota);
            var q = WideLoad.U8x16(b + T.QsOffset);
            acc0 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32(t, q), Vector512.Load(x), acc0);
            acc1 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32(t, q >>> 4), Vector512.Load(x + 16), acc1);
        }
        return Vector512.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    /// <summary>The block's 16 weights for q = 0…15 (iota already holds q + Offset).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Table512(byte* b, Vector512<float> iota) =>
        T.HasMin ? Vector512.FusedMultiplyAdd(iota, Vector512.Create(T.Scale(b)), Vector512.Create(T.Min(b)))
            : iota * Vector512.Create(T.Scale(b));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot256(byte* b, float* x, int nb)
    {
        var low = Vector256.Create(0xF);
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        for (int i = 0; i < nb; i++, b += T.Bytes, x += 32)
        {
            Prefetch.Ahead(b);
            var d = Vector256.Create(T.Scale(b));
            var m = Vector256.Create(AffineBlock32<T>.Bias(b, T.Scale(b)));
            var q0 = WideLoad.U8x8(b + T.QsOffset);
            var q1 = WideLoad.U8x8(b + T.QsOffset + 8);
            acc0 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(q0 & low), d, m), Vector256.Load(x), acc0);
            acc1 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(q1 & low), d, m), Vector256.Load(x + 8), acc1);
            acc0 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(q0 >>> 4), d, m), Vector256.Load(x + 16), acc0);
            acc1 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(q1 >>> 4), d, m), Vector256.Load(x + 24), acc1);
        }
        return Vector256.Sum(acc0 + acc1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot128(byte* b, float* x, int nb)
    {
        var low = Vector128.Create(0xF);
        var acc0 = Vector128<float>.Zero;
        var acc1 = Vector128<float>.Zero;
        for (int i = 0; i < nb; i++, b += T.Bytes, x += 32)
        {
            var d = Vector128.Create(T.Scale(b));
            var m = Vector128.Create(AffineBlock32<T>.Bias(b, T.Scale(b)));
            for (int k = 0; k < 16; k += 4)
            {
                var q = WideLoad.U8x4(b + T.QsOffset + k);
                acc0 = Vector128.MultiplyAddEstimate(Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(q & low), d, m), Vector128.Load(x + k), acc0);
                acc1 = Vector128.MultiplyAddEstimate(Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(q >>> 4), d, m), Vector128.Load(x + k + 16), acc1);
            }
        }
        return Vector128.Sum(acc0 + acc1);
    }

    private static float DotScalar(byte* b, float* x, int nb)
    {
        float sum = 0;
        for (int i = 0; i < nb; i++, b += T.Bytes, x += 32)
        {
            byte* qs = b + T.QsOffset;
            float sq = 0, sx = 0;
            for (int j = 0; j < 16; j++)
            {
                sq += (qs[j] & 0xF) * x[j] + (qs[j] >> 4) * x[j + 16];
                sx += x[j] + x[j + 16];
            }
            sum += sq * T.Scale(b) + sx * AffineBlock32<T>.Bias(b, T.Scale(b));
        }
        return sum;
    }
}
