using Cria.Tensors;

namespace Cria.Conversion;

/// <summary>Block quantisers by type (filled in as quantisers land).</summary>
public static class Quantizers
{
    public static bool CanQuantize(GgmlType type) => false;

    public static void Quantize(GgmlType type, ReadOnlySpan<float> row, Span<byte> destination) =>
        throw new CriaException($"writing {TensorTypeInfo.Get(type).Name} is not supported yet");
}
