namespace Cria.Tensors;

/// <summary>One ggml element type as a block format: its layout, dequantisation bit-identical to ggml's
/// <c>to_float</c>, quantisation bit-identical to llama-quantize's, and a dot product with float activations that reads the stored blocks in place.
/// Implementations are empty structs so generic kernels specialise per type (one file per type).</summary>
public unsafe interface IBlockFormat
{
    static abstract GgmlType Type { get; }

    /// <summary>Elements per block (1 for F32/F16/BF16, 32 for Q8_0 …, 256 for K-quants).</summary>
    static abstract int BlockElements { get; }

    /// <summary>Bytes per block.</summary>
    static abstract int BlockBytes { get; }

    /// <summary>Dequantises <paramref name="n"/> elements (a multiple of <see cref="BlockElements"/>) stored at
    /// <paramref name="src"/> into <paramref name="dst"/>, exactly as ggml does.</summary>
    static abstract void Dequantize(byte* src, float* dst, long n);

    /// <summary>Quantises <paramref name="n"/> floats (a multiple of <see cref="BlockElements"/>) at
    /// <paramref name="src"/> into blocks at <paramref name="dst"/>, bit-identical to what llama-quantize writes
    /// without an importance matrix (ggml's <c>quantize_row_*_ref</c>, <c>ggml_fp32_to_fp16_row</c>,
    /// <c>ggml_fp32_to_bf16_row_ref</c>). Blocks are independent, so any split into rows or chunks gives the same bytes.</summary>
    static abstract void Quantize(float* src, byte* dst, long n);

    /// <summary>Σ w[i]·x[i] over <paramref name="n"/> elements (a multiple of <see cref="BlockElements"/>) of a row
    /// stored at <paramref name="row"/>, with float activations <paramref name="x"/>.</summary>
    static abstract float Dot(byte* row, float* x, int n);
}
