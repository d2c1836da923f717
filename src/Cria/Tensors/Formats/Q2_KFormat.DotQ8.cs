using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q2_KFormat
{
    /// <summary>ggml <c>ggml_vec_dot_q2_K_q8_K</c> with <c>block_q8_K</c> activations: per super-block
    /// <c>dy·d·Σ_s scale_s·Σ q·qy − dy·dmin·Σ_s min_s·bsums[s]</c> over the 16 sub-blocks of 16, in integers.</summary>
    public static float DotQ8(byte* row, byte* activations, int n)
    {
        Int8Dot.CheckLength(n, 256, "Q2_K");
        Fp16.EnsureTable();
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) return DotQ8_512(row, activations, n / 256);
        if (bits >= 256 && SimdTier.Has256) return DotQ8_256(row, activations, n / 256);
        return DotQ8Scalar(row, activations, n / 256);
    }

    // Per half of 128: the 32 quant bytes as [q | q >> 2] give elements 0-63 (bits 0-1) and 64-127 (bits 4-5).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float DotQ8_512(byte* x, byte* y, int nb)
    {
        var acc = Vector256<float>.Zero;
        var accMins = Vector256<float>.Zero;
        for (int i = 0; i < nb; i++, x += 84, y += 292)
        {
            float dy = *(float*)y;
            var packed = Vector128.Load(x);
            var mins = Avx2.ConvertToVector256Int16((packed.AsUInt16() >>> 4).AsByte() & Vector128.Create((byte)0x0F));
            var minSums = Avx2.MultiplyAddAdjacent(mins, Vector256.Load((short*)(y + 260)));
            accMins = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(minSums), Vector256.Create(-dy * Fp16.LoadScale(x + 82)), accMins);
            var scales = Avx2.ConvertToVector256Int16(packed & Vector128.Create((byte)0x0F)).ToVector512Unsafe();
            var sumi = Vector512<int>.Zero;
            for (int h = 0; h < 2; h++)
            {
                var q = Vector256.Load(x + 16 + 32 * h);
                var q2 = Int8Dot.Concat(q, (q.AsUInt16() >>> 2).AsByte());
                var p1 = Int8Dot.MulAdd(Int8Dot.TwoBits(q2, 0), Vector512.Load((sbyte*)(y + 4 + 128 * h)));
                var p2 = Int8Dot.MulAdd(Int8Dot.TwoBits(q2, 4), Vector512.Load((sbyte*)(y + 68 + 128 * h)));
                sumi += Avx512BW.MultiplyAddAdjacent(p1, Avx512BW.PermuteVar32x16(scales, Int8Dot.Sub16Index(8 * h)));
                sumi += Avx512BW.MultiplyAddAdjacent(p2, Avx512BW.PermuteVar32x16(scales, Int8Dot.Sub16Index(8 * h + 4)));
            }
            var total = sumi.GetLower() + sumi.GetUpper();
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(total), Vector256.Create(dy * Fp16.LoadScale(x + 80)), acc);
        }
        return Vector256.Sum(acc + accMins);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float DotQ8_256(byte* x, byte* y, int nb)
    {
        var acc = Vector256<float>.Zero;
        var accMins = Vector256<float>.Zero;
        for (int i = 0; i < nb; i++, x += 84, y += 292)
        {
            float dy = *(float*)y;
            var packed = Vector128.Load(x);
            var mins = Avx2.ConvertToVector256Int16((packed.AsUInt16() >>> 4).AsByte() & Vector128.Create((byte)0x0F));
            var minSums = Avx2.MultiplyAddAdjacent(mins, Vector256.Load((short*)(y + 260)));
            accMins = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(minSums), Vector256.Create(-dy * Fp16.LoadScale(x + 82)), accMins);
            var scales = (packed & Vector128.Create((byte)0x0F)).AsSByte();
            var sumi = Vector256<int>.Zero;
            for (int h = 0; h < 2; h++)
            {
                var q = Vector256.Load(x + 16 + 32 * h);
                byte* qy = y + 4 + 128 * h;
                for (int j = 0; j < 4; j++)
                {
                    var p = Int8Dot.MulAdd(Int8Dot.TwoBits(q, 2 * j), Vector256.Load((sbyte*)(qy + 32 * j)));
                    sumi += Avx2.MultiplyAddAdjacent(p, Int8Dot.Sub16Scales(scales, 8 * h + 2 * j));
                }
            }
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sumi), Vector256.Create(dy * Fp16.LoadScale(x + 80)), acc);
        }
        return Vector256.Sum(acc + accMins);
    }

    private static float DotQ8Scalar(byte* x, byte* y, int nb)
    {
        float sum = 0;
        for (int i = 0; i < nb; i++, x += 84, y += 292)
        {
            byte* sc = x;
            short* bsums = (short*)(y + 260);
            int summs = 0;
            for (int s = 0; s < 16; s++) summs += bsums[s] * (sc[s] >> 4);
            int isum = 0, k = 0;
            sbyte* qy = (sbyte*)(y + 4);
            for (int h = 0; h < 2; h++)
            {
                byte* q = x + 16 + 32 * h;
                for (int shift = 0; shift < 8; shift += 2, qy += 32)
                {
                    int s1 = 0, s2 = 0;
                    for (int l = 0; l < 16; l++) s1 += qy[l] * ((q[l] >> shift) & 3);
                    for (int l = 16; l < 32; l++) s2 += qy[l] * ((q[l] >> shift) & 3);
                    isum += (sc[k] & 0xF) * s1 + (sc[k + 1] & 0xF) * s2;
                    k += 2;
                }
            }
            float dy = *(float*)y;
            sum += dy * Fp16.LoadScale(x + 80) * isum - dy * Fp16.LoadScale(x + 82) * summs;
        }
        return sum;
    }
}
