using Cria.IO;

namespace Cria.Model;

/// <summary>Keys and values of past positions for every layer: [layer][position][kvHeads·headDim] floats.
/// Memory is reserved up front but pages are only touched as positions fill.</summary>
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
        _keys = new NativeBuffer(size, clear: false);
        _values = new NativeBuffer(size, clear: false);
    }

    public long ByteSize => 2 * _keys.Length * sizeof(float);

    public float* Key(int layer, int position) => _keys.Pointer + ((long)layer * Capacity + position) * KvDim;

    public float* Value(int layer, int position) => _values.Pointer + ((long)layer * Capacity + position) * KvDim;

    public void Dispose()
    {
        _keys.Dispose();
        _values.Dispose();
    }
}
