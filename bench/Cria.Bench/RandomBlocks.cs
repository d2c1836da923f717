using System.Runtime.InteropServices;
using Cria.Tensors;

namespace Cria.Bench;

/// <summary>Weights for benchmarks: random bytes with every fp16 scale field set to a small finite value, so no
/// kernel runs on NaN or infinity (speed does not depend on the values otherwise).</summary>
public static unsafe class RandomBlocks
{
    public static byte* Make(GgmlType type, int rows, int cols)
    {
        var info = TensorTypeInfo.Get(type);
        long bytes = info.RowBytes(cols) * rows;
        var data = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        var random = new Random(1234);
        random.NextBytes(new Span<byte>(data, checked((int)bytes)));
        // Overwrite every aligned 16-bit field of float-typed data with a finite value in ±[0.001, 1).
        if (type is GgmlType.F32)
        {
            var f = new Span<float>(data, (int)(bytes / 4));
            for (int i = 0; i < f.Length; i++) f[i] = (float)(random.NextDouble() * 2 - 1);
        }
        else if (type is GgmlType.F16 or GgmlType.BF16)
        {
            var h = new Span<ushort>(data, (int)(bytes / 2));
            for (int i = 0; i < h.Length; i++) h[i] = Finite16(type, random);
        }
        else
        {
            var h = new Span<ushort>(data, (int)(bytes / 2));
            for (int i = 0; i < h.Length; i++)
                if (IsNonFinite(h[i])) h[i] = Finite16(GgmlType.F16, random); // fp16 scales hide at varying offsets
        }
        return data;
    }

    private static bool IsNonFinite(ushort half) => (half & 0x7C00) == 0x7C00;

    private static ushort Finite16(GgmlType type, Random random)
    {
        float v = (float)(random.NextDouble() * 2 - 1);
        return type == GgmlType.BF16 ? (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16) : BitConverter.HalfToUInt16Bits((Half)v);
    }
}
