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

    /// <summary><c>CRIA_REPACK=0</c> keeps every matrix as stored.</summary>
    public static bool Enabled => Environment.GetEnvironmentVariable("CRIA_REPACK") != "0";

    /// <summary>The repacked matrix for each of <paramref name="matrices"/> that has a layout here and whose values it
    /// can take (keyed by the stored one); the buffers that hold them are added to <paramref name="storage"/>, which the model owns.</summary>
    public static Dictionary<WeightMatrix, WeightMatrix> Repack(MappedFile mapping, IEnumerable<WeightMatrix> matrices, List<IDisposable> storage)
    {
        var todo = new List<(WeightMatrix Stored, InterleavedLayout Layout)>();
        foreach (var m in matrices.Distinct())
            if (m.IsContiguous && m.Interleaved == null && InterleavedLayout.TryGet(m.Type, m.Rows, m.Cols, out var l)) todo.Add((m, l));
        var repacked = new WeightMatrix[todo.Count];
        var buffers = new NativeBuffer?[todo.Count];
        try
        {
            using var handle = File.OpenHandle(mapping.Path, FileMode.Open, FileAccess.Read, FileShare.Read);
            Parallel.For(0, todo.Count, i =>
            {
                var (stored, layout) = todo[i];
                long offset = stored.Data - mapping.Pointer, bytes = stored.ByteSize;
                if (offset < 0 || bytes > mapping.Length - offset)
                    throw new ModelFormatException($"'{mapping.Path}': tensor '{stored.Tensor.SourceName}' lies outside the file");
                var buffer = buffers[i] = new NativeBuffer((bytes + sizeof(float) - 1) / sizeof(float), clear: false);
                byte* data = (byte*)buffer.Pointer;
                if (!ReadRepacked(handle, mapping.Path, offset, stored, layout, data))
                {
                    buffers[i] = null; // values the layout cannot take (an fp16 inf/NaN): the stored rows serve
                    buffer.Dispose();
                    return;
                }
                var t = stored.Tensor;
                repacked[i] = new WeightMatrix(TensorData.Contiguous(t.Name, t.SourceName, t.Type, t.Dimensions, data), layout);
            });
        }
        catch
        {
            foreach (var b in buffers) b?.Dispose();
            throw;
        }
        foreach (var b in buffers)
            if (b != null) storage.Add(b);
        var result = new Dictionary<WeightMatrix, WeightMatrix>(todo.Count);
        for (int i = 0; i < todo.Count; i++)
            if (repacked[i] != null) result[todo[i].Stored] = repacked[i];
        return result;
    }

    /// <summary>Reads the stored matrix a few groups at a time into a scratch that stays in cache, and repacks each
    /// piece from there into <paramref name="destination"/>: the new memory is written once, not read back.</summary>
    private static bool ReadRepacked(Microsoft.Win32.SafeHandles.SafeFileHandle handle, string path, long offset, WeightMatrix stored,
        InterleavedLayout layout, byte* destination)
    {
        long groupBytes = layout.GroupRows * stored.RowBytes;
        int groups = (int)Math.Clamp(ChunkBytes / groupBytes, 1, stored.Rows / layout.GroupRows);
        byte* scratch = (byte*)NativeMemory.AlignedAlloc((nuint)(groups * groupBytes), 64);
        try
        {
            for (int row = 0; row < stored.Rows; row += groups * layout.GroupRows)
            {
                int rows = Math.Min(groups * layout.GroupRows, stored.Rows - row);
                long at = row * stored.RowBytes;
                ReadExactly(handle, path, offset + at, scratch, rows * stored.RowBytes);
                if (!layout.RepackFrom(scratch, destination + at, rows, stored.Cols)) return false;
            }
            return true;
        }
        finally
        {
            NativeMemory.AlignedFree(scratch);
        }
    }

    private static void ReadExactly(Microsoft.Win32.SafeHandles.SafeFileHandle handle, string path, long offset, byte* destination, long bytes)
    {
        for (long done = 0; done < bytes;)
        {
            int read = RandomAccess.Read(handle, new Span<byte>(destination + done, (int)Math.Min(1 << 30, bytes - done)), offset + done);
            if (read <= 0) throw new ModelFormatException($"'{path}' ended at byte {offset + done} while reading a tensor of {bytes} bytes (the file changed?)");
            done += read;
        }
    }
}
