using Cria.IO;

namespace Cria.Model;

/// <summary>Keys and values of past positions for every layer. Keys are stored transposed, [layer][kvHeads·headDim]
/// [position], so attention scores sixteen positions per vector without horizontal sums; values are
/// [layer][position][kvHeads·headDim]. Memory is reserved up front but pages are only touched as positions fill.</summary>
public sealed unsafe class KvCache : IDisposable
{
    private readonly NativeBuffer _keys;
    private readonly NativeBuffer _values;

    public int Layers { get; }
    public int Capacity { get; }
    public int KvDim { get; }

    public KvCache(int layers, int capacity, int kvDim)
    {
        Layers = layers;
        Capacity = capacity;
        KvDim = kvDim;
        long size = (long)layers * capacity * kvDim;
        _keys = new NativeBuffer(size + VectorSlack, clear: false);
        _values = new NativeBuffer(size, clear: false);
    }

    /// <summary>Attention reads keys sixteen positions at a time, up to fifteen past the last one; the slack keeps
    /// those reads inside the buffer (their scores are never used).</summary>
    public const int VectorSlack = 16;

    /// <summary>The bytes a cache of this shape holds (float32 keys and values).</summary>
    public static long BytesFor(int layers, int capacity, int kvDim) => 2L * layers * capacity * kvDim * sizeof(float);

    public long ByteSize => (_keys.Length - VectorSlack + _values.Length) * sizeof(float);

    /// <summary>Key component <paramref name="component"/> of every position of <paramref name="layer"/> (Capacity floats).</summary>
    public float* KeyComponent(int layer, int component) => _keys.Pointer + ((long)layer * KvDim + component) * Capacity;

    /// <summary>Stores the key of <paramref name="position"/> (KvDim floats) into its column.</summary>
    public void StoreKey(int layer, int position, ReadOnlySpan<float> key)
    {
        float* column = _keys.Pointer + (long)layer * KvDim * Capacity + position;
        for (int c = 0; c < key.Length; c++) column[(long)c * Capacity] = key[c];
    }

    public float* Value(int layer, int position) => _values.Pointer + ((long)layer * Capacity + position) * KvDim;

    public void Dispose()
    {
        _keys.Dispose();
        _values.Dispose();
    }
}
