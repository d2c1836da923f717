using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

/// <summary>Q5_K: super-blocks of 256 5-bit values in 8 sub-blocks of 32, 176 bytes (ggml-common.h):
/// <code>typedef struct {
///     ggml_half d;        // super-block scale for the scales
///     ggml_half dmin;     // super-block scale for the mins
///     uint8_t scales[12]; // 8 6-bit scales and 8 6-bit mins, packed (get_scale_min_k4)
///     uint8_t qh[32];     // fifth bit of element 32s + l (l &lt; 32): bit s of qh[l]
///     uint8_t qs[128];    // low 4 bits: element 64j + l: qs[32j + l] &amp; 0xF; element 64j + 32 + l: qs[32j + l] &gt;&gt; 4
/// } block_q5_K;           // value = d*scale * q - dmin*min</code></summary>
public readonly unsafe partial struct Q5_KFormat : IBlockFormat
{
    public static GgmlType Type => GgmlType.Q5_K;
    public static int BlockElements => 256;
    public static int BlockBytes => 176;

    /// <summary>ggml <c>dequantize_row_q5_K</c>: <c>d1*q - m1</c> with <c>d1 = d*scale</c>, <c>m1 = dmin*min</c>.</summary>
    public static void Dequantize(byte* src, float* y, long n)
    {
        for (long i = 0; i < n / 256; i++, src += 176)
        {
            float d = Fp16.LoadScale(src), min = Fp16.LoadScale(src + 2);
            byte* scales = src + 4;
            byte* qh = src + 16;
            byte* ql = src + 48;
            for (int s = 0; s < 8; s += 2, ql += 32)
            {
                KQuantScales.ScaleMin(s, scales, out int sc, out int m);
                float d1 = d * sc, m1 = min * m;
                KQuantScales.ScaleMin(s + 1, scales, out sc, out m);
                float d2 = d * sc, m2 = min * m;
                // Bit s (s + 1) of qh[l] adds 16: ggml's (qh[l] & u ? 16 : 0), without a data-dependent branch.
                for (int l = 0; l < 32; l++) *y++ = d1 * ((ql[l] & 0xF) + (((qh[l] >> s) & 1) << 4)) - m1;
                for (int l = 0; l < 32; l++) *y++ = d2 * ((ql[l] >> 4) + (((qh[l] >> (s + 1)) & 1) << 4)) - m2;
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

    // Each sub-block becomes a 32-entry table d*scale*q - dmin*min in two registers, looked up with vpermt2ps (low
    // 5 bits of the index); one bit-select puts the qh bit at bit 4 under the nibble.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot512(byte* b, float* x, int nb)
    {
        var iotaLow = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var iotaHigh = iotaLow + Vector512.Create(16f);
        var nibble = Vector512.Create(0xF);
        float* sm = stackalloc float[16]; // d*scale[k] at k, -dmin*min[k] at 8 + k: broadcast straight from memory
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        for (int i = 0; i < nb; i++, b += 176)
        {
            Prefetch.Ahead(b, 3);
            KQuantScales.ScalesMins(b + 4, out ulong scales, out ulong mins);
            var dm = Vector512.Create(Vector256.Create(Fp16.LoadScale(b)), Vector256.Create(-Fp16.LoadScale(b + 2)));
            (Vector512.ConvertToSingle(Avx512F.ConvertToVector512Int32(Vector128.Create(scales, mins).AsByte())) * dm).Store(sm);
            var ha = WideLoad.U8x16(b + 16) << 4; // bit s of qh → bit 4 after s more right shifts
            var hb = WideLoad.U8x16(b + 32) << 4;
            for (int j = 0; j < 4; j++, x += 64)
            {
                var sc = Vector512.Create(sm[2 * j]);
                var mn = Vector512.Create(sm[2 * j + 8]);
                var t1Low = Vector512.FusedMultiplyAdd(iotaLow, sc, mn);
                var t1High = Vector512.FusedMultiplyAdd(iotaHigh, sc, mn);
                sc = Vector512.Create(sm[2 * j + 1]);
                mn = Vector512.Create(sm[2 * j + 9]);
                var t2Low = Vector512.FusedMultiplyAdd(iotaLow, sc, mn);
                var t2High = Vector512.FusedMultiplyAdd(iotaHigh, sc, mn);

                var q0 = WideLoad.U8x16(b + 48 + 32 * j);
                var q1 = WideLoad.U8x16(b + 64 + 32 * j);
                var i0 = Vector512.ConditionalSelect(nibble, q0, ha);
                var i1 = Vector512.ConditionalSelect(nibble, q1, hb);
                ha >>>= 1; hb >>>= 1;
                var i2 = Vector512.ConditionalSelect(nibble, q0 >>> 4, ha);
                var i3 = Vector512.ConditionalSelect(nibble, q1 >>> 4, hb);
                ha >>>= 1; hb >>>= 1;
                acc0 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32x2(t1Low, i0, t1High), Vector512.Load(x), acc0);
                acc1 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32x2(t1Low, i1, t1High), Vector512.Load(x + 16), acc1);
                acc0 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32x2(t2Low, i2, t2High), Vector512.Load(x + 32), acc0);
                acc1 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32x2(t2Low, i3, t2High), Vector512.Load(x + 48), acc1);
            }
        }
        return Vector512.Sum(acc0 + acc1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot256(byte* b, float* x, int nb)
    {
        var low = Vector256.Create(0xF);
        var bit4 = Vector256.Create(0x10);
        float* sm = stackalloc float[16]; // d*scale[k] at k, -dmin*min[k] at 8 + k
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        for (int i = 0; i < nb; i++, b += 176)
        {
            Prefetch.Ahead(b, 3);
            KQuantScales.ScalesMins(b + 4, out ulong scales, out ulong mins);
            (Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(scales).AsByte())) * Vector256.Create(Fp16.LoadScale(b))).Store(sm);
            (Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(mins).AsByte())) * Vector256.Create(-Fp16.LoadScale(b + 2))).Store(sm + 8);
            for (int j = 0; j < 4; j++, x += 64) // sub-blocks 2j (low nibbles, qh bit 2j) and 2j+1 (high nibbles, bit 2j+1)
            {
                byte* q = b + 48 + 32 * j;
                var d1 = Vector256.Create(sm[2 * j]);
                var m1 = Vector256.Create(sm[2 * j + 8]);
                var d2 = Vector256.Create(sm[2 * j + 1]);
                var m2 = Vector256.Create(sm[2 * j + 9]);
                for (int l = 0; l < 32; l += 8)
                {
                    var qs = WideLoad.U8x8(q + l);
                    var h = WideLoad.U8x8(b + 16 + l) << 4; // qh bit s → bit 4 after s right shifts
                    var v1 = (qs & low) | ((h >>> (2 * j)) & bit4);
                    var v2 = (qs >>> 4) | ((h >>> (2 * j + 1)) & bit4);
                    acc0 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(v1), d1, m1), Vector256.Load(x + l), acc0);
                    acc1 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(v2), d2, m2), Vector256.Load(x + l + 32), acc1);
                }
            }
        }
        return Vector256.Sum(acc0 + acc1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot128(byte* b, float* x, int nb)
    {
        var low = Vector128.Create(0xF);
        var bit4 = Vector128.Create(0x10);
        var acc0 = Vector128<float>.Zero;
        var acc1 = Vector128<float>.Zero;
        for (int i = 0; i < nb; i++, b += 176)
        {
            float d = Fp16.LoadScale(b), dmin = Fp16.LoadScale(b + 2);
            KQuantScales.ScalesMins(b + 4, out ulong scales, out ulong mins);
            for (int j = 0; j < 4; j++, x += 64, scales >>= 16, mins >>= 16)
            {
                byte* q = b + 48 + 32 * j;
                var d1 = Vector128.Create(d * (int)(scales & 0xFF));
                var m1 = Vector128.Create(-dmin * (int)(mins & 0xFF));
                var d2 = Vector128.Create(d * (int)((scales >> 8) & 0xFF));
                var m2 = Vector128.Create(-dmin * (int)((mins >> 8) & 0xFF));
                for (int l = 0; l < 32; l += 4)
                {
                    var qs = WideLoad.U8x4(q + l);
                    var h = WideLoad.U8x4(b + 16 + l) << 4; // qh bit s → bit 4 after s right shifts
                    var v1 = (qs & low) | ((h >>> (2 * j)) & bit4);
                    var v2 = (qs >>> 4) | ((h >>> (2 * j + 1)) & bit4);
                    acc0 = Vector128.MultiplyAddEstimate(Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(v1), d1, m1), Vector128.Load(x + l), acc0);
                    acc1 = Vector128.MultiplyAddEstimate(Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(v2), d2, m2), Vector128.Load(x + l + 32), acc1);
                }
            }
        }
        return Vector128.Sum(acc0 + acc1);
    }

    private static float DotScalar(byte* b, float* x, int nb)
    {
        float sum = 0;
        for (int i = 0; i < nb; i++, b += 176)
        {
            float d = Fp16.LoadScale(b), dmin = Fp16.LoadScale(b + 2);
            for (int s = 0; s < 8; s++, x += 32)
            {
                KQuantScales.ScaleMin(s, b + 4, out int sc, out int m);
                byte* q = b + 48 + 32 * (s >> 1);
                int nibbleShift = 4 * (s & 1);
                float sq = 0, sx = 0;
                for (int l = 0; l < 32; l++)
                {
                    int v = ((q[l] >> nibbleShift) & 0xF) | (((b[16 + l] >> s) & 1) << 4);
                    sq += v * x[l];
                    sx += x[l];
                }
                sum += d * sc * sq - dmin * m * sx;
            }
        }
        return sum;
    }
}
