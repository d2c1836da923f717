using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

/// <summary>Q4_K: super-blocks of 256 4-bit values in 8 sub-blocks of 32, 144 bytes (ggml-common.h):
/// <code>typedef struct {
///     ggml_half d;        // super-block scale for the scales
///     ggml_half dmin;     // super-block scale for the mins
///     uint8_t scales[12]; // 8 6-bit scales and 8 6-bit mins, packed (get_scale_min_k4)
///     uint8_t qs[128];    // element 64j + l (l &lt; 32): qs[32j + l] &amp; 0xF, sub-block 2j;
///                         // element 64j + 32 + l: qs[32j + l] &gt;&gt; 4, sub-block 2j + 1
/// } block_q4_K;           // value = d*scale * q - dmin*min</code></summary>
public readonly unsafe partial struct Q4_KFormat : IBlockFormat
{
    public static GgmlType Type => GgmlType.Q4_K;
    public static int BlockElements => 256;
    public static int BlockBytes => 144;

    /// <summary>ggml <c>dequantize_row_q4_K</c>: <c>d1*q - m1</c> with <c>d1 = d*scale</c>, <c>m1 = dmin*min</c>
    /// (a multiply, then a subtraction, also in the 512-bit body).</summary>
    public static void Dequantize(byte* src, float* y, long n)
    {
        if (SimdTier.MaxVectorBits >= 512 && SimdTier.Has512)
        {
            Dequantize512(src, y, n / 256);
            return;
        }
        for (long i = 0; i < n / 256; i++, src += 144)
        {
            float d = Fp16.LoadScale(src), min = Fp16.LoadScale(src + 2);
            byte* scales = src + 4;
            byte* q = src + 16;
            for (int s = 0; s < 8; s += 2, q += 32)
            {
                KQuantScales.ScaleMin(s, scales, out int sc, out int m);
                float d1 = d * sc, m1 = min * m;
                KQuantScales.ScaleMin(s + 1, scales, out sc, out m);
                float d2 = d * sc, m2 = min * m;
                for (int l = 0; l < 32; l++) *y++ = d1 * (q[l] & 0xF) - m1;
                for (int l = 0; l < 32; l++) *y++ = d2 * (q[l] >> 4) - m2;
            }
        }
    }

    private static void Dequantize512(byte* src, float* y, long nb)
    {
        var low = Vector512.Create(0xF);
        for (long i = 0; i < nb; i++, src += 144)
        {
            float d = Fp16.LoadScale(src), min = Fp16.LoadScale(src + 2);
            byte* q = src + 16;
            for (int s = 0; s < 8; s += 2, q += 32, y += 64)
            {
                KQuantScales.ScaleMin(s, src + 4, out int sc, out int m);
                var d1 = Vector512.Create(d * sc);
                var m1 = Vector512.Create(min * m);
                KQuantScales.ScaleMin(s + 1, src + 4, out sc, out m);
                var d2 = Vector512.Create(d * sc);
                var m2 = Vector512.Create(min * m);
                var q0 = WideLoad.U8x16(q);
                var q1 = WideLoad.U8x16(q + 16);
                (d1 * Vector512.ConvertToSingle(q0 & low) - m1).Store(y);
                (d1 * Vector512.ConvertToSingle(q1 & low) - m1).Store(y + 16);
                (d2 * Vector512.ConvertToSingle(q0 >>> 4) - m2).Store(y + 32);
                (d2 * Vector512.ConvertToSingle(q1 >>> 4) - m2).Store(y + 48);
            }
        }
    }

    public static float Dot(byte* row, float* x, int n)
    {
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) return Dot512(row, x, n / 256);
        if (bits >= 256 && SimdTier.Has256) return Dot256(row, x, n / 256);
        if (bits >= 128 && SimdTier.Has128) return Dot128(row, x, n / 256);
        return DotScalar(row, x, n / 256);
    }

    // Each sub-block becomes a 16-entry table d*scale*q - dmin*min (one FMA), looked up with vpermps, which reads
    // only the low nibble of each byte lane: no masking, no int→float conversion per element.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot512(byte* b, float* x, int nb)
    {
        var iota = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        // d*scale[k] at sm[k], -dmin*min[k] at sm[8 + k]: broadcast from memory, which needs no shuffle unit.
        float* sm = stackalloc float[16];
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        var acc2 = Vector512<float>.Zero;
        var acc3 = Vector512<float>.Zero;
        for (int i = 0; i < nb; i++, b += 144)
        {
            Prefetch.Ahead(b, 3);
            KQuantScales.ScalesMins(b + 4, out ulong scales, out ulong mins);
            var dm = Vector512.Create(Vector256.Create(Fp16.LoadScale(b)), Vector256.Create(-Fp16.LoadScale(b + 2)));
            (Vector512.ConvertToSingle(Avx512F.ConvertToVector512Int32(Vector128.Create(scales, mins).AsByte())) * dm).Store(sm);
            for (int j = 0; j < 4; j++, x += 64)
            {
                var t1 = Vector512.FusedMultiplyAdd(iota, Vector512.Create(sm[2 * j]), Vector512.Create(sm[2 * j + 8]));
                var t2 = Vector512.FusedMultiplyAdd(iota, Vector512.Create(sm[2 * j + 1]), Vector512.Create(sm[2 * j + 9]));
                var q0 = WideLoad.U8x16(b + 16 + 32 * j);
                var q1 = WideLoad.U8x16(b + 32 + 32 * j);
                acc0 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32(t1, q0), Vector512.Load(x), acc0);
                acc1 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32(t1, q1), Vector512.Load(x + 16), acc1);
                acc2 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32(t2, q0 >>> 4), Vector512.Load(x + 32), acc2);
                acc3 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32(t2, q1 >>> 4), Vector512.Load(x + 48), acc3);
            }
        }
        return Vector512.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot256(byte* b, float* x, int nb)
    {
        var low = Vector256.Create(0xF);
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        for (int i = 0; i < nb; i++, b += 144)
        {
            Prefetch.Ahead(b, 3);
            float d = Fp16.LoadScale(b), dmin = Fp16.LoadScale(b + 2);
            KQuantScales.ScalesMins(b + 4, out ulong scales, out ulong mins);
            for (int j = 0; j < 4; j++, x += 64, scales >>= 16, mins >>= 16)
            {
                var d1 = Vector256.Create(d * (int)(scales & 0xFF));
                var m1 = Vector256.Create(-dmin * (int)(mins & 0xFF));
                var d2 = Vector256.Create(d * (int)((scales >> 8) & 0xFF));
                var m2 = Vector256.Create(-dmin * (int)((mins >> 8) & 0xFF));
                byte* q = b + 16 + 32 * j;
                for (int l = 0; l < 32; l += 16)
                {
                    var qa = WideLoad.U8x8(q + l);
                    var qb = WideLoad.U8x8(q + l + 8);
                    acc0 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(qa & low), d1, m1), Vector256.Load(x + l), acc0);
                    acc1 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(qb & low), d1, m1), Vector256.Load(x + l + 8), acc1);
                    acc0 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(qa >>> 4), d2, m2), Vector256.Load(x + l + 32), acc0);
                    acc1 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(qb >>> 4), d2, m2), Vector256.Load(x + l + 40), acc1);
                }
            }
        }
        return Vector256.Sum(acc0 + acc1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot128(byte* b, float* x, int nb)
    {
        var low = Vector128.Create(0xF);
        var acc0 = Vector128<float>.Zero;
        var acc1 = Vector128<float>.Zero;
        for (int i = 0; i < nb; i++, b += 144)
        {
            float d = Fp16.LoadScale(b), dmin = Fp16.LoadScale(b + 2);
            KQuantScales.ScalesMins(b + 4, out ulong scales, out ulong mins);
            for (int j = 0; j < 4; j++, x += 64, scales >>= 16, mins >>= 16)
            {
                var d1 = Vector128.Create(d * (int)(scales & 0xFF));
                var m1 = Vector128.Create(-dmin * (int)(mins & 0xFF));
                var d2 = Vector128.Create(d * (int)((scales >> 8) & 0xFF));
                var m2 = Vector128.Create(-dmin * (int)((mins >> 8) & 0xFF));
                byte* q = b + 16 + 32 * j;
                for (int l = 0; l < 32; l += 8)
                {
                    var qa = WideLoad.U8x4(q + l);
                    var qb = WideLoad.U8x4(q + l + 4);
                    acc0 = Vector128.MultiplyAddEstimate(Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(qa & low), d1, m1), Vector128.Load(x + l), acc0);
                    acc1 = Vector128.MultiplyAddEstimate(Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(qb & low), d1, m1), Vector128.Load(x + l + 4), acc1);
                    acc0 = Vector128.MultiplyAddEstimate(Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(qa >>> 4), d2, m2), Vector128.Load(x + l + 32), acc0);
                    acc1 = Vector128.MultiplyAddEstimate(Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(qb >>> 4), d2, m2), Vector128.Load(x + l + 36), acc1);
                }
            }
        }
        return Vector128.Sum(acc0 + acc1);
    }

    private static float DotScalar(byte* b, float* x, int nb)
    {
        float sum = 0;
        for (int i = 0; i < nb; i++, b += 144)
        {
            float d = Fp16.LoadScale(b), dmin = Fp16.LoadScale(b + 2);
            byte* q = b + 16;
            for (int s = 0; s < 8; s += 2, q += 32, x += 64)
            {
                KQuantScales.ScaleMin(s, b + 4, out int sc1, out int m1);
                KQuantScales.ScaleMin(s + 1, b + 4, out int sc2, out int m2);
                float q1 = 0, q2 = 0, x1 = 0, x2 = 0;
                for (int l = 0; l < 32; l++)
                {
                    q1 += (q[l] & 0xF) * x[l];
                    q2 += (q[l] >> 4) * x[l + 32];
                    x1 += x[l];
                    x2 += x[l + 32];
                }
                sum += d * sc1 * q1 - dmin * m1 * x1 + d * sc2 * q2 - dmin * m2 * x2;
            }
        }
        return sum;
    }
}
