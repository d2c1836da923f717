using Cria.Tensors.Activations;
using Cria.Tensors.Kernels.Gemm;

namespace Cria.Tensors.Interleaved;

/// <summary>A weight layout that interleaves groups of rows for the decode kernels, made at load from the file's bytes
/// into memory of the model's own (same size, and the map's pages of it are never touched: no lasting memory). Only where it
/// pays: Q4_0, Q4_K, Q6_K, Q8_0, F16 and BF16 on AVX-512, whose row-by-row decode spends more instructions per byte than
/// memory can feed (bench/RESULTS.md).</summary>
public sealed unsafe class InterleavedLayout
{
    /// <summary>e.g. "Q4_0x16".</summary>
    public string Name { get; }
    /// <summary>The stored type of the rows before repacking.</summary>
    public GgmlType Type { get; }
    /// <summary>Rows per interleaved group; the matrix's rows are a multiple of it.</summary>
    public int GroupRows { get; }
    /// <summary>Whether the kernels read float activations (F16, BF16: scaled by <see cref="ActivationScale"/>) rather
    /// than activations quantised by <see cref="Dot"/>.</summary>
    public bool FloatActivations { get; }
    /// <summary>The factor float activations are multiplied by before <see cref="Gemv"/> and <see cref="Tile"/> read them.</summary>
    public float ActivationScale { get; }
    /// <summary>The activation quantiser and row dot of <see cref="Type"/> (the kernels read the same activations).</summary>
    public QuantizedDotKernels Dot => FloatActivations ? throw new InvalidOperationException($"{Name} reads float activations") : _dot;
    private readonly QuantizedDotKernels _dot;
    /// <summary>The prefill GEMM over the groups (float layouts), which reads unscaled activations.</summary>
    internal FloatGemmKernel Gemm { get; }

    /// <summary>(groups' first byte, groups, activation row, n, y): one token against whole groups of rows.</summary>
    internal delegate*<byte*, int, byte*, int, float*, void> Gemv { get; }
    /// <summary>DotQ8Tile over interleaved rows (rows a multiple of <see cref="GroupRows"/>).</summary>
    internal delegate*<byte*, long, int, byte*, long, int, int, float*, long, void> Tile { get; }
    internal delegate*<byte*, long, int, int, float*, void> DequantizeRow { get; }
    /// <summary>Elements a row's length must be a multiple of (a block, or the float decode's step).</summary>
    public int ColumnStep { get; }
    private readonly delegate*<byte*, byte*, int, int, bool> _repackRows;

    private InterleavedLayout(string name, GgmlType type, int groupRows, delegate*<byte*, int, byte*, int, float*, void> gemv,
        delegate*<byte*, long, int, byte*, long, int, int, float*, long, void> tile, delegate*<byte*, long, int, int, float*, void> dequantizeRow,
        delegate*<byte*, byte*, int, int, bool> repackRows)
    {
        Name = name;
        Type = type;
        GroupRows = groupRows;
        _dot = QuantizedDotKernels.TryGet(type, out var dot) ? dot : throw new InvalidOperationException($"{type} has no integer dot");
        ColumnStep = TensorTypeInfo.Get(type).BlockElements;
        Gemv = gemv;
        Tile = tile;
        DequantizeRow = dequantizeRow;
        _repackRows = repackRows;
    }

    private InterleavedLayout(GgmlType type, float activationScale, FloatGemmKernel gemm, delegate*<byte*, int, byte*, int, float*, void> gemv,
        delegate*<byte*, long, int, byte*, long, int, int, float*, long, void> tile, delegate*<byte*, long, int, int, float*, void> dequantizeRow,
        delegate*<byte*, byte*, int, int, bool> repackRows)
    {
        Name = type + "x16";
        Type = type;
        GroupRows = 16;
        FloatActivations = true;
        ColumnStep = HalfPairsx16<F16Pairs>.ColumnStep;
        ActivationScale = activationScale;
        Gemm = gemm;
        Gemv = gemv;
        Tile = tile;
        DequantizeRow = dequantizeRow;
        _repackRows = repackRows;
    }

    private static InterleavedLayout HalfPairs<T>() where T : struct, IHalfPairs =>
        new(T.Type, T.InputScale, new FloatGemmKernel(T.Type, &T.Gemm, FloatGemmKernels.ScratchFloats), &HalfPairsx16<T>.Gemv,
            &HalfPairsx16<T>.Tile, &HalfPairsx16<T>.DequantizeRow, &HalfPairsx16<T>.RepackRows);

    private static readonly InterleavedLayout F16x16Layout = HalfPairs<F16Pairs>();
    private static readonly InterleavedLayout BF16x16Layout = HalfPairs<BF16Pairs>();

    private static readonly InterleavedLayout Q4_0x16Layout = new("Q4_0x16", GgmlType.Q4_0, Q4_0x16.GroupRows,
        &Q4_0x16.Gemv, &Q4_0x16.Tile, &Q4_0x16.DequantizeRow, &Q4_0x16.RepackRows);

    private static readonly InterleavedLayout Q4_Kx16Layout = new("Q4_Kx16", GgmlType.Q4_K, Q4_Kx16.GroupRows,
        &Q4_Kx16.Gemv, &Q4_Kx16.Tile, &Q4_Kx16.DequantizeRow, &Q4_Kx16.RepackRows);

    private static readonly InterleavedLayout Q6_Kx16Layout = new("Q6_Kx16", GgmlType.Q6_K, Q6_Kx16.GroupRows,
        &Q6_Kx16.Gemv, &Q6_Kx16.Tile, &Q6_Kx16.DequantizeRow, &Q6_Kx16.RepackRows);

    private static readonly InterleavedLayout Q8_0x16Layout = new("Q8_0x16", GgmlType.Q8_0, Q8_0x16.GroupRows,
        &Q8_0x16.Gemv, &Q8_0x16.Tile, &Q8_0x16.DequantizeRow, &Q8_0x16.RepackRows);

    /// <summary>The layout a <paramref name="rows"/> × <paramref name="cols"/> matrix of <paramref name="type"/> is
    /// repacked into on this machine, if any: <c>CRIA_REPACK=0</c> turns repacking off.</summary>
    public static bool TryGet(GgmlType type, int rows, int cols, out InterleavedLayout layout)
    {
        layout = type switch
        {
            GgmlType.Q4_K => Q4_Kx16Layout,
            GgmlType.Q6_K => Q6_Kx16Layout,
            GgmlType.Q8_0 => Q8_0x16Layout,
            GgmlType.F16 => F16x16Layout,
            GgmlType.BF16 => BF16x16Layout,
            _ => Q4_0x16Layout,
        };
        return layout.Type == type && rows > 0 && rows % layout.GroupRows == 0 && cols > 0 && cols % layout.ColumnStep == 0
            && SimdTier.Current >= 512 && InterleavedLoader.Enabled;
    }

    /// <summary>Every layout, for tests.</summary>
    internal static IEnumerable<InterleavedLayout> All => [Q4_0x16Layout, Q4_Kx16Layout, Q6_Kx16Layout, Q8_0x16Layout, F16x16Layout, BF16x16Layout];

    /// <summary>Rewrites the matrix at <paramref name="data"/> in this layout, in place (group by group through a copy);
    /// false (the data then partly rewritten) when its values cannot take the layout (an fp16 inf or NaN), and the
    /// stored rows must be used.</summary>
    public bool Repack(byte* data, int rows, int cols)
    {
        if (rows % GroupRows != 0) throw new ArgumentException($"{Name} repacks whole groups of {GroupRows} rows, not {rows}", nameof(rows));
        if (cols <= 0 || cols % ColumnStep != 0) throw new ArgumentException($"{Name} needs rows of a multiple of {ColumnStep} elements, not {cols}", nameof(cols));
        long groupBytes = GroupRows * TensorTypeInfo.Get(Type).RowBytes(cols);
        byte[] scratch = GC.AllocateUninitializedArray<byte>(checked((int)groupBytes));
        fixed (byte* copy = scratch)
            for (long g = 0; g < rows / GroupRows; g++)
            {
                byte* group = data + g * groupBytes;
                new ReadOnlySpan<byte>(group, (int)groupBytes).CopyTo(scratch);
                if (!_repackRows(copy, group, GroupRows, cols)) return false;
            }
        return true;
    }

    /// <summary>Writes the <paramref name="rows"/> (whole groups) stored rows at <paramref name="source"/> into
    /// <paramref name="destination"/> in this layout (not overlapping); false, with nothing written, when their values
    /// cannot take it.</summary>
    public bool RepackFrom(byte* source, byte* destination, int rows, int cols) => _repackRows(source, destination, rows, cols);

    public override string ToString() => Name;
}
