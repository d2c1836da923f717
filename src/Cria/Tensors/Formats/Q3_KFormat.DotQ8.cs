using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q3_KFormat
{
    /// <summary>ggml <c>ggml_vec_dot_q3_K_q8_K</c> with <c>block_q8_K</c> activations: per super-block
    /// <c>dy·d·Σ_s (scale_s − 32)·Σ (q2 − (high bit ? 0 : 4))·qy</c> in integers. The kernels multiply the unsigned
    /// <c>q2 | high·4</c> (0…7) and take the −4 from the bsums, <c>4·Σ_s (scale_s − 32)·bsums[s]</c>.</summary>
    public static float DotQ8(byte* row, byte* activations, int n)
    {
        Int8Dot.CheckLength(n, 256, "Q3_K");
        Fp16.EnsureTable();
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) return DotQ8_512(row, activations, n / 256);
        if (bits >= 256 && SimdTier.Has256) return DotQ8_256(row, activations, n / 256);
        return DotQ8Scalar(row, activations, n / 256);
    }

    // Per half h of 128: [q | q >> 2] and [hmask | hmask >> 1] give elements 0-63 (bits 0-1 and hmask bit 4h) and
    // 64-127 (bits 4-5 and hmask bit 4h + 2).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float DotQ8_512(byte* x, byte* y, int nb)
    {
        var acc = Vector256<float>.Zero;
        for (int i = 0; i < nb; i++, x += 110, y += 292)
        {
            var scales = SignedScales(x + 96);
            var correction = Avx2.MultiplyAddAdjacent(scales, Vector256.Load((short*)(y + 260)));
            var scales512 = scales.ToVector512Unsafe();
            var hm = Vector256.Load(x);
            var hm2 = Int8Dot.Concat(hm, (hm.AsUInt16() >>> 1).AsByte());
            var sumi = Vector512<int>.Zero;
            for (int h = 0; h < 2; h++)
            {
                var q = Vector256.Load(x + 32 + 32 * h);
                var q2 = Int8Dot.Concat(q, (q.AsUInt16() >>> 2).AsByte());
                var w1 = Int8Dot.TwoBits(q2, 0) | Int8Dot.MoveBit(hm2, 4 * h, 2);
                var w2 = Int8Dot.TwoBits(q2, 4) | Int8Dot.MoveBit(hm2, 4 * h + 2, 2);
                var p1 = Int8Dot.MulAdd(w1, Vector512.Load((sbyte*)(y + 4 + 128 * h)));
                var p2 = Int8Dot.MulAdd(w2, Vector512.Load((sbyte*)(y + 68 + 128 * h)));
                sumi += Avx512BW.MultiplyAddAdjacent(p1, Avx512BW.PermuteVar32x16(scales512, Int8Dot.Sub16Index(8 * h)));
                sumi += Avx512BW.MultiplyAddAdjacent(p2, Avx512BW.PermuteVar32x16(scales512, Int8Dot.Sub16Index(8 * h + 4)));
            }
            var total = sumi.GetLower() + sumi.GetUpper() - (correction << 2);
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(total), Vector256.Create(*(float*)y * Fp16.LoadScale(x + 108)), acc);
        }
        return Vector256.Sum(acc);
    }

    /// <summary>The 16 sub-block scales minus 32, as int16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> SignedScales(byte* packed)
    {
        KQuantScales.Q3Scales(packed, out ulong first8, out ulong last8);
        return Avx2.ConvertToVector256Int16(Vector128.Create(first8, last8).AsByte()) - Vector256.Create((short)32);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float DotQ8_256(byte* x, byte* y, int nb)
    {
        var acc = Vector256<float>.Zero;
        for (int i = 0; i < nb; i++, x += 110, y += 292)
        {
            KQuantScales.Q3Scales(x + 96, out ulong first8, out ulong last8);
            var scales8 = (Vector128.Create(first8, last8).AsByte() - Vector128.Create((byte)32)).AsSByte();
            var correction = Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(scales8), Vector256.Load((short*)(y + 260)));
            var hm = Vector256.Load(x);
            var sumi = Vector256<int>.Zero;
            for (int h = 0; h < 2; h++)
            {
                var q = Vector256.Load(x + 32 + 32 * h);
                byte* qy = y + 4 + 128 * h;
                for (int j = 0; j < 4; j++)
                {
                    var w = Int8Dot.TwoBits(q, 2 * j) | Int8Dot.MoveBit(hm, 4 * h + j, 2);
                    var p = Int8Dot.MulAdd(w, Vector256.Load((sbyte*)(qy + 32 * j)));
                    sumi += Avx2.MultiplyAddAdjacent(p, Int8Dot.Sub16Scales(scales8, 8 * h + 2 * j));
                }
            }
            var total = sumi - (correction << 2);
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(total), Vector256.Create(*(float*)y * Fp16.LoadScale(x + 108)), acc);
        }
        return Vector256.Sum(acc);
    }

    private static float DotQ8Scalar(byte* x, byte* y, int nb)
    {
        sbyte* scales = stackalloc sbyte[16];
        float sum = 0;
        for (int i = 0; i < nb; i++, x += 110, y += 292)
        {
            KQuantScales.Q3Scales(x + 96, out *(ulong*)scales, out *(ulong*)(scales + 8));
            byte* hm = x;
            sbyte* qy = (sbyte*)(y + 4);
            int isum = 0, s = 0;
            for (int h = 0; h < 2; h++)
            {
                byte* q = x + 32 + 32 * h;
                for (int j = 0; j < 4; j++, qy += 32)
                {
                    int shift = 2 * j, bit = 4 * h + j;
                    int s1 = 0, s2 = 0;
                    for (int l = 0; l < 16; l++) s1 += qy[l] * (((q[l] >> shift) & 3) - (((hm[l] >> bit) & 1) != 0 ? 0 : 4));
                    for (int l = 16; l < 32; l++) s2 += qy[l] * (((q[l] >> shift) & 3) - (((hm[l] >> bit) & 1) != 0 ? 0 : 4));
                    isum += (scales[s] - 32) * s1 + (scales[s + 1] - 32) * s2;
                    s += 2;
                }
            }
            sum += *(float*)y * Fp16.LoadScale(x + 108) * isum;
        }
        return sum;
    }
}
