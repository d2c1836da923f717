namespace Cria.Tensors.Interleaved;

/// <summary>The loop every layout's repack shares: checks, then group by group (each keeps its byte range) a copy of the
/// group's 16 stored rows, from which <c>block</c> writes each interleaved super-block in place.</summary>
internal static unsafe class InterleavedRepack
{
    public const int GroupRows = 16;

    /// <param name="block">(copy of the group's rows, row bytes, block index, destination): one interleaved block.</param>
    public static void Groups(string layout, GgmlType type, byte* data, int rows, int cols,
        delegate*<byte*, long, int, byte*, void> block)
    {
        var info = TensorTypeInfo.Get(type);
        if (rows % GroupRows != 0) throw new ArgumentException($"{layout} repacks whole groups of {GroupRows} rows, not {rows}", nameof(rows));
        if (cols <= 0 || cols % info.BlockElements != 0)
            throw new ArgumentException($"{type} rows of {cols} elements are not whole blocks of {info.BlockElements}", nameof(cols));
        int nb = cols / info.BlockElements;
        long rowBytes = info.RowBytes(cols), groupBytes = GroupRows * rowBytes, blockBytes = GroupRows * (rowBytes / nb);
        byte[] scratch = GC.AllocateUninitializedArray<byte>(checked((int)groupBytes));
        fixed (byte* copy = scratch)
            for (long g = 0; g < rows / GroupRows; g++)
            {
                byte* group = data + g * groupBytes;
                new ReadOnlySpan<byte>(group, (int)groupBytes).CopyTo(scratch);
                for (int b = 0; b < nb; b++) block(copy, rowBytes, b, group + b * blockBytes);
            }
    }
}
