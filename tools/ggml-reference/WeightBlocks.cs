using System.Buffers.Binary;

namespace GgmlReference;

/// <summary>Weight blocks of the quantised types, shared by the dequantisation and the dot-product fixtures.</summary>
internal static unsafe class WeightBlocks
{
    /// <summary>Random bytes with the fp16 scale fields at <paramref name="scaleOffsets"/> overwritten: first with edge
    /// values (±0, ±1, subnormals, smallest normal, ±65504), then random finite halves. Block 0 has every other byte
    /// 0x00, block 1 every other byte 0xFF.</summary>
    public static byte[] Random(SplitMix64 rng, int blocks, int bytes, int[] scaleOffsets)
    {
        ushort[] edges = [0x0000, 0x8000, 0x3C00, 0xBC00, 0x0001, 0x8001, 0x03FF, 0x0400, 0x7BFF, 0xFBFF, 0x3555, 0x2E66];
        byte[] data = new byte[blocks * bytes];
        rng.Fill(data);
        Array.Fill(data, (byte)0x00, 0, bytes);
        Array.Fill(data, (byte)0xFF, bytes, bytes);
        int e = 0;
        for (int b = 0; b < blocks; b++)
            foreach (int off in scaleOffsets)
            {
                ushort h = e < edges.Length ? edges[e++] : rng.FiniteHalf();
                BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(b * bytes + off), h);
            }
        return data;
    }

    /// <summary>ggml's <c>from_float_ref</c> of rows with a varying magnitude (1e-3 … 10 per <paramref name="elementsPerRow"/>),
    /// roughly normal values and a few outliers, like real weights.</summary>
    public static byte[] Quantize(Ggml.Traits traits, SplitMix64 rng, int blocks, int elementsPerRow)
    {
        long n = blocks * traits.BlockSize;
        if (traits.BlockSize == 1) n = blocks * elementsPerRow;
        float[] x = new float[n];
        for (long i = 0; i < n; i++)
        {
            float scale = MathF.Pow(10, (int)(i / elementsPerRow) % 5 - 3);
            x[i] = scale * (rng.Normal() + (rng.Next() % 97 == 0 ? 8 * rng.Normal() : 0));
        }
        byte[] data = new byte[n / traits.BlockSize * traits.TypeSize];
        fixed (float* src = x)
        fixed (byte* dst = data)
            traits.FromFloatRef(src, dst, n);
        return data;
    }
}
