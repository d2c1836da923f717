using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q4_0Format
{
    /// <summary>ggml <c>ggml_vec_dot_q4_0_q8_0</c>: Σ over blocks of <c>(dx·dy)·Σ (q−8)·qy</c>, the block sums in
    /// integers, with <c>block_q8_0</c> activations. The kernels multiply the unsigned nibbles (vpmaddubsw) and subtract
    /// <c>8·Σqy</c> (one more vpmaddubsw), which is cheaper than ggml's signed path without vpsignb.</summary>
    public static float DotQ8(byte* row, byte* activations, int n)
    {
        Int8Dot.CheckLength(n, 32, "Q4_0");
        Fp16.EnsureTable();
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) return DotQ8_512(row, activations, n / 32);
        if (bits >= 256 && SimdTier.Has256) return DotQ8_256(row, activations, n / 32);
        return DotQ8Scalar(row, activations, n / 32);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float DotQ8_512(byte* x, byte* y, int nb)
    {
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        int i = 0;
        for (; i + 4 <= nb; i += 4, x += 72, y += 136)
        {
            acc0 = Pair512(x, y, acc0);
            acc1 = Pair512(x + 36, y + 68, acc1);
        }
        if (i + 2 <= nb)
        {
            acc0 = Pair512(x, y, acc0);
            i += 2; x += 36; y += 68;
        }
        float sum = Vector512.Sum(acc0 + acc1);
        if (i < nb) sum += Vector256.Sum(Block256(x, y, Vector256<float>.Zero));
        return sum;
    }

    // Blocks x0, x1 against activations [y0 (32) | y1 (32)].
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pair512(byte* x, byte* y, Vector512<float> acc)
    {
        var nibbles = Int8Dot.Nibbles2x32(x + 2, x + 20);
        var qy = Int8Dot.Load2x32(y + 2, y + 36);
        var p = Int8Dot.MulAdd(nibbles, qy) - Int8Dot.MulAdd(Vector512.Create((byte)8), qy);
        var d = Int8Dot.Halves(Fp16.LoadScale(x) * Fp16.LoadScale(y), Fp16.LoadScale(x + 18) * Fp16.LoadScale(y + 34));
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(Int8Dot.SumPairs(p)), d, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float DotQ8_256(byte* x, byte* y, int nb)
    {
        var acc = Vector256<float>.Zero;
        for (int i = 0; i < nb; i++, x += 18, y += 34) acc = Block256(x, y, acc);
        return Vector256.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Block256(byte* x, byte* y, Vector256<float> acc)
    {
        var nibbles = Int8Dot.Nibbles32(x + 2);
        var qy = Vector256.Load((sbyte*)(y + 2));
        var p = Int8Dot.MulAdd(nibbles, qy) - Int8Dot.MulAdd(Vector256.Create((byte)8), qy);
        var d = Vector256.Create(Fp16.LoadScale(x) * Fp16.LoadScale(y));
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Int8Dot.SumPairs(p)), d, acc);
    }

    private static float DotQ8Scalar(byte* x, byte* y, int nb)
    {
        float sum = 0;
        for (int i = 0; i < nb; i++, x += 18, y += 34)
        {
            byte* qs = x + 2;
            sbyte* qy = (sbyte*)(y + 2);
            int sumi = 0;
            for (int j = 0; j < 16; j++) sumi += ((qs[j] & 0x0F) - 8) * qy[j] + ((qs[j] >> 4) - 8) * qy[j + 16];
            sum += sumi * (Fp16.LoadScale(x) * Fp16.LoadScale(y));
        }
        return sum;
    }
}
