using System.Buffers.Binary;
using Cria.Tensors;

namespace Cria.Tests.Tensors;

/// <summary>Random rows of any supported type with valid (finite, moderate) scales, for the Dot tests.</summary>
public static class TestBlocks
{
    /// <summary>Offsets of the fp16 scale fields in one block of each quantised type (ggml-common.h layouts).</summary>
    public static int[] ScaleOffsets(GgmlType type) => type switch
    {
        GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q5_0 => [0],
        GgmlType.Q4_1 or GgmlType.Q5_1 or GgmlType.Q4_K or GgmlType.Q5_K => [0, 2],
        GgmlType.Q2_K => [80, 82],
        GgmlType.Q3_K => [108],
        GgmlType.Q6_K => [208],
        _ => [],
    };

    /// <summary><paramref name="blocks"/> blocks of <paramref name="type"/>: random quants, scales of ±2^-10…2^-3,
    /// and finite float-like elements of magnitude below 4.</summary>
    public static byte[] Random(GgmlType type, int blocks, Random rng)
    {
        var info = TensorTypeInfo.Get(type);
        byte[] data = new byte[blocks * info.BlockBytes];
        rng.NextBytes(data);
        var span = data.AsSpan();
        switch (type)
        {
            case GgmlType.F32:
                for (int i = 0; i < blocks; i++) BinaryPrimitives.WriteSingleLittleEndian(span[(4 * i)..], Signed(rng, 4));
                break;
            case GgmlType.F16:
                for (int i = 0; i < blocks; i++) BinaryPrimitives.WriteHalfLittleEndian(span[(2 * i)..], (Half)Signed(rng, 4));
                break;
            case GgmlType.BF16:
                for (int i = 0; i < blocks; i++)
                    BinaryPrimitives.WriteUInt16LittleEndian(span[(2 * i)..], (ushort)(BitConverter.SingleToUInt32Bits(Signed(rng, 4)) >> 16));
                break;
            default:
                for (int b = 0; b < blocks; b++)
                    foreach (int offset in ScaleOffsets(type))
                    {
                        float scale = MathF.ScaleB(1 + rng.NextSingle(), -rng.Next(3, 11)) * (rng.Next(2) == 0 ? 1 : -1);
                        BinaryPrimitives.WriteHalfLittleEndian(span[(b * info.BlockBytes + offset)..], (Half)scale);
                    }
                break;
        }
        return data;
    }

    public static float[] Activations(int n, Random rng)
    {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = Signed(rng, 1);
        return x;
    }

    private static float Signed(Random rng, float magnitude) => (2 * rng.NextSingle() - 1) * magnitude;
}
