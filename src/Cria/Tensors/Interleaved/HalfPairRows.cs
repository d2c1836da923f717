using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Interleaved;

/// <summary>One token's decode on F16 or BF16 rows as stored: a 64-byte vector of a row is 16 words, each holding
/// columns 2p and 2p + 1, which <see cref="IHalfPairs.Split"/> turns into an even and an odd float vector with one to
/// three integer operations each. The activations are laid out to match once per input (<see cref="Prepare"/>: per 32
/// columns, the 16 even ones then the 16 odd ones), so the row meets them in plain FMAs. This streams rows at the speed
/// the 16-row groups did, so the weights stay in the file's pages: no repacking at load and no copy in memory.</summary>
internal static unsafe class HalfPairRows<T> where T : struct, IHalfPairs
{
    /// <summary>Columns per vector; a row's length must be a multiple of it.</summary>
    public const int Block = 32;

    /// <summary>Writes x (n floats) as <see cref="Dot"/> reads it: each 32 columns' even ones then odd ones, times
    /// <see cref="IHalfPairs.InputScale"/> (a power of two: exact).</summary>
    public static void Prepare(float* x, float* act, int n)
    {
        if (n % Block != 0) throw new ArgumentException($"{T.Name} rows: n = {n} is not a multiple of {Block}", nameof(n));
        var scale = Vector512.Create(T.InputScale);
        var evens = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odds = evens + Vector512<int>.One;
        for (int k = 0; k < n; k += Block)
        {
            var lo = Vector512.Load(x + k);
            var hi = Vector512.Load(x + k + 16);
            (Avx512F.PermuteVar16x32x2(lo, evens, hi) * scale).Store(act + k);
            (Avx512F.PermuteVar16x32x2(lo, odds, hi) * scale).Store(act + k + 16);
        }
    }

    /// <summary>row · x, where <paramref name="activations"/> is x as <see cref="Prepare"/> wrote it. An F16 row holding an inf
    /// or NaN (which the kernel's conversion does not take) is done again exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(byte* row, byte* activations, int n)
    {
        float* act = (float*)activations;
        var a0 = Vector512<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
        var a4 = a0; var a5 = a0; var a6 = a0; var a7 = a0;
        var exponent = Vector512.Create(0x7C007C00u);
        var largest = Vector512<ushort>.Zero; // F16: the largest exponent field seen; all ones is an inf or NaN
        bool f16 = T.Type == GgmlType.F16;
        byte* w = row, end = row + 2L * n, end4 = row + 2L * (n - n % (4 * Block));
        float* xk = act;
        for (; w < end4; w += 256, xk += 4 * Block)
        {
            var v0 = Vector512.Load((uint*)w);
            var v1 = Vector512.Load((uint*)(w + 64));
            var v2 = Vector512.Load((uint*)(w + 128));
            var v3 = Vector512.Load((uint*)(w + 192));
            if (f16)
                largest = Vector512.Max(Vector512.Max((v0 & exponent).AsUInt16(), (v1 & exponent).AsUInt16()),
                    Vector512.Max(Vector512.Max((v2 & exponent).AsUInt16(), (v3 & exponent).AsUInt16()), largest));
            T.Split(v0, out var e0, out var o0);
            T.Split(v1, out var e1, out var o1);
            T.Split(v2, out var e2, out var o2);
            T.Split(v3, out var e3, out var o3);
            a0 = Vector512.FusedMultiplyAdd(e0, Vector512.Load(xk), a0);
            a1 = Vector512.FusedMultiplyAdd(o0, Vector512.Load(xk + 16), a1);
            a2 = Vector512.FusedMultiplyAdd(e1, Vector512.Load(xk + 32), a2);
            a3 = Vector512.FusedMultiplyAdd(o1, Vector512.Load(xk + 48), a3);
            a4 = Vector512.FusedMultiplyAdd(e2, Vector512.Load(xk + 64), a4);
            a5 = Vector512.FusedMultiplyAdd(o2, Vector512.Load(xk + 80), a5);
            a6 = Vector512.FusedMultiplyAdd(e3, Vector512.Load(xk + 96), a6);
            a7 = Vector512.FusedMultiplyAdd(o3, Vector512.Load(xk + 112), a7);
        }
        for (; w < end; w += 64, xk += Block)
        {
            var v = Vector512.Load((uint*)w);
            if (f16) largest = Vector512.Max((v & exponent).AsUInt16(), largest);
            T.Split(v, out var e, out var o);
            a0 = Vector512.FusedMultiplyAdd(e, Vector512.Load(xk), a0);
            a1 = Vector512.FusedMultiplyAdd(o, Vector512.Load(xk + 16), a1);
        }
        if (f16 && Vector512.EqualsAny(largest, Vector512.Create((ushort)0x7C00))) return Exact(row, act, n);
        return Vector512.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))) * T.OutputScale;
    }

    // Each weight converted exactly against x recovered from act (dividing by a power of two is exact).
    private static float Exact(byte* row, float* act, int n)
    {
        float sum = 0, unscale = 1f / T.InputScale;
        for (int k = 0; k < n; k++)
        {
            int block = k - k % Block, p = k % Block;
            float x = act[block + (p % 2 == 0 ? p / 2 : Block / 2 + p / 2)] * unscale;
            sum += T.Exact(((ushort*)row)[k]) * x;
        }
        return sum;
    }
}

/// <summary><see cref="HalfPairRows{T}"/> of one type as function pointers, so a matmul picks them once per weight.</summary>
internal readonly unsafe struct HalfPairRowKernels
{
    public GgmlType Type { get; }
    /// <summary>(x, act, n): the activations as <see cref="Dot"/> reads them.</summary>
    public delegate*<float*, float*, int, void> Prepare { get; }
    /// <summary>(row, act, n): one row against prepared activations.</summary>
    public delegate*<byte*, byte*, int, float> Dot { get; }

    private HalfPairRowKernels(GgmlType type, delegate*<float*, float*, int, void> prepare, delegate*<byte*, byte*, int, float> dot)
    {
        Type = type;
        Prepare = prepare;
        Dot = dot;
    }

    /// <summary>Whether this machine runs the kernels for rows of <paramref name="cols"/> elements (AVX-512, whole vectors).</summary>
    public static bool Supports(int cols) => SimdTier.Current >= 512 && cols > 0 && cols % HalfPairRows<F16Pairs>.Block == 0;

    private static HalfPairRowKernels For<T>() where T : struct, IHalfPairs => new(T.Type, &HalfPairRows<T>.Prepare, &HalfPairRows<T>.Dot);

    /// <summary>The kernels for rows of <paramref name="type"/> and <paramref name="cols"/> elements, where this machine has them.</summary>
    public static bool TryGet(GgmlType type, int cols, out HalfPairRowKernels kernels)
    {
        kernels = type switch
        {
            GgmlType.F16 => For<F16Pairs>(),
            GgmlType.BF16 => For<BF16Pairs>(),
            _ => default,
        };
        return kernels.Dot != null && Supports(cols);
    }
}
