namespace Cria.Tensors.Formats;

/// <summary>A 32-element block whose weights are <c>q·Scale + Bias</c> (Q4_0, Q4_1, Q5_0, Q5_1): lets one Dot kernel
/// serve all four; the JIT specialises it per format because the formats are structs.</summary>
internal unsafe interface IAffineBlock32
{
    static abstract int Bytes { get; }

    /// <summary>Offset of <c>qs[16]</c>: the low nibble of qs[j] is element j, the high nibble element j+16.</summary>
    static abstract int QsOffset { get; }

    /// <summary>Offset of <c>qh[4]</c> (5-bit formats): bit j of the little-endian uint32 is the fifth bit of element j.</summary>
    static abstract int QhOffset { get; }

    static abstract float Scale(byte* block);

    /// <summary>True where the weight is <c>q·d + m</c> (Q4_1, Q5_1); false where it is <c>(q + Offset)·d</c>.</summary>
    static abstract bool HasMin { get; }

    /// <summary>The block minimum m (formats with <see cref="HasMin"/>).</summary>
    static abstract float Min(byte* block);

    /// <summary>The integer offset of q (formats without a minimum): −8 (Q4_0) or −16 (Q5_0).</summary>
    static abstract float Offset { get; }
}

/// <summary>Helpers shared by the affine Dot kernels.</summary>
internal static unsafe class AffineBlock32<T> where T : struct, IAffineBlock32
{
    /// <summary>The weight of q = 0 for a block of scale <paramref name="d"/>: m, or Offset·d. For Dot only:
    /// Dequantize follows ggml's own expression, which can differ in the sign of a zero.</summary>
    public static float Bias(byte* block, float d) => T.HasMin ? T.Min(block) : T.Offset * d;
}
