using Cria.Tensors.Activations;

namespace Cria.Tensors.Interleaved;

/// <summary>A weight layout that interleaves groups of rows for the decode kernels, made at load by rewriting a copy of
/// a matrix's bytes in place (same size, and the map's pages of it are never touched: no lasting memory). Only where it pays: Q4_0, Q4_K and Q8_0 on AVX-512, whose
/// row-by-row decode spends more instructions per byte than memory can feed (bench/RESULTS.md).</summary>
public sealed unsafe class InterleavedLayout
{
    /// <summary>e.g. "Q4_0x16".</summary>
    public string Name { get; }
    /// <summary>The stored type of the rows before repacking.</summary>
    public GgmlType Type { get; }
    /// <summary>Rows per interleaved group; the matrix's rows are a multiple of it.</summary>
    public int GroupRows { get; }
    /// <summary>The activation quantiser and row dot of <see cref="Type"/> (the kernels read the same activations).</summary>
    public QuantizedDotKernels Dot { get; }

    /// <summary>(groups' first byte, groups, activation row, n, y): one token against whole groups of rows.</summary>
    internal delegate*<byte*, int, byte*, int, float*, void> Gemv { get; }
    /// <summary>DotQ8Tile over interleaved rows (rows a multiple of <see cref="GroupRows"/>).</summary>
    internal delegate*<byte*, long, int, byte*, long, int, int, float*, long, void> Tile { get; }
    internal delegate*<byte*, long, int, int, float*, void> DequantizeRow { get; }
    private readonly delegate*<byte*, int, int, void> _repack;

    private InterleavedLayout(string name, GgmlType type, int groupRows, delegate*<byte*, int, byte*, int, float*, void> gemv,
        delegate*<byte*, long, int, byte*, long, int, int, float*, long, void> tile, delegate*<byte*, long, int, int, float*, void> dequantizeRow,
        delegate*<byte*, int, int, void> repack)
    {
        Name = name;
        Type = type;
        GroupRows = groupRows;
        Dot = QuantizedDotKernels.TryGet(type, out var dot) ? dot : throw new InvalidOperationException($"{type} has no integer dot");
        Gemv = gemv;
        Tile = tile;
        DequantizeRow = dequantizeRow;
        _repack = repack;
    }

    private static readonly InterleavedLayout Q4_0x16Layout = new("Q4_0x16", GgmlType.Q4_0, Q4_0x16.GroupRows,
        &Q4_0x16.Gemv, &Q4_0x16.Tile, &Q4_0x16.DequantizeRow, &Q4_0x16.Repack);

    private static readonly InterleavedLayout Q4_Kx16Layout = new("Q4_Kx16", GgmlType.Q4_K, Q4_Kx16.GroupRows,
        &Q4_Kx16.Gemv, &Q4_Kx16.Tile, &Q4_Kx16.DequantizeRow, &Q4_Kx16.Repack);

    private static readonly InterleavedLayout Q8_0x16Layout = new("Q8_0x16", GgmlType.Q8_0, Q8_0x16.GroupRows,
        &Q8_0x16.Gemv, &Q8_0x16.Tile, &Q8_0x16.DequantizeRow, &Q8_0x16.Repack);

    /// <summary>The layout a <paramref name="rows"/> × <paramref name="cols"/> matrix of <paramref name="type"/> is
    /// repacked into on this machine, if any: <c>CRIA_REPACK=0</c> turns repacking off.</summary>
    public static bool TryGet(GgmlType type, int rows, int cols, out InterleavedLayout layout)
    {
        layout = type switch { GgmlType.Q4_K => Q4_Kx16Layout, GgmlType.Q8_0 => Q8_0x16Layout, _ => Q4_0x16Layout };
        return layout.Type == type && rows % layout.GroupRows == 0 && cols % TensorTypeInfo.Get(type).BlockElements == 0
            && SimdTier.Current >= 512 && InterleavedLoader.Enabled;
    }

    /// <summary>Every layout, for tests.</summary>
    internal static IEnumerable<InterleavedLayout> All => [Q4_0x16Layout, Q4_Kx16Layout, Q8_0x16Layout];

    /// <summary>Rewrites the matrix at <paramref name="data"/> in this layout, in place.</summary>
    public void Repack(byte* data, int rows, int cols) => _repack(data, rows, cols);

    public override string ToString() => Name;
}
