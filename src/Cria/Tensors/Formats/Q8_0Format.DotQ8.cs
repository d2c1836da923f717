using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q8_0Format
{
    /// <summary>ggml <c>ggml_vec_dot_q8_0_q8_0</c>: Σ over blocks of <c>(dx·dy)·Σ qx·qy</c>, the block sums in integers,
    /// with <c>block_q8_0</c> activations (<see cref="Activations.Q8_0Activations"/>).</summary>
    public static float DotQ8(byte* row, byte* activations, int n)
    {
        Int8Dot.CheckLength(n, 32, "Q8_0");
        Fp16.EnsureTable();
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) return DotQ8_512(row, activations, n / 32);
        if (bits >= 256 && SimdTier.Has256) return DotQ8_256(row, activations, n / 32);
        return DotQ8Scalar(row, activations, n / 32);
    }

    // Two blocks per vector, two vectors per step (independent accumulators).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float DotQ8_512(byte* x, byte* y, int nb)
    {
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        int i = 0;
        for (; i + 4 <= nb; i += 4, x += 136, y += 136)
        {
            acc0 = Pair512(x, y, acc0);
            acc1 = Pair512(x + 68, y + 68, acc1);
        }
        if (i + 2 <= nb)
        {
            acc0 = Pair512(x, y, acc0);
            i += 2; x += 68; y += 68;
        }
        float sum = Vector512.Sum(acc0 + acc1);
        if (i < nb) sum += Vector256.Sum(Block256(x, y, Vector256<float>.Zero));
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pair512(byte* x, byte* y, Vector512<float> acc)
    {
        var sums = Int8Dot.MulSumSigned(Int8Dot.Load2x32(x + 2, x + 36), Int8Dot.Load2x32(y + 2, y + 36));
        var d = Int8Dot.Halves(Fp16.LoadScale(x) * Fp16.LoadScale(y), Fp16.LoadScale(x + 34) * Fp16.LoadScale(y + 34));
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sums), d, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float DotQ8_256(byte* x, byte* y, int nb)
    {
        var acc = Vector256<float>.Zero;
        for (int i = 0; i < nb; i++, x += 34, y += 34) acc = Block256(x, y, acc);
        return Vector256.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Block256(byte* x, byte* y, Vector256<float> acc)
    {
        var sums = Int8Dot.MulSumSigned(Vector256.Load((sbyte*)(x + 2)), Vector256.Load((sbyte*)(y + 2)));
        var d = Vector256.Create(Fp16.LoadScale(x) * Fp16.LoadScale(y));
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sums), d, acc);
    }

    private static float DotQ8Scalar(byte* x, byte* y, int nb)
    {
        float sum = 0;
        for (int i = 0; i < nb; i++, x += 34, y += 34)
        {
            sbyte* qx = (sbyte*)(x + 2);
            sbyte* qy = (sbyte*)(y + 2);
            int sumi = 0;
            for (int j = 0; j < 32; j++) sumi += qx[j] * qy[j];
            sum += sumi * (Fp16.LoadScale(x) * Fp16.LoadScale(y));
        }
        return sum;
    }
}
