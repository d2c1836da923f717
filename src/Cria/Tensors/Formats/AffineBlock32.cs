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

    /// <summary>The weight of q = 0: <c>-8d</c> (Q4_0), <c>-16d</c> (Q5_0) or <c>m</c> (Q4_1, Q5_1). For Dot only:
    /// Dequantize follows ggml's own expression, which can differ in the sign of a zero.</summary>
    static abstract float Bias(byte* block);
}
