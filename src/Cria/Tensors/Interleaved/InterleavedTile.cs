using Cria.Tensors.Formats;

namespace Cria.Tensors.Interleaved;

/// <summary><c>DotQ8Tile</c> over interleaved groups, shared by the layouts: the tile driver with <typeparamref name="TBody"/>
/// (whose panel decode reads a group with plain loads) on AVX-512, otherwise the layout's one-token kernel per token.</summary>
internal static unsafe class InterleavedTile<TBody> where TBody : struct, IInt8TileBody
{
    public static void Run(string layout, GgmlType type, int storedBlockBytes, int activationBlockBytes,
        delegate*<byte*, int, byte*, int, float*, void> gemv,
        byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n, float* y, long yStride)
    {
        int groupRows = TBody.GroupRows;
        if (rows % groupRows != 0) throw new ArgumentException($"{layout} Tile: {rows} rows are not whole groups of {groupRows}", nameof(rows));
        Int8Tile.Validate(type, TBody.BlockElements, storedBlockBytes, new(TBody.BlockElements, activationBlockBytes), w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride);
        Fp16.EnsureTable();
        if (SimdTier.Current >= 512)
        {
            Int8TileDriver<TBody>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, null);
            return;
        }
        float* row = stackalloc float[groupRows];
        for (int t = 0; t < tokens; t++)
            for (int g = 0; g < rows / groupRows; g++)
            {
                gemv(w + g * groupRows * wRowBytes, 1, a + t * aRowBytes, n, row);
                new ReadOnlySpan<float>(row, groupRows).CopyTo(new Span<float>(y + t * yStride + g * groupRows, groupRows));
            }
    }
}
