using System.Runtime.InteropServices;

namespace Cria.IO;

/// <summary>A 64-byte-aligned block of unmanaged floats for kernel buffers: allocated once per context, addressed by
/// pointer without pinning, freed on <see cref="Dispose"/>.</summary>
public sealed unsafe class NativeBuffer : IDisposable
{
    private const nuint OwnPagesFrom = 128 << 10;          // glibc's first mmap threshold: smaller blocks share pages
    private const nuint OwnPagesReserve = (32 << 20) + 4096; // above DEFAULT_MMAP_THRESHOLD_MAX, so always mmapped

    public float* Pointer { get; private set; }
    public long Length { get; }

    /// <param name="length">Floats.</param>
    /// <param name="clear">Zero the floats (touching every page); without, pages stay unallocated until used.</param>
    /// <param name="ownPages">Reserve past glibc's largest mmap threshold (32 MiB), so the buffer gets pages of its own
    /// that freeing returns to the OS at once. Without, a freed buffer of a few MiB stays in malloc's heap, and contexts
    /// made one after another pile up there: 33 MiB more peak RSS for Llama-3.2-1B in <c>cria bench -t 1,2</c>. Pages
    /// never touched cost no memory, only address space; buffers that live as long as the model need not.</param>
    /// <param name="hugePages">Back the buffer with 2 MiB pages where the OS allows (<see cref="HugePages"/>); it gets
    /// pages of its own, since memory malloc hands back already touched stays in small pages.</param>
    public NativeBuffer(long length, bool clear = true, bool ownPages = true, bool hugePages = false)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length));
        Length = length;
        nuint bytes = (nuint)Math.Max(1, length) * sizeof(float);
        bool fresh = (ownPages && bytes >= OwnPagesFrom) || (hugePages && bytes >= HugePages.Size);
        nuint reserve = fresh && bytes < OwnPagesReserve ? OwnPagesReserve : bytes;
        Pointer = (float*)NativeMemory.AlignedAlloc(reserve, 64);
        if (hugePages) HugePages.Advise(Pointer, (long)bytes);
        if (clear) NativeMemory.Clear(Pointer, bytes);
    }

    public Span<float> Span => new(Pointer, checked((int)Length));

    public Span<float> Slice(long start, int length)
    {
        if (start < 0 || length < 0 || start + length > Length) throw new ArgumentOutOfRangeException(nameof(start));
        return new Span<float>(Pointer + start, length);
    }

    public void Dispose()
    {
        if (Pointer == null) return;
        NativeMemory.AlignedFree(Pointer);
        Pointer = null;
        GC.SuppressFinalize(this);
    }

    ~NativeBuffer() => Dispose();
}
