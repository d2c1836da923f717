using System.Runtime.CompilerServices;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct F32Format
{
    /// <summary>float32 is stored as it is (ggml_quantize_chunk copies it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // long loops: skip tier-0 and OSR
    public static void Quantize(float* src, byte* dst, long n) => Buffer.MemoryCopy(src, dst, n * 4, n * 4);
}
