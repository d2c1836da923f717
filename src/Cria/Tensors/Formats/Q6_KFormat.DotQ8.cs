using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q6_KFormat
{
    /// <summary>ggml <c>ggml_vec_dot_q6_K_q8_K</c> with <c>block_q8_K</c> activations: per super-block
    /// <c>dy·d·Σ_s scale_s·Σ (q−32)·qy</c> in integers. The kernels multiply the unsigned 6-bit q (vpmaddubsw) and take
    /// the −32 from the bsums, <c>32·Σ_s scale_s·bsums[s]</c> (ggml's AVX path does the same).</summary>
    public static float DotQ8(byte* row, byte* activations, int n)
    {
        Int8Dot.CheckLength(n, 256, "Q6_K");
        Fp16.EnsureTable();
        int bits = SimdTier.MaxVectorBits;
        // 256-bit vectors on AVX-512 machines too: on Zen 4 (DotQ8Benchmarks, 4096², one thread)
        // the AVX-512 body (vpermw for the sub-block scales) ran at 10.4-21.5 GB/s against 22.0-22.9 for this one.
        if (bits >= 256 && SimdTier.Has256) return DotQ8_256(row, activations, n / 256);
        return DotQ8Scalar(row, activations, n / 256);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float DotQ8_256(byte* x, byte* y, int nb)
    {
        var low = Vector256.Create((byte)0x0F);
        var two = Vector256.Create((byte)0x30);
        var acc = Vector256<float>.Zero;
        for (int i = 0; i < nb; i++, x += 210, y += 292)
        {
            var scales8 = Vector128.Load((sbyte*)(x + 192));
            var correction = Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(scales8), Vector256.Load((short*)(y + 260)));
            var sumi = Vector256<int>.Zero;
            for (int h = 0; h < 2; h++)
            {
                var ql1 = Vector256.Load(x + 64 * h);
                var ql2 = Vector256.Load(x + 64 * h + 32);
                var qh = Vector256.Load(x + 128 + 32 * h);
                var q0 = (ql1 & low) | ((qh.AsUInt16() << 4).AsByte() & two);
                var q1 = (ql2 & low) | ((qh.AsUInt16() << 2).AsByte() & two);
                var q2 = ((ql1.AsUInt16() >>> 4).AsByte() & low) | (qh & two);
                var q3 = ((ql2.AsUInt16() >>> 4).AsByte() & low) | ((qh.AsUInt16() >>> 2).AsByte() & two);
                byte* qy = y + 4 + 128 * h;
                sumi += Avx2.MultiplyAddAdjacent(Int8Dot.MulAdd(q0, Vector256.Load((sbyte*)qy)), Int8Dot.Sub16Scales(scales8, 8 * h));
                sumi += Avx2.MultiplyAddAdjacent(Int8Dot.MulAdd(q1, Vector256.Load((sbyte*)(qy + 32))), Int8Dot.Sub16Scales(scales8, 8 * h + 2));
                sumi += Avx2.MultiplyAddAdjacent(Int8Dot.MulAdd(q2, Vector256.Load((sbyte*)(qy + 64))), Int8Dot.Sub16Scales(scales8, 8 * h + 4));
                sumi += Avx2.MultiplyAddAdjacent(Int8Dot.MulAdd(q3, Vector256.Load((sbyte*)(qy + 96))), Int8Dot.Sub16Scales(scales8, 8 * h + 6));
            }
            var total = sumi - (correction << 5);
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(total), Vector256.Create(*(float*)y * Fp16.LoadScale(x + 208)), acc);
        }
        return Vector256.Sum(acc);
    }

    private static float DotQ8Scalar(byte* x, byte* y, int nb)
    {
        float sum = 0;
        for (int i = 0; i < nb; i++, x += 210, y += 292)
        {
            sbyte* sc = (sbyte*)(x + 192);
            sbyte* qy = (sbyte*)(y + 4);
            int isum = 0;
            for (int s = 0; s < 16; s++, qy += 16)
            {
                int half = s >> 3, r = (s >> 1) & 3, lane = 16 * (s & 1);
                byte* ql = x + 64 * half + 32 * (r & 1) + lane;
                byte* qh = x + 128 + 32 * half + lane;
                int nibbleShift = 4 * (r >> 1), highShift = 2 * r;
                int sumi = 0;
                for (int l = 0; l < 16; l++)
                    sumi += ((((ql[l] >> nibbleShift) & 0xF) | (((qh[l] >> highShift) & 3) << 4)) - 32) * qy[l];
                isum += sc[8 * half + 2 * r + (s & 1)] * sumi;
            }
            sum += *(float*)y * Fp16.LoadScale(x + 208) * isum;
        }
        return sum;
    }
}
