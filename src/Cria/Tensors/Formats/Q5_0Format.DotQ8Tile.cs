namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q5_0Format
{
    /// <summary><see cref="DotQ8"/> of <paramref name="rows"/> weight rows with <paramref name="tokens"/> activation rows:
    /// <c>y[t·yStride + r] = DotQ8(w + r·wRowBytes, a + t·aRowBytes, n)</c> up to float rounding. Groups of 16 rows (8 with
    /// AVX2) are decoded once per 64 tokens into an L1 panel, multiplied by register tiles of 8 tokens (4)
    /// (<see cref="AffineTile512{T}"/>).</summary>
    public static void DotQ8Tile(byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n, float* y, long yStride) =>
        AffineTile<Q5_0Format>.Run(GgmlType.Q5_0, w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
}
