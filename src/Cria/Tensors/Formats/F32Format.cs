using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Tensors.Formats;

/// <summary>IEEE float32, one element per "block" (4 bytes, little-endian).</summary>
public readonly unsafe partial struct F32Format : IBlockFormat, IElementLoader
{
    public static GgmlType Type => GgmlType.F32;
    public static int BlockElements => 1;
    public static int BlockBytes => 4;
    static bool IElementLoader.PrefetchWeights => false;
    static int IElementLoader.ElementBytes => 4;

    public static void Dequantize(byte* src, float* dst, long n) =>
        Buffer.MemoryCopy(src, dst, n * 4, n * 4);

    public static float Dot(byte* row, float* x, int n) => ElementwiseKernels<F32Format>.Dot(row, x, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float IElementLoader.Load1(byte* p) => Unsafe.ReadUnaligned<float>(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<float> IElementLoader.Load4(byte* p) => Vector128.Load((float*)p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> IElementLoader.Load8(byte* p) => Vector256.Load((float*)p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> IElementLoader.Load16(byte* p) => Vector512.Load((float*)p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> IElementLoader.Load16Finite(byte* p) => Vector512.Load((float*)p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool IElementLoader.AnyNonFinite64(byte* p) => false;
}
