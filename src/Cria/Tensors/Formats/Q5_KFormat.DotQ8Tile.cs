namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q5_KFormat
{
    /// <summary><see cref="DotQ8"/> of <paramref name="rows"/> weight rows with <paramref name="tokens"/> activation rows:
    /// <c>y[t·yStride + r] = DotQ8(w + r·wRowBytes, a + t·aRowBytes, n)</c> up to float rounding. Groups of 16 rows (8 with
    /// AVX2) are decoded once per 64 tokens into an L1 panel, multiplied by register tiles of 8 tokens (2)
    /// (<see cref="KQuant45Tile512{TL}"/>).</summary>
    public static void DotQ8Tile(byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n, float* y, long yStride)
    {
        Int8Tile.Validate(GgmlType.Q5_K, 256, 176, new(256, 292), w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride);
        Fp16.EnsureTable();
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) Int8TileDriver<KQuant45Tile512<Q5_KLayout>>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
        else if (bits >= 256 && SimdTier.Has256) Int8TileDriver<KQuant45Tile256<Q5_KLayout>>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
        else Int8Tile.RowDots(w, wRowBytes, 0, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
    }
}
