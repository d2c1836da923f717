using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q5_1Format
{
    /// <summary>ggml <c>ggml_vec_dot_q5_1_q8_1</c>: Σ over blocks of <c>(dx·dy)·Σ q·qy + m·s</c> with <c>block_q8_1</c>
    /// activations (q = nibble | fifth bit·16, 0…31; s = fp16(dy·Σqy) as ggml rounds it).</summary>
    public static float DotQ8(byte* row, byte* activations, int n)
    {
        Int8Dot.CheckLength(n, 32, "Q5_1");
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
        float mins0 = 0, mins1 = 0;
        int i = 0;
        for (; i + 4 <= nb; i += 4, x += 96, y += 144)
        {
            acc0 = Pair512(x, y, acc0, ref mins0);
            acc1 = Pair512(x + 48, y + 72, acc1, ref mins1);
        }
        if (i + 2 <= nb)
        {
            acc0 = Pair512(x, y, acc0, ref mins0);
            i += 2; x += 48; y += 72;
        }
        float sum = Vector512.Sum(acc0 + acc1);
        if (i < nb) sum += Vector256.Sum(Block256(x, y, Vector256<float>.Zero, ref mins0));
        return sum + (mins0 + mins1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pair512(byte* x, byte* y, Vector512<float> acc, ref float mins)
    {
        var q = Int8Dot.Nibbles2x32(x + 8, x + 32) | Int8Dot.BitsToBytes2x32(x + 4, x + 28, 0x10);
        var p = Int8Dot.MulAdd(q, Int8Dot.Load2x32(y + 4, y + 40));
        var d = Int8Dot.Halves(Fp16.LoadScale(x) * Fp16.LoadScale(y), Fp16.LoadScale(x + 24) * Fp16.LoadScale(y + 36));
        mins += Fp16.LoadScale(x + 2) * Fp16.LoadScale(y + 2) + Fp16.LoadScale(x + 26) * Fp16.LoadScale(y + 38);
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(Int8Dot.SumPairs(p)), d, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float DotQ8_256(byte* x, byte* y, int nb)
    {
        var acc = Vector256<float>.Zero;
        float mins = 0;
        for (int i = 0; i < nb; i++, x += 24, y += 36) acc = Block256(x, y, acc, ref mins);
        return Vector256.Sum(acc) + mins;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Block256(byte* x, byte* y, Vector256<float> acc, ref float mins)
    {
        var q = Int8Dot.Nibbles32(x + 8) | Int8Dot.BitsToBytes32(x + 4, 0x10);
        var p = Int8Dot.MulAdd(q, Vector256.Load((sbyte*)(y + 4)));
        mins += Fp16.LoadScale(x + 2) * Fp16.LoadScale(y + 2);
        var d = Vector256.Create(Fp16.LoadScale(x) * Fp16.LoadScale(y));
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Int8Dot.SumPairs(p)), d, acc);
    }

    private static float DotQ8Scalar(byte* x, byte* y, int nb)
    {
        float sum = 0;
        for (int i = 0; i < nb; i++, x += 24, y += 36)
        {
            uint qh = Unsafe.ReadUnaligned<uint>(x + 4);
            byte* qs = x + 8;
            sbyte* qy = (sbyte*)(y + 4);
            int sumi = 0;
            for (int j = 0; j < 16; j++)
            {
                int q0 = (qs[j] & 0x0F) | (int)(((qh >> j) << 4) & 0x10);
                int q1 = (qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10);
                sumi += q0 * qy[j] + q1 * qy[j + 16];
            }
            sum += (Fp16.LoadScale(x) * Fp16.LoadScale(y)) * sumi + Fp16.LoadScale(x + 2) * Fp16.LoadScale(y + 2);
        }
        return sum;
    }
}
