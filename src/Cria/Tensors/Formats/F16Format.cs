using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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

    public static float Dot(byte* row, float* x, int n) => ElementwiseKernels<F16Format>.Dot(row, x, n);

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
