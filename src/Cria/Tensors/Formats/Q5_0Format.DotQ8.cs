using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q5_0Format
{
    /// <summary>ggml <c>ggml_vec_dot_q5_0_q8_0</c>: Σ over blocks of <c>(dx·dy)·Σ (q−16)·qy</c> with <c>block_q8_0</c>
    /// activations; q = nibble | fifth bit·16 unsigned (vpmaddubsw), less <c>16·Σqy</c>.</summary>
    public static float DotQ8(byte* row, byte* activations, int n)
    {
        Int8Dot.CheckLength(n, 32, "Q5_0");
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
        for (; i + 4 <= nb; i += 4, x += 88, y += 136)
        {
            acc0 = Pair512(x, y, acc0);
            acc1 = Pair512(x + 44, y + 68, acc1);
        }
        if (i + 2 <= nb)
        {
            acc0 = Pair512(x, y, acc0);
            i += 2; x += 44; y += 68;
        }
        float sum = Vector512.Sum(acc0 + acc1);
        if (i < nb) sum += Vector256.Sum(Block256(x, y, Vector256<float>.Zero));
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pair512(byte* x, byte* y, Vector512<float> acc)
    {
        var q = Int8Dot.Nibbles2x32(x + 6, x + 28) | Int8Dot.BitsToBytes2x32(x + 2, x + 24, 0x10);
        var qy = Int8Dot.Load2x32(y + 2, y + 36);
        var p = Int8Dot.MulAdd(q, qy) - Int8Dot.MulAdd(Vector512.Create((byte)16), qy);
        var d = Int8Dot.Halves(Fp16.LoadScale(x) * Fp16.LoadScale(y), Fp16.LoadScale(x + 22) * Fp16.LoadScale(y + 34));
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(Int8Dot.SumPairs(p)), d, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float DotQ8_256(byte* x, byte* y, int nb)
    {
        var acc = Vector256<float>.Zero;
        for (int i = 0; i < nb; i++, x += 22, y += 34) acc = Block256(x, y, acc);
        return Vector256.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Block256(byte* x, byte* y, Vector256<float> acc)
    {
        var q = Int8Dot.Nibbles32(x + 6) | Int8Dot.BitsToBytes32(x + 2, 0x10);
        var qy = Vector256.Load((sbyte*)(y + 2));
        var p = Int8Dot.MulAdd(q, qy) - Int8Dot.MulAdd(Vector256.Create((byte)16), qy);
        var d = Vector256.Create(Fp16.LoadScale(x) * Fp16.LoadScale(y));
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Int8Dot.SumPairs(p)), d, acc);
    }

    private static float DotQ8Scalar(byte* x, byte* y, int nb)
    {
        float sum = 0;
        for (int i = 0; i < nb; i++, x += 22, y += 34)
        {
            uint qh = Unsafe.ReadUnaligned<uint>(x + 2);
            byte* qs = x + 6;
            sbyte* qy = (sbyte*)(y + 2);
            int sumi = 0;
            for (int j = 0; j < 16; j++)
            {
                int q0 = ((qs[j] & 0x0F) | (int)(((qh >> j) << 4) & 0x10)) - 16;
                int q1 = ((qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10)) - 16;
                sumi += q0 * qy[j] + q1 * qy[j + 16];
            }
            sum += (Fp16.LoadScale(x) * Fp16.LoadScale(y)) * sumi;
        }
        return sum;
    }
}
