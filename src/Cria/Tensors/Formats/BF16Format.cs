using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Tensors.Formats;

/// <summary>bfloat16 (<c>ggml_bf16_t { uint16_t bits; }</c>): the top 16 bits of a float32, one element per "block".
/// ggml's <c>GGML_BF16_TO_FP32</c> is <c>bits &lt;&lt; 16</c>, so NaN payloads pass through unchanged.</summary>
public readonly unsafe partial struct BF16Format : IBlockFormat, IElementLoader
{
    public static GgmlType Type => GgmlType.BF16;
    public static int BlockElements => 1;
    public static int BlockBytes => 2;
    static bool IElementLoader.PrefetchWeights => false;
    static int IElementLoader.ElementBytes => 2;

    public static void Dequantize(byte* src, float* dst, long n) => ElementwiseKernels<BF16Format>.Dequantize(src, dst, n);

    public static float Dot(byte* row, float* x, int n) => ElementwiseKernels<BF16Format>.Dot(row, x, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float IElementLoader.Load1(byte* p) => BitConverter.UInt32BitsToSingle((uint)Unsafe.ReadUnaligned<ushort>(p) << 16);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<float> IElementLoader.Load4(byte* p) => (WideLoad.U16x4(p) << 16).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> IElementLoader.Load8(byte* p) => (WideLoad.U16x8(p) << 16).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> IElementLoader.Load16(byte* p) => (WideLoad.U16x16(p) << 16).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> IElementLoader.Load16Finite(byte* p) => (WideLoad.U16x16(p) << 16).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool IElementLoader.AnyNonFinite64(byte* p) => false;
}
