using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q4_KFormat
{
    /// <summary>ggml <c>ggml_vec_dot_q4_K_q8_K</c> with <c>block_q8_K</c> activations: per super-block
    /// <c>dy·d·Σ_s scale_s·Σ q·qy − dy·dmin·Σ_s min_s·(bsums[2s] + bsums[2s+1])</c>, both sums in integers.</summary>
    public static float DotQ8(byte* row, byte* activations, int n)
    {
        Int8Dot.CheckLength(n, 256, "Q4_K");
        Fp16.EnsureTable();
        int bits = SimdTier.MaxVectorBits;
        // 256-bit vectors on AVX-512 machines too: on Zen 4 (DotQ8Benchmarks, 4096², one thread)
        // the AVX-512 body (vpermw for the sub-block scales) ran at 7.1-7.4 GB/s against 13.2-13.3 for this one.
        if (bits >= 256 && SimdTier.Has256) return DotQ8_256(row, activations, n / 256);
        return DotQ8Scalar(row, activations, n / 256);
    }

    /// <summary>The block's 8 scales then 8 mins as int16, and (ggml's way) the mins times the pair sums of bsums,
    /// scaled by <paramref name="minusDmin"/> (−dy·dmin) into <paramref name="accMins"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> ScalesMins16(byte* packed, byte* y, float minusDmin, ref Vector128<float> accMins)
    {
        KQuantScales.ScalesMins(packed, out ulong scales, out ulong mins);
        var scalesMins = Avx2.ConvertToVector256Int16(Vector128.Create(scales, mins).AsByte());
        var bsums = Vector256.Load((short*)(y + 260));
        var pairs = Ssse3.HorizontalAdd(bsums.GetLower(), bsums.GetUpper()); // bsums[2s] + bsums[2s+1], s = 0…7
        var prod = Sse2.MultiplyAddAdjacent(scalesMins.GetUpper(), pairs);
        accMins = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(prod), Vector128.Create(minusDmin), accMins);
        return scalesMins;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float DotQ8_256(byte* x, byte* y, int nb)
    {
        var low = Vector256.Create((byte)0x0F);
        var acc = Vector256<float>.Zero;
        var accMins = Vector128<float>.Zero;
        for (int i = 0; i < nb; i++, x += 144, y += 292)
        {
            float dy = *(float*)y;
            var scalesMins = ScalesMins16(x + 4, y, -dy * Fp16.LoadScale(x + 2), ref accMins);
            var scales = Vector256.Create(scalesMins.GetLower(), scalesMins.GetLower()).AsByte();
            var sumi = Vector256<int>.Zero;
            for (int j = 0; j < 4; j++)
            {
                var q = Vector256.Load(x + 16 + 32 * j);
                var pl = Int8Dot.MulAdd(q & low, Vector256.Load((sbyte*)(y + 4 + 64 * j)));
                var ph = Int8Dot.MulAdd((q.AsUInt16() >>> 4).AsByte() & low, Vector256.Load((sbyte*)(y + 36 + 64 * j)));
                sumi += Avx2.MultiplyAddAdjacent(pl, Avx2.Shuffle(scales, ScaleShuffle(2 * j)).AsInt16());
                sumi += Avx2.MultiplyAddAdjacent(ph, Avx2.Shuffle(scales, ScaleShuffle(2 * j + 1)).AsInt16());
            }
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sumi), Vector256.Create(dy * Fp16.LoadScale(x)), acc);
        }
        return Vector256.Sum(acc) + Vector128.Sum(accMins);
    }

    /// <summary>vpshufb control that broadcasts int16 <paramref name="k"/> (ggml <c>get_scale_shuffle_k4</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> ScaleShuffle(int k) => Vector256.Create((ushort)(2 * k | (2 * k + 1) << 8)).AsByte();

    private static float DotQ8Scalar(byte* x, byte* y, int nb)
    {
        float sum = 0;
        for (int i = 0; i < nb; i++, x += 144, y += 292)
        {
            KQuantScales.ScalesMins(x + 4, out ulong scales, out ulong mins);
            short* bsums = (short*)(y + 260);
            int summs = 0;
            for (int s = 0; s < 8; s++) summs += (int)((mins >> (8 * s)) & 0xFF) * (bsums[2 * s] + bsums[2 * s + 1]);
            byte* q = x + 16;
            sbyte* qy = (sbyte*)(y + 4);
            int isum = 0;
            for (int j = 0; j < 4; j++, q += 32, qy += 64)
            {
                int s1 = 0, s2 = 0;
                for (int l = 0; l < 32; l++)
                {
                    s1 += (q[l] & 0xF) * qy[l];
                    s2 += (q[l] >> 4) * qy[l + 32];
                }
                isum += (int)((scales >> (16 * j)) & 0xFF) * s1 + (int)((scales >> (16 * j + 8)) & 0xFF) * s2;
            }
            float dy = *(float*)y;
            sum += dy * Fp16.LoadScale(x) * isum - dy * Fp16.LoadScale(x + 2) * summs;
        }
        return sum;
    }
}
