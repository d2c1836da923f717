using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cria.Tensors.Formats;
using Cria.Tensors.Kernels.Gemm;

namespace Cria.Tensors.Interleaved;

/// <summary>How a 16-bit float type's interleaved words decode: each 32-bit word holds one row's columns 2p (low half)
/// and 2p + 1 (high half). The decode kernel may read weights scaled by a power of two (<see cref="InputScale"/> on
/// the activations and <see cref="OutputScale"/> on the sums undo it exactly).</summary>
internal unsafe interface IHalfPairs
{
    static abstract GgmlType Type { get; }
    static abstract string Name { get; }
    /// <summary>The activations are multiplied by this before <see cref="Split"/>'s weights meet them.</summary>
    static abstract float InputScale { get; }
    /// <summary>The sums are multiplied by this: InputScale · OutputScale · (Split's weight scale) = 1.</summary>
    static abstract float OutputScale { get; }
    /// <summary>The 16 words' low and high halves as the decode kernel's (scaled) floats.</summary>
    static abstract void Split(Vector512<uint> v, out Vector512<float> even, out Vector512<float> odd);
    /// <summary>One half as <see cref="Split"/> gives it.</summary>
    static abstract float Scaled(ushort h);
    /// <summary>The 16 words' halves exactly (the GEMM's panels).</summary>
    static abstract void SplitExact(Vector512<uint> v, out Vector512<float> even, out Vector512<float> odd);
    /// <summary>One half exactly.</summary>
    static abstract float Exact(ushort h);
    /// <summary>Whether the <paramref name="count"/> halves at <paramref name="p"/> can take the scaled decode (F16: no inf or NaN).</summary>
    static abstract bool Representable(byte* p, long count);
    /// <summary>The prefill GEMM over interleaved groups (<see cref="FloatGemmKernel.Multiply"/>'s arguments).</summary>
    static abstract void Gemm(byte* w, long wRowBytes, int rows, float* x, long xStride, int tokens, int cols, float* y, long yStride, float* scratch);
}

/// <summary>bfloat16 pairs: the high half masked and the low half shifted up are already float32 bits.</summary>
internal unsafe struct BF16Pairs : IHalfPairs
{
    public static GgmlType Type => GgmlType.BF16;
    public static string Name => "BF16x16";
    public static float InputScale => 1f;
    public static float OutputScale => 1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Split(Vector512<uint> v, out Vector512<float> even, out Vector512<float> odd)
    {
        even = (v << 16).AsSingle();
        odd = (v & Vector512.Create(0xFFFF0000u)).AsSingle();
    }

    public static float Scaled(ushort h) => BitConverter.UInt32BitsToSingle((uint)h << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SplitExact(Vector512<uint> v, out Vector512<float> even, out Vector512<float> odd) => Split(v, out even, out odd);

    public static float Exact(ushort h) => Scaled(h);

    public static bool Representable(byte* p, long count) => true;

    public static void Gemm(byte* w, long wRowBytes, int rows, float* x, long xStride, int tokens, int cols, float* y, long yStride, float* scratch) =>
        FloatGemm<BF16Format>.Multiply512<GemmPackPairs512<BF16Pairs>>(w, wRowBytes, rows, x, xStride, tokens, cols, y, yStride, scratch);
}

/// <summary>IEEE fp16 pairs. Sign to bit 31 and exponent+mantissa to the float32 positions (<see cref="Fp16"/>'s exact
/// conversion without its multiply) gives the weight times 2^-112, subnormals included: three integer operations for
/// the high half, two for the low one. Scaling the activations by 2^64 keeps every product (w·x·2^-48) far from
/// float32's subnormal range, and the sums are scaled back by 2^48; powers of two make both exact.
/// Only finite weights decode so (a matrix with an inf or NaN keeps its stored rows).</summary>
internal unsafe struct F16Pairs : IHalfPairs
{
    private const uint SignExpMantMask = 0x8FFFE000u;

    public static GgmlType Type => GgmlType.F16;
    public static string Name => "F16x16";
    public static float InputScale => 18446744073709551616f; // 2^64
    public static float OutputScale => 281474976710656f;     // 2^48

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Split(Vector512<uint> v, out Vector512<float> even, out Vector512<float> odd)
    {
        var mask = Vector512.Create(SignExpMantMask);
        even = (((v << 16).AsInt32() >> 3).AsUInt32() & mask).AsSingle();
        odd = ((v.AsInt32() >> 3).AsUInt32() & mask).AsSingle();
    }

    public static float Scaled(ushort h) => BitConverter.UInt32BitsToSingle(((uint)(short)h << 13) & SignExpMantMask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SplitExact(Vector512<uint> v, out Vector512<float> even, out Vector512<float> odd)
    {
        Split(v, out even, out odd);
        var twoPow112 = Vector512.Create(BitConverter.UInt32BitsToSingle(Fp16.TwoPow112Bits));
        even *= twoPow112;
        odd *= twoPow112;
    }

    public static float Exact(ushort h) => Fp16.ToSingle(h);

    public static bool Representable(byte* p, long count)
    {
        var exponent = Vector512.Create((ushort)0x7C00);
        long i = 0;
        for (; i + 32 <= count; i += 32)
            if (Vector512.EqualsAny(Vector512.Load((ushort*)p + i) & exponent, exponent)) return false;
        for (; i < count; i++)
            if ((((ushort*)p)[i] & 0x7C00) == 0x7C00) return false;
        return true;
    }

    public static void Gemm(byte* w, long wRowBytes, int rows, float* x, long xStride, int tokens, int cols, float* y, long yStride, float* scratch) =>
        FloatGemm<F16Format>.Multiply512<GemmPackPairs512<F16Pairs>>(w, wRowBytes, rows, x, xStride, tokens, cols, y, yStride, scratch);
}
