using System.Numerics.Tensors;

namespace Cria.Tensors.Formats;

/// <summary>IEEE float32, one element per "block".</summary>
public readonly unsafe struct F32Format : IBlockFormat
{
    public static GgmlType Type => GgmlType.F32;
    public static int BlockElements => 1;
    public static int BlockBytes => 4;

    public static void Dequantize(byte* src, float* dst, long n) =>
        Buffer.MemoryCopy(src, dst, n * 4, n * 4);

    public static float Dot(byte* row, float* x, int n) =>
        TensorPrimitives.Dot(new ReadOnlySpan<float>(row, n), new ReadOnlySpan<float>(x, n));
}
