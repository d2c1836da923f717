namespace Cria.Tensors.Activations;

/// <summary>Float activations → <c>block_q8_0</c> { fp16 d; int8 qs[32]; } as ggml's x86 CPU backend makes them
/// (<c>quantize_row_q8_0</c>; see <see cref="Block32Quantizer"/> for the arithmetic).</summary>
public static unsafe class Q8_0Activations
{
    /// <summary>Quantises <paramref name="n"/> floats (a multiple of 32) at <paramref name="x"/> into
    /// <c>n/32 · 34</c> bytes at <paramref name="y"/>.</summary>
    public static void Quantize(float* x, byte* y, int n) => Block32Quantizer.Quantize(x, y, n, withSum: false);
}
