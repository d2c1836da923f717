namespace Cria.Tensors.Activations;

/// <summary>The 8-bit block formats a float activation row is quantised to before integer dot products with quantised
/// weights: ggml's <c>vec_dot_type</c> of each weight type (the values are ggml's type ids).</summary>
public enum ActivationType
{
    /// <summary><c>block_q8_0</c> { fp16 d; int8 qs[32]; }, 34 bytes: activations for Q8_0, Q4_0, Q5_0 weights.</summary>
    Q8_0 = (int)GgmlType.Q8_0,

    /// <summary><c>block_q8_1</c> { fp16 d; fp16 s = fp16(d·Σqs); int8 qs[32]; }, 36 bytes: for Q4_1, Q5_1 weights,
    /// whose minimum multiplies the block sum.</summary>
    Q8_1 = (int)GgmlType.Q8_1,

    /// <summary><c>block_q8_K</c> { float d; int8 qs[256]; int16 bsums[16]; }, 292 bytes: for the K-quants, whose
    /// sub-block minimums multiply the sums of 16.</summary>
    Q8_K = (int)GgmlType.Q8_K,
}
