using System.Runtime.InteropServices;

namespace Cria.IO;

/// <summary>A 64-byte-aligned block of unmanaged floats for kernel buffers: allocated once per context, addressed by
/// pointer without pinning, freed on <see cref="Dispose"/>.</summary>
public sealed unsafe class NativeBuffer : IDisposable
{
    public float* Pointer { get; private set; }
    public long Length { get; }

    public NativeBuffer(long length, bool clear = true)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length));
        Length = length;
        nuint bytes = (nuint)Math.Max(1, length) * sizeof(float);
        Pointer = (float*)NativeMemory.AlignedAlloc(bytes, 64);
        if (clear) NativeMemory.Clear(Pointer, bytes); // left untouched, pages stay unallocated until used
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
