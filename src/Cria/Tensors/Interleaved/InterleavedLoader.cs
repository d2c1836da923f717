using System.Runtime.InteropServices;
using Cria.IO;

namespace Cria.Tensors.Interleaved;

/// <summary>Repacks a model's matrices at load: each one this machine has an interleaved layout for is read from the
/// file with positioned reads, a few groups at a time, and written repacked into memory of its own. The map's pages of those tensors
/// are never touched, so peak memory stays the file's size; the file is only read. Matrices are shared over the cores:
/// the time goes to first-touch page faults and copying from the page cache, both of which scale.</summary>
public static unsafe class InterleavedLoader
{
    private const long ChunkBytes = 256 << 10; // stored rows read at a time: within L2 with their repacked copy
    private const long PieceBytes = 8 << 20;   // rows a core takes at a time

    /// <summary><c>CRIA_REPACK=0</c> keeps every matrix as stored.</summary>
    public static bool Enabled => Environment.GetEnvironmentVariable("CRIA_REPACK") != "0";

    /// <summary>The repacked matrix for each of <paramref name="matrices"/> that has a layout here and whose values it
    /// can take (keyed by the stored one); the buffers that hold them are added to <paramref name="storage"/>, which the model owns.</summary>
    public static Dictionary<WeightMatrix, WeightMatrix> Repack(MappedFile mapping, IEnumerable<WeightMatrix> matrices, List<IDisposable> storage)
    {
        var todo = new List<(WeightMatrix Stored, InterleavedLayout Layout)>();
        foreach (var m in matrices.Distinct())
            if (m.IsContiguous && m.Interleaved == null && InterleavedLayout.TryGet(m.Type, m.Rows, m.Cols, out var l)) todo.Add((m, l));
        var buffers = new NativeBuffer?[todo.Count];
        var refused = new bool[todo.Count];
        // Pieces of whole groups from every matrix, so the cores share even the largest one (a tied embedding is a
        // fifth of a 1B model) to the end instead of one core finishing it alone.
        var pieces = new List<(int Matrix, int Row, int Rows)>();
        long scratchBytes = 0;
        try
        {
            for (int i = 0; i < todo.Count; i++)
            {
                var (stored, layout) = todo[i];
                long offset = stored.Data - mapping.Pointer, bytes = stored.ByteSize;
                if (offset < 0 || bytes > mapping.Length - offset)
                    throw new ModelFormatException($"'{mapping.Path}': tensor '{stored.Tensor.SourceName}' lies outside the file");
                // The model's life. Huge pages: 1 200 first-touch faults for a 1B model instead of 600 000, and fewer TLB misses in decode.
                buffers[i] = new NativeBuffer((bytes + sizeof(float) - 1) / sizeof(float), clear: false, ownPages: false, hugePages: true);
                long groupBytes = layout.GroupRows * stored.RowBytes;
                scratchBytes = Math.Max(scratchBytes, ChunkGroups(groupBytes, stored.Rows / layout.GroupRows) * groupBytes);
                int pieceRows = (int)Math.Clamp(PieceBytes / groupBytes, 1, stored.Rows / layout.GroupRows) * layout.GroupRows;
                for (int row = 0; row < stored.Rows; row += pieceRows) pieces.Add((i, row, Math.Min(pieceRows, stored.Rows - row)));
            }
            Parallel.For(0, pieces.Count, () => (nint)NativeMemory.AlignedAlloc((nuint)scratchBytes, 64), (k, _, scratch) =>
            {
                var (i, row, rows) = pieces[k];
                var (stored, layout) = todo[i];
                if (!Volatile.Read(ref refused[i]) && !ReadRepacked(mapping, stored.Data - mapping.Pointer, stored, layout,
                        row, rows, (byte*)buffers[i]!.Pointer, (byte*)scratch))
                    Volatile.Write(ref refused[i], true); // values the layout cannot take (an fp16 inf/NaN): the stored rows serve
                return scratch;
            }, scratch => NativeMemory.AlignedFree((void*)scratch));
        }
        catch
        {
            foreach (var b in buffers) b?.Dispose();
            throw;
        }
        var result = new Dictionary<WeightMatrix, WeightMatrix>(todo.Count);
        for (int i = 0; i < todo.Count; i++)
        {
            if (refused[i])
            {
                buffers[i]!.Dispose();
                continue;
            }
            storage.Add(buffers[i]!);
            var t = todo[i].Stored.Tensor;
            result[todo[i].Stored] = new WeightMatrix(TensorData.Contiguous(t.Name, t.SourceName, t.Type, t.Dimensions, (byte*)buffers[i]!.Pointer), todo[i].Layout);
        }
        return result;
    }

    /// <summary>Groups read at a time: about <see cref="ChunkBytes"/>, at least one.</summary>
    private static long ChunkGroups(long groupBytes, int groups) => Math.Clamp(ChunkBytes / groupBytes, 1, groups);

    /// <summary>Reads rows [<paramref name="row"/>, + <paramref name="rows"/>) of the stored matrix a few groups at a time
    /// into <paramref name="scratch"/>, which stays in cache, and repacks each piece from there into
    /// <paramref name="destination"/> (the whole matrix's buffer): the new memory is written once, not read back.</summary>
    private static bool ReadRepacked(MappedFile mapping, long offset, WeightMatrix stored,
        InterleavedLayout layout, int row, int rows, byte* destination, byte* scratch)
    {
        int step = (int)ChunkGroups(layout.GroupRows * stored.RowBytes, stored.Rows / layout.GroupRows) * layout.GroupRows;
        for (int end = row + rows; row < end; row += step)
        {
            int n = Math.Min(step, end - row);
            long at = row * stored.RowBytes;
            mapping.Read(offset + at, scratch, n * stored.RowBytes);
            if (!layout.RepackFrom(scratch, destination + at, n, stored.Cols)) return false;
        }
        return true;
    }
}
