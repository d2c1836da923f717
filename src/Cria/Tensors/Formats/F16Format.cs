using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

/// <summary>IEEE binary16 (<c>ggml_half</c>, 2 bytes little-endian), one element per "block". Converted exactly
/// (see <see cref="Fp16"/>); ggml's <c>to_float</c> is <c>ggml_fp16_to_fp32_row</c>.</summary>
public readonly unsafe partial struct F16Format : IBlockFormat, IElementLoader
{
    public static GgmlType Type => GgmlType.F16;
    public static int BlockElements => 1;
    public static int BlockBytes => 2;
    static bool IElementLoader.PrefetchWeights => false; // prefetching made F16 rows streamed from DRAM 3x slower (Zen 4)
    static int IElementLoader.ElementBytes => 2;

    public static void Dequantize(byte* src, float* dst, long n) => ElementwiseKernels<F16Format>.Dequantize(src, dst, n);

    /// <summary>On AVX-512 a row is converted with the three-operation finite form while the largest magnitude is
    /// tracked; only a row that holds an inf/NaN is done again with the exact special-value handling.</summary>
    public static float Dot(byte* row, float* x, int n)
    {
        if (SimdTier.MaxVectorBits >= 512 && SimdTier.Has512 && n >= 64)
        {
            float sum = FiniteDot512(row, x, n, out bool special);
            if (!special) return sum;
        }
        return ElementwiseKernels<F16Format>.Dot(row, x, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float FiniteDot512(byte* w, float* x, int n, out bool special)
    {
        var magnitude = Vector512.Create((ushort)0x7FFF);
        var largest = Vector512<ushort>.Zero;
        var a0 = Vector512<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
        int i = 0;
        for (; i + 64 <= n; i += 64) // four FMA chains; 128 bytes of weights per step
        {
            byte* p = w + i * 2;
            largest = Vector512.Max(largest, Vector512.Load((ushort*)p) & magnitude);
            largest = Vector512.Max(largest, Vector512.Load((ushort*)(p + 64)) & magnitude);
            a0 = Vector512.FusedMultiplyAdd(Finite(p), Vector512.Load(x + i), a0);
            a1 = Vector512.FusedMultiplyAdd(Finite(p + 32), Vector512.Load(x + i + 16), a1);
            a2 = Vector512.FusedMultiplyAdd(Finite(p + 64), Vector512.Load(x + i + 32), a2);
            a3 = Vector512.FusedMultiplyAdd(Finite(p + 96), Vector512.Load(x + i + 48), a3);
        }
        float sum = Vector512.Sum((a0 + a1) + (a2 + a3));
        for (; i < n; i++)
        {
            largest = Vector512.Max(largest, Vector512.Create((ushort)(Unsafe.ReadUnaligned<ushort>(w + i * 2) & 0x7FFF)));
            sum += Fp16.Load(w + i * 2) * x[i];
        }
        special = Vector512.GreaterThanOrEqualAny(largest, Vector512.Create((ushort)0x7C00)); // exponent all ones: inf or NaN
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Finite(byte* p) => Fp16.WidenFinite(Avx512F.ConvertToVector512Int32(Vector256.Load((short*)p)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float IElementLoader.Load1(byte* p) => Fp16.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<float> IElementLoader.Load4(byte* p) => Fp16.Widen(WideLoad.I16x4(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> IElementLoader.Load8(byte* p) => Fp16.Widen(WideLoad.I16x8(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> IElementLoader.Load16(byte* p) => Fp16.Widen(WideLoad.I16x16(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> IElementLoader.Load16Finite(byte* p) => Fp16.WidenFinite(WideLoad.I16x16(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool IElementLoader.AnyNonFinite64(byte* p) => Fp16.AnyNonFinite64(p);
}
