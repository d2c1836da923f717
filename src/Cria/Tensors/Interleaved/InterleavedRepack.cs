using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cria.Tensors.Formats;

namespace Cria.Tensors.Interleaved;

/// <summary>The loop every quantised layout's repack shares: checks, then group by group (each keeps its byte range)
/// <c>block</c> writes each interleaved super-block from the group's 16 stored rows.</summary>
internal static unsafe class InterleavedRepack
{
    public const int GroupRows = 16;

    /// <summary>Repacks the <paramref name="rows"/> stored rows at <paramref name="source"/> into
    /// <paramref name="destination"/> (the same size; the two must not overlap).</summary>
    /// <param name="block">(the group's stored rows, row bytes, block index, destination): one interleaved block.</param>
    public static void Groups(string layout, GgmlType type, byte* source, byte* destination, int rows, int cols,
        delegate*<byte*, long, int, byte*, void> block)
    {
        var info = TensorTypeInfo.Get(type);
        if (rows % GroupRows != 0) throw new ArgumentException($"{layout} repacks whole groups of {GroupRows} rows, not {rows}", nameof(rows));
        if (cols <= 0 || cols % info.BlockElements != 0)
            throw new ArgumentException($"{type} rows of {cols} elements are not whole blocks of {info.BlockElements}", nameof(cols));
        int nb = cols / info.BlockElements;
        long rowBytes = info.RowBytes(cols), groupBytes = GroupRows * rowBytes, blockBytes = GroupRows * (rowBytes / nb);
        for (long g = 0; g < rows / GroupRows; g++)
        {
            byte* stored = source + g * groupBytes, group = destination + g * groupBytes;
            for (int b = 0; b < nb; b++) block(stored, rowBytes, b, group + b * blockBytes);
        }
    }

    /// <summary>Four consecutive 32-bit words (the 16 bytes at <paramref name="source"/>) of each of 16 rows
    /// <paramref name="rowBytes"/> apart, as four 64-byte vectors at <paramref name="destination"/> + k · <paramref name="stride"/>
    /// whose lane i holds word k of row i: the transpose every layout's repack is made of (AVX-512, or word by word).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Words4(byte* source, long rowBytes, byte* destination, int stride)
    {
        if (SimdTier.Has512)
        {
            Int8Tile.Transpose16(source, rowBytes, out var d0, out var d1, out var d2, out var d3);
            d0.Store(destination); d1.Store(destination + stride); d2.Store(destination + 2 * stride); d3.Store(destination + 3 * stride);
            return;
        }
        for (int i = 0; i < GroupRows; i++)
            for (int k = 0; k < 4; k++)
                *(uint*)(destination + k * stride + 4 * i) = Unsafe.ReadUnaligned<uint>(source + i * rowBytes + 4 * k);
    }
}
