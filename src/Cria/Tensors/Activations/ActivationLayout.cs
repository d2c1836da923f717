namespace Cria.Tensors.Activations;

/// <summary>Sizes of quantised activation rows, so a matmul can allocate its buffer once per context.</summary>
public static class ActivationLayout
{
    /// <summary>Elements per block: 32 (Q8_0, Q8_1) or 256 (Q8_K).</summary>
    public static int BlockElements(ActivationType type) => type switch
    {
        ActivationType.Q8_0 or ActivationType.Q8_1 => 32,
        ActivationType.Q8_K => 256,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not an activation type"),
    };

    /// <summary>Bytes per block: 34 (Q8_0), 36 (Q8_1), 292 (Q8_K), as ggml lays them out.</summary>
    public static int BlockBytes(ActivationType type) => type switch
    {
        ActivationType.Q8_0 => 34,
        ActivationType.Q8_1 => 36,
        ActivationType.Q8_K => 292,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not an activation type"),
    };

    /// <summary>Bytes of one quantised row of <paramref name="elements"/> activations (a multiple of
    /// <see cref="BlockElements"/>).</summary>
    public static long RowBytes(ActivationType type, long elements)
    {
        int block = BlockElements(type);
        if (elements < 0 || elements % block != 0)
            throw new ArgumentException($"{elements} activations do not fill whole {type} blocks of {block}", nameof(elements));
        return elements / block * BlockBytes(type);
    }
}
