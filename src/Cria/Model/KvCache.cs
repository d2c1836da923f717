using Cria.IO;

namespace Cria.Model;

/// <summary>Keys and values of past positions for every layer, each KV head's in one contiguous run so that attention
/// streams it front to back. Keys are [layer][kvHead][block of 16 positions][headDim][16]: attention scores sixteen
/// positions per vector without horizontal sums, and storing a key touches one 4 KiB block per head, not a line per
/// component spread over the whole context. Values are [layer][kvHead][position][headDim]. Memory is reserved up front
/// but pages are only touched as positions fill.</summary>
public sealed unsafe class KvCache : IDisposable
{
    /// <summary>Positions per key block: one 512-bit vector of floats.</summary>
    public const int KeyBlock = 16;

    private readonly NativeBuffer _keys;
    private readonly NativeBuffer _values;
    private readonly long _headFloats; // floats of one (layer, KV head) run: capacity rounded up to whole key blocks × headDim

    public int Layers { get; }
    public int Capacity { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }
    public int KvDim => KvHeads * HeadDim;

    public KvCache(int layers, int capacity, int kvHeads, int headDim)
    {
        Layers = layers;
        Capacity = capacity;
        KvHeads = kvHeads;
        HeadDim = headDim;
        _headFloats = (long)RoundedCapacity(capacity) * headDim;
        long size = (long)layers * kvHeads * _headFloats;
        _keys = new NativeBuffer(size, clear: false);
        _values = new NativeBuffer(size, clear: false);
    }

    private static int RoundedCapacity(int capacity) => (capacity + KeyBlock - 1) / KeyBlock * KeyBlock;

    /// <summary>The bytes a cache of this shape holds (float32 keys and values, whole key blocks).</summary>
    public static long BytesFor(int layers, int capacity, int kvDim) => 2L * layers * RoundedCapacity(capacity) * kvDim * sizeof(float);

    public long ByteSize => (_keys.Length + _values.Length) * sizeof(float);

    /// <summary>The keys of one KV head: position p's component d is at <c>(p / 16) · 16·headDim + 16·d + p % 16</c>.
    /// Attention may read a whole block past the last position (its scores are never used).</summary>
    public float* KeyHead(int layer, int kvHead) => _keys.Pointer + ((long)layer * KvHeads + kvHead) * _headFloats;

    /// <summary>The values of one KV head: position p's vector is the headDim floats at <c>p · headDim</c>.</summary>
    public float* ValueHead(int layer, int kvHead) => _values.Pointer + ((long)layer * KvHeads + kvHead) * _headFloats;

    /// <summary>Stores the key and value of <paramref name="position"/> (KvDim floats each, heads one after another).</summary>
    public void Store(int layer, int position, ReadOnlySpan<float> key, ReadOnlySpan<float> value)
    {
        if ((uint)position >= (uint)Capacity) throw new ArgumentOutOfRangeException(nameof(position), $"position {position} is outside the cache (0…{Capacity - 1})");
        if (key.Length != KvDim || value.Length != KvDim) throw new ArgumentException($"a key and a value have {KvDim} components, got {key.Length} and {value.Length}");
        long keyOffset = (long)(position / KeyBlock) * KeyBlock * HeadDim + position % KeyBlock;
        for (int h = 0; h < KvHeads; h++)
        {
            float* keys = KeyHead(layer, h) + keyOffset;
            var head = key.Slice(h * HeadDim, HeadDim);
            for (int d = 0; d < head.Length; d++) keys[KeyBlock * d] = head[d];
            value.Slice(h * HeadDim, HeadDim).CopyTo(new Span<float>(ValueHead(layer, h) + (long)position * HeadDim, HeadDim));
        }
    }

    public void Dispose()
    {
        _keys.Dispose();
        _values.Dispose();
    }
}
