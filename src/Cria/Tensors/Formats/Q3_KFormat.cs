using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

/// <summary>Q3_K: super-blocks of 256 3-bit values in 16 sub-blocks of 16, 110 bytes (ggml-common.h):
/// <code>typedef struct {
///     uint8_t hmask[32];  // high bit of element 128h + 32j + l (l &lt; 32): bit 4h + j of hmask[l]
///     uint8_t qs[64];     // low 2 bits of element 128h + 32j + l: (qs[32h + l] &gt;&gt; 2j) &amp; 3
///     uint8_t scales[12]; // 16 6-bit scales, packed (see KQuantScales.Q3Scales)
///     ggml_half d;        // super-block scale
/// } block_q3_K;           // value = d*(scale - 32) * (q2 - (high bit ? 0 : 4))</code></summary>
public readonly unsafe partial struct Q3_KFormat : IBlockFormat
{
    public static GgmlType Type => GgmlType.Q3_K;
    public static int BlockElements => 256;
    public static int BlockBytes => 110;

    /// <summary>ggml <c>dequantize_row_q3_K</c>: <c>dl * q</c> with <c>dl = d*(scale - 32)</c> and integer q in −4…3.</summary>
    public static void Dequantize(byte* src, float* y, long n)
    {
        byte* scales = stackalloc byte[16];
        for (long i = 0; i < n / 256; i++, src += 110)
        {
            float dAll = Fp16.LoadScale(src + 108);
            KQuantScales.Q3Scales(src + 96, out *(ulong*)scales, out *(ulong*)(scales + 8));
            byte* hm = src;
            byte* q = src + 32;
            int s = 0, t = 0; // t: the hmask bit of this pair of sub-blocks
            for (int half = 0; half < 2; half++, q += 32)
                for (int shift = 0; shift < 8; shift += 2, t++)
                {
                    // (q2 | high << 2) - 4 is ggml's q2 - (high ? 0 : 4), without a data-dependent branch.
                    float dl = dAll * (scales[s++] - 32);
                    for (int l = 0; l < 16; l++) *y++ = dl * ((((q[l] >> shift) & 3) | (((hm[l] >> t) & 1) << 2)) - 4);
                    dl = dAll * (scales[s++] - 32);
                    for (int l = 0; l < 16; l++) *y++ = dl * ((((q[l + 16] >> shift) & 3) | (((hm[l + 16] >> t) & 1) << 2)) - 4);
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

    // The 3-bit index q2 | high&lt;&lt;2 (value index - 4) is looked up in a table dl*((i &amp; 7) - 4) that repeats every
    // 8 entries, so vpermps may see any bit 3. One bit-select merges q2 (bits 0-1) with the hmask bit (bit 2).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot512(byte* b, float* x, int nb)
    {
        var centered = Vector512.Create(-4f, -3, -2, -1, 0, 1, 2, 3, -4, -3, -2, -1, 0, 1, 2, 3);
        var low2 = Vector512.Create(3);
        float* dl = stackalloc float[16]; // d*(scale[k] - 32): broadcast straight from memory
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        for (int i = 0; i < nb; i++, b += 110)
        {
            Prefetch.Ahead(b, 2);
            KQuantScales.Q3Scales(b + 96, out ulong first8, out ulong last8);
            var scales = Avx512F.ConvertToVector512Int32(Vector128.Create(first8, last8).AsByte()) - Vector512.Create(32);
            (Vector512.ConvertToSingle(scales) * Vector512.Create(Fp16.LoadScale(b + 108))).Store(dl);
            var ha = WideLoad.U8x16(b) << 2;      // bit t of hmask → bit 2 after t more right shifts
            var hb = WideLoad.U8x16(b + 16) << 2;
            for (int half = 0; half < 2; half++, x += 128)
            {
                var qa = WideLoad.U8x16(b + 32 + 32 * half);
                var qb = WideLoad.U8x16(b + 48 + 32 * half);
                float* s = dl + 8 * half;
                for (int j = 0; j < 4; j++)
                {
                    var ta = centered * Vector512.Create(s[2 * j]);
                    var tb = centered * Vector512.Create(s[2 * j + 1]);
                    var ia = Vector512.ConditionalSelect(low2, qa >>> (2 * j), ha);
                    var ib = Vector512.ConditionalSelect(low2, qb >>> (2 * j), hb);
                    acc0 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32(ta, ia), Vector512.Load(x + 32 * j), acc0);
                    acc1 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32(tb, ib), Vector512.Load(x + 32 * j + 16), acc1);
                    ha >>>= 1;
                    hb >>>= 1;
                }
            }
        }
        return Vector512.Sum(acc0 + acc1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot256(byte* b, float* x, int nb)
    {
        float* dl = stackalloc float[16];
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        for (int i = 0; i < nb; i++, b += 110)
        {
            Prefetch.Ahead(b, 2);
            KQuantScales.Q3Scales(b + 96, out ulong first8, out ulong last8);
            var d = Vector256.Create(Fp16.LoadScale(b + 108));
            (Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(first8).AsByte()) - Vector256.Create(32)) * d).Store(dl);
            (Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(last8).AsByte()) - Vector256.Create(32)) * d).Store(dl + 8);
            for (int half = 0; half < 2; half++, x += 128)
            {
                byte* q = b + 32 + 32 * half;
                for (int l = 0; l < 32; l += 8) // lanes l … l+7 of the four pairs share their qs/hmask bytes
                {
                    var qs = WideLoad.U8x8(q + l);
                    var hm = WideLoad.U8x8(b + l) << 2; // hmask bit t → bit 2 after t right shifts
                    float* s = dl + 8 * half + (l >> 4);
                    int t = 4 * half;
                    acc0 = Vector256.FusedMultiplyAdd(Weights256(qs, hm, 0, t, s[0]), Vector256.Load(x + l), acc0);
                    acc1 = Vector256.FusedMultiplyAdd(Weights256(qs, hm, 2, t + 1, s[2]), Vector256.Load(x + l + 32), acc1);
                    acc0 = Vector256.FusedMultiplyAdd(Weights256(qs, hm, 4, t + 2, s[4]), Vector256.Load(x + l + 64), acc0);
                    acc1 = Vector256.FusedMultiplyAdd(Weights256(qs, hm, 6, t + 3, s[6]), Vector256.Load(x + l + 96), acc1);
                }
            }
        }
        return Vector256.Sum(acc0 + acc1);
    }

    /// <summary>dl·((q2 | high &lt;&lt; 2) − 4) for 8 lanes: q2 = bits <paramref name="shift"/>… of qs, high = bit 2 of hm &gt;&gt; t.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Weights256(Vector256<int> qs, Vector256<int> hm, int shift, int t, float dl)
    {
        var v = (((qs >>> shift) & Vector256.Create(3)) | ((hm >>> t) & Vector256.Create(4))) - Vector256.Create(4);
        return Vector256.ConvertToSingle(v) * Vector256.Create(dl);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot128(byte* b, float* x, int nb)
    {
        byte* scales = stackalloc byte[16];
        float* dl = stackalloc float[16];
        var acc0 = Vector128<float>.Zero;
        var acc1 = Vector128<float>.Zero;
        for (int i = 0; i < nb; i++, b += 110)
        {
            KQuantScales.Q3Scales(b + 96, out *(ulong*)scales, out *(ulong*)(scales + 8));
            float d = Fp16.LoadScale(b + 108);
            for (int k = 0; k < 16; k++) dl[k] = d * (scales[k] - 32);
            for (int half = 0; half < 2; half++, x += 128)
            {
                byte* q = b + 32 + 32 * half;
                for (int l = 0; l < 32; l += 4) // lanes l … l+3 of the four pairs share their qs/hmask bytes
                {
                    var qs = WideLoad.U8x4(q + l);
                    var hm = WideLoad.U8x4(b + l) << 2; // hmask bit t → bit 2 after t right shifts
                    float* s = dl + 8 * half + (l >> 4);
                    int t = 4 * half;
                    acc0 = Vector128.MultiplyAddEstimate(Weights128(qs, hm, 0, t, s[0]), Vector128.Load(x + l), acc0);
                    acc1 = Vector128.MultiplyAddEstimate(Weights128(qs, hm, 2, t + 1, s[2]), Vector128.Load(x + l + 32), acc1);
                    acc0 = Vector128.MultiplyAddEstimate(Weights128(qs, hm, 4, t + 2, s[4]), Vector128.Load(x + l + 64), acc0);
                    acc1 = Vector128.MultiplyAddEstimate(Weights128(qs, hm, 6, t + 3, s[6]), Vector128.Load(x + l + 96), acc1);
                }
            }
        }
        return Vector128.Sum(acc0 + acc1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Weights128(Vector128<int> qs, Vector128<int> hm, int shift, int t, float dl)
    {
        var v = (((qs >>> shift) & Vector128.Create(3)) | ((hm >>> t) & Vector128.Create(4))) - Vector128.Create(4);
        return Vector128.ConvertToSingle(v) * Vector128.Create(dl);
    }

    private static float DotScalar(byte* b, float* x, int nb)
    {
        float sum = 0;
        for (int i = 0; i < nb; i++, b += 110)
        {
            float d = Fp16.LoadScale(b + 108);
            KQuantScales.Q3Scales(b + 96, out ulong first8, out ulong last8);
            for (int s = 0; s < 16; s++, x += 16)
            {
                int half = s >> 3, shift = 2 * ((s >> 1) & 3), t = s >> 1;
                int scale = (int)((s < 8 ? first8 >> (8 * s) : last8 >> (8 * s - 64)) & 0xFF) - 32;
                byte* q = b + 32 + 32 * half + 16 * (s & 1);
                byte* h = b + 16 * (s & 1);
                float sq = 0;
                for (int l = 0; l < 16; l++)
                    sq += ((((q[l] >> shift) & 3) | (((h[l] >> t) & 1) << 2)) - 4) * x[l];
                sum += d * scale * sq;
            }
        }
        return sum;
    }
}
