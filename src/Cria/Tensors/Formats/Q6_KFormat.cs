using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

/// <summary>Q6_K: super-blocks of 256 6-bit values in 16 sub-blocks of 16, 210 bytes (ggml-common.h):
/// <code>typedef struct {
///     uint8_t ql[128];    // low 4 bits; for half h, l &lt; 32: element 128h + l: ql[64h + l] &amp; 0xF,
///                         // + 32: ql[64h + 32 + l] &amp; 0xF, + 64: ql[64h + l] &gt;&gt; 4, + 96: ql[64h + 32 + l] &gt;&gt; 4
///     uint8_t qh[64];     // high 2 bits of those four: bits 0-1, 2-3, 4-5, 6-7 of qh[32h + l]
///     int8_t scales[16];  // signed sub-block scales
///     ggml_half d;        // super-block scale
/// } block_q6_K;           // value = d*scale * (q - 32)</code></summary>
public readonly unsafe partial struct Q6_KFormat : IBlockFormat
{
    public static GgmlType Type => GgmlType.Q6_K;
    public static int BlockElements => 256;
    public static int BlockBytes => 210;

    /// <summary>ggml <c>dequantize_row_q6_K</c>: <c>d * scale * q</c>, evaluated left to right, q in −32…31.</summary>
    public static void Dequantize(byte* src, float* y, long n)
    {
        if (SimdTier.MaxVectorBits >= 512 && SimdTier.Has512)
        {
            Dequantize512(src, y, n / 256);
            return;
        }
        for (long i = 0; i < n / 256; i++, src += 210)
        {
            float d = Fp16.LoadScale(src + 208);
            byte* ql = src;
            byte* qh = src + 128;
            sbyte* sc = (sbyte*)(src + 192);
            for (int half = 0; half < 2; half++, y += 128, ql += 64, qh += 32, sc += 8)
                for (int l = 0; l < 32; l++)
                {
                    int s = l / 16;
                    int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                    int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    y[l] = d * sc[s] * q1;
                    y[l + 32] = d * sc[s + 2] * q2;
                    y[l + 64] = d * sc[s + 4] * q3;
                    y[l + 96] = d * sc[s + 6] * q4;
                }
        }
    }

    // The same products as the scalar loop: (d * scale) rounded once as a float, then times the integer q.
    private static void Dequantize512(byte* src, float* y, long nb)
    {
        var nibble = Vector512.Create(0xF);
        var six = Vector512.Create(0x3F);
        var m32 = Vector512.Create(32);
        for (long i = 0; i < nb; i++, src += 210)
        {
            float d = Fp16.LoadScale(src + 208);
            sbyte* sc = (sbyte*)(src + 192);
            for (int half = 0; half < 2; half++, y += 128, sc += 8)
            {
                byte* ql = src + 64 * half;
                byte* qh = src + 128 + 32 * half;
                for (int g = 0; g < 2; g++)
                {
                    var a = WideLoad.U8x16(ql + 16 * g);
                    var c = WideLoad.U8x16(ql + 32 + 16 * g);
                    var h = WideLoad.U8x16(qh + 16 * g);
                    var h4 = h << 4;
                    var q1 = (Vector512.ConditionalSelect(nibble, a, h4) & six) - m32;
                    var q2 = (Vector512.ConditionalSelect(nibble, c, h4 >>> 2) & six) - m32;
                    var q3 = (Vector512.ConditionalSelect(nibble, a >>> 4, h) & six) - m32;
                    var q4 = (Vector512.ConditionalSelect(nibble, c >>> 4, h >>> 2) & six) - m32;
                    (Vector512.Create(d * sc[g]) * Vector512.ConvertToSingle(q1)).Store(y + 16 * g);
                    (Vector512.Create(d * sc[g + 2]) * Vector512.ConvertToSingle(q2)).Store(y + 16 * g + 32);
                    (Vector512.Create(d * sc[g + 4]) * Vector512.ConvertToSingle(q3)).Store(y + 16 * g + 64);
                    (Vector512.Create(d * sc[g + 6]) * Vector512.ConvertToSingle(q4)).Store(y + 16 * g + 96);
                }
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

    // One vector = one sub-block of 16. A bit-select merges the nibble (bits 0-3) with the qh pair (bits 4-5).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot512(byte* b, float* x, int nb)
    {
        var nibble = Vector512.Create(0xF);
        var six = Vector512.Create(0x3F);
        float* dsc = stackalloc float[32]; // d*scale[k] at k, -32*d*scale[k] at 16 + k: broadcast straight from memory
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        for (int i = 0; i < nb; i++, b += 210)
        {
            Prefetch.Ahead(b, 4);
            var scale = Vector512.ConvertToSingle(WideLoad.I8x16(b + 192)) * Vector512.Create(Fp16.LoadScale(b + 208));
            scale.Store(dsc);
            (scale * Vector512.Create(-32f)).Store(dsc + 16);
            for (int half = 0; half < 2; half++, x += 128)
            {
                byte* ql = b + 64 * half;
                byte* qh = b + 128 + 32 * half;
                float* s = dsc + 8 * half;
                for (int g = 0; g < 2; g++, s++) // lanes l = 16g … 16g+15: sub-blocks 8*half + g + 0, 2, 4, 6
                {
                    var a = WideLoad.U8x16(ql + 16 * g);
                    var c = WideLoad.U8x16(ql + 32 + 16 * g);
                    var h = WideLoad.U8x16(qh + 16 * g);
                    var h4 = h << 4;
                    var q1 = Vector512.ConditionalSelect(nibble, a, h4) & six;
                    var q2 = Vector512.ConditionalSelect(nibble, c, h4 >>> 2) & six;
                    var q3 = Vector512.ConditionalSelect(nibble, a >>> 4, h) & six;
                    var q4 = Vector512.ConditionalSelect(nibble, c >>> 4, h >>> 2) & six;
                    var w1 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(q1), Vector512.Create(s[0]), Vector512.Create(s[16]));
                    var w2 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(q2), Vector512.Create(s[2]), Vector512.Create(s[18]));
                    var w3 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(q3), Vector512.Create(s[4]), Vector512.Create(s[20]));
                    var w4 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(q4), Vector512.Create(s[6]), Vector512.Create(s[22]));
                    acc0 = Vector512.FusedMultiplyAdd(w1, Vector512.Load(x + 16 * g), acc0);
                    acc1 = Vector512.FusedMultiplyAdd(w2, Vector512.Load(x + 16 * g + 32), acc1);
                    acc0 = Vector512.FusedMultiplyAdd(w3, Vector512.Load(x + 16 * g + 64), acc0);
                    acc1 = Vector512.FusedMultiplyAdd(w4, Vector512.Load(x + 16 * g + 96), acc1);
                }
            }
        }
        return Vector512.Sum(acc0 + acc1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot256(byte* b, float* x, int nb)
    {
        var low = Vector256.Create(0xF);
        var two = Vector256.Create(0x30);
        var m32 = Vector256.Create(32);
        float* dsc = stackalloc float[16];
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        for (int i = 0; i < nb; i++, b += 210)
        {
            Prefetch.Ahead(b, 4);
            var d = Vector256.Create(Fp16.LoadScale(b + 208));
            (Vector256.ConvertToSingle(WideLoad.I8x8(b + 192)) * d).Store(dsc);
            (Vector256.ConvertToSingle(WideLoad.I8x8(b + 200)) * d).Store(dsc + 8);
            for (int half = 0; half < 2; half++, x += 128)
            {
                byte* ql = b + 64 * half;
                byte* qh = b + 128 + 32 * half;
                for (int l = 0; l < 32; l += 8) // lanes l … l+7 of the four quarters share their ql/qh bytes
                {
                    float* s = dsc + 8 * half + (l >> 4);
                    var a = WideLoad.U8x8(ql + l);
                    var c = WideLoad.U8x8(ql + 32 + l);
                    var h = WideLoad.U8x8(qh + l);
                    var q1 = ((a & low) | ((h << 4) & two)) - m32;
                    var q2 = ((c & low) | ((h << 2) & two)) - m32;
                    var q3 = ((a >>> 4) | (h & two)) - m32;
                    var q4 = ((c >>> 4) | ((h >>> 2) & two)) - m32;
                    acc0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(q1) * Vector256.Create(s[0]), Vector256.Load(x + l), acc0);
                    acc1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(q2) * Vector256.Create(s[2]), Vector256.Load(x + l + 32), acc1);
                    acc0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(q3) * Vector256.Create(s[4]), Vector256.Load(x + l + 64), acc0);
                    acc1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(q4) * Vector256.Create(s[6]), Vector256.Load(x + l + 96), acc1);
                }
            }
        }
        return Vector256.Sum(acc0 + acc1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot128(byte* b, float* x, int nb)
    {
        var low = Vector128.Create(0xF);
        var two = Vector128.Create(0x30);
        var m32 = Vector128.Create(32);
        float* dsc = stackalloc float[16];
        var acc0 = Vector128<float>.Zero;
        var acc1 = Vector128<float>.Zero;
        for (int i = 0; i < nb; i++, b += 210)
        {
            float d = Fp16.LoadScale(b + 208);
            for (int k = 0; k < 16; k++) dsc[k] = d * ((sbyte*)(b + 192))[k];
            for (int half = 0; half < 2; half++, x += 128)
            {
                byte* ql = b + 64 * half;
                byte* qh = b + 128 + 32 * half;
                for (int l = 0; l < 32; l += 4) // lanes l … l+3 of the four quarters share their ql/qh bytes
                {
                    float* s = dsc + 8 * half + (l >> 4);
                    var a = WideLoad.U8x4(ql + l);
                    var c = WideLoad.U8x4(ql + 32 + l);
                    var h = WideLoad.U8x4(qh + l);
                    var q1 = ((a & low) | ((h << 4) & two)) - m32;
                    var q2 = ((c & low) | ((h << 2) & two)) - m32;
                    var q3 = ((a >>> 4) | (h & two)) - m32;
                    var q4 = ((c >>> 4) | ((h >>> 2) & two)) - m32;
                    acc0 = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(q1) * Vector128.Create(s[0]), Vector128.Load(x + l), acc0);
                    acc1 = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(q2) * Vector128.Create(s[2]), Vector128.Load(x + l + 32), acc1);
                    acc0 = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(q3) * Vector128.Create(s[4]), Vector128.Load(x + l + 64), acc0);
                    acc1 = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(q4) * Vector128.Create(s[6]), Vector128.Load(x + l + 96), acc1);
                }
            }
        }
        return Vector128.Sum(acc0 + acc1);
    }

    private static float DotScalar(byte* b, float* x, int nb)
    {
        float sum = 0;
        for (int i = 0; i < nb; i++, b += 210)
        {
            float d = Fp16.LoadScale(b + 208);
            sbyte* sc = (sbyte*)(b + 192);
            for (int s = 0; s < 16; s++, x += 16)
            {
                int half = s >> 3, r = (s >> 1) & 3, lane = 16 * (s & 1);
                byte* ql = b + 64 * half + 32 * (r & 1) + lane;
                byte* qh = b + 128 + 32 * half + lane;
                int nibbleShift = 4 * (r >> 1), highShift = 2 * r;
                float sq = 0;
                for (int l = 0; l < 16; l++)
                    sq += ((((ql[l] >> nibbleShift) & 0xF) | (((qh[l] >> highShift) & 3) << 4)) - 32) * x[l];
                sum += d * sc[8 * half + 2 * r + (s & 1)] * sq;
            }
        }
        return sum;
    }
}
