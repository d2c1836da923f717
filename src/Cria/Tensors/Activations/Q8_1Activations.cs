namespace Cria.Tensors.Activations;

/// <summary>Float activations → <c>block_q8_1</c> { fp16 d; fp16 s; int8 qs[32]; } as ggml's x86 CPU backend makes
/// them (<c>quantize_row_q8_1</c>): Q8_0's quants plus <c>s = fp16(d·Σqs)</c>, which Q4_1/Q5_1 multiply by their
/// minimum (see <see cref="Block32Quantizer"/>).</summary>
public static unsafe class Q8_1Activations
{
    /// <summary>Quantises <paramref name="n"/> floats (a multiple of 32) at <paramref name="x"/> into
    /// <c>n/32 · 36</c> bytes at <paramref name="y"/>.</summary>
    public static void Quantize(float* x, byte* y, int n) => Block32Quantizer.Quantize(x, y, n, withSum: true);
}
