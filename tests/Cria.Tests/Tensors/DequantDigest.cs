using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Cria.Tensors;

namespace Cria.Tests.Tensors;

/// <summary>Dequantises through the registered kernels and digests the result the way the reference files do:
/// sha256 of the float32 little-endian array.</summary>
public static unsafe class DequantDigest
{
    public static float[] Dequantize(GgmlType type, byte* data, long elements)
    {
        var kernels = BlockKernels.Get(type, "test");
        float[] y = new float[elements];
        fixed (float* dst = y) kernels.Dequantize(data, dst, elements);
        return y;
    }

    public static string Sha256(float[] values)
    {
        Assert.True(BitConverter.IsLittleEndian, "digests assume a little-endian machine");
        return Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(values.AsSpan())));
    }

    public static string Show(float f) => $"{f:R} (0x{BitConverter.SingleToUInt32Bits(f):x8})";
}
