using Cria.IO;
using Cria.Tensors.Activations;
using Cria.Tensors.Formats;
using Cria.Tensors.Interleaved;
using Cria.Tensors.Kernels.Gemm;
using Cria.Threading;

namespace Cria.Tensors.Kernels;

/// <summary>y[t, r] = W[r] · x[t] for a batch of tokens, for up to three matrices that share the input (q/k/v,
/// gate/up) in one dispatch: their rows are split over the worker pool together. Quantised weights multiply the
/// input quantised once to 8-bit blocks (integer dot products, as llama.cpp); float weights go through a packed GEMM
/// when there are enough tokens; otherwise each weight row is reused for a tile of tokens while it is hot in cache.
/// Matrices repacked at load into 16-row groups (<see cref="InterleavedLayout"/>) take their layout's kernels; F16 and
/// BF16 rows left as stored take <see cref="HalfPairRows{T}"/> on a few tokens.</summary>
public sealed unsafe class MatMul : ParallelJob, IDisposable
{
    private const int TokenTile = 16;   // tokens sharing one pass over a chunk of rows
    private const int MinRowsPerChunk = 16;
    private const int GemmRowsPerChunk = FloatGemm<F32Format>.MaxPanelRows; // chunks of whole panels
    private const int MinGemmTokens = 4; // fewer tokens do not pay for packing the panels
    private const int MaxTargets = 3;

    /// <summary>How a target's rows are computed.</summary>
    private enum RowPath { FloatDot, FloatGemm, QuantizedDot, QuantizedTile, Interleaved, HalfPairs }

    private readonly WorkerPool _pool;
    private readonly ActivationBuffers _activations = new();
    private readonly NativeBuffer?[] _gemmScratch;
    private readonly NativeBuffer?[] _rowScratch; // a dequantised row of an interleaved matrix on the float path
    private readonly RowPath[] _path = new RowPath[MaxTargets];
    private readonly FloatGemmKernel[] _gemm = new FloatGemmKernel[MaxTargets];
    private readonly QuantizedDotKernels[] _quantized = new QuantizedDotKernels[MaxTargets];
    private readonly HalfPairRowKernels[] _halves = new HalfPairRowKernels[MaxTargets];
    private readonly nint[] _act = new nint[MaxTargets];       // the prepared input of a QuantizedDot, Interleaved or HalfPairs target
    private readonly long[] _actRowBytes = new long[MaxTargets];
    private readonly WeightMatrix?[] _w = new WeightMatrix?[MaxTargets];
    private readonly nint[] _y = new nint[MaxTargets];
    private readonly int[] _yStride = new int[MaxTargets];
    private readonly int[] _firstRow = new int[MaxTargets + 1]; // running row offsets of the targets
    private int _targets;
    private float* _x;
    private int _tokens;
    private int _xStride;
    private readonly bool? _int8Dot; // always / never / (null) where faster; false where the tier has no integer bodies

    /// <summary>A matmul on <paramref name="pool"/>; <paramref name="quantizeActivations"/> says whether quantised
    /// weights take integer dot products on 8-bit activations: always, never, or (null) where that is faster.</summary>
    public MatMul(WorkerPool pool, bool? quantizeActivations = null)
    {
        _pool = pool;
        // The scalar integer bodies are slower than the float ones: below 256-bit vectors only floats.
        _int8Dot = QuantizedDotKernels.IsAccelerated ? quantizeActivations ?? FromEnvironment() : false;
        _gemmScratch = new NativeBuffer?[pool.ThreadCount];
        _rowScratch = new NativeBuffer?[pool.ThreadCount];
    }

    /// <summary><c>CRIA_QUANTIZE_ACTIVATIONS=1</c> or <c>0</c> sets the default of ContextOptions.QuantizeActivations
    /// (always / never) for A/B measurements; unset, the faster path is taken per type.</summary>
    private static bool? FromEnvironment() => Environment.GetEnvironmentVariable("CRIA_QUANTIZE_ACTIVATIONS") switch
    {
        "1" => true,
        "0" => false,
        _ => null,
    };

    /// <summary>Computes y (tokens × W.Rows) from x (tokens × W.Cols), rows packed densely.</summary>
    public void Run(WeightMatrix w, float* x, float* y, int tokens) => Run(w, x, w.Cols, y, w.Rows, tokens);

    /// <summary>Computes y (tokens × W.Rows, row stride <paramref name="yStride"/>) from x (tokens × W.Cols, row stride
    /// <paramref name="xStride"/>).</summary>
    public void Run(WeightMatrix w, float* x, int xStride, float* y, int yStride, int tokens)
    {
        Begin(x, xStride, tokens);
        Add(w, y, yStride);
        Dispatch();
    }

    /// <summary>Two matrices on the same input (e.g. the feed-forward gate and up projections), one dispatch.</summary>
    public void Run(WeightMatrix w0, float* y0, WeightMatrix w1, float* y1, float* x, int tokens)
    {
        Begin(x, w0.Cols, tokens);
        Add(w0, y0, w0.Rows);
        Add(w1, y1, w1.Rows);
        Dispatch();
    }

    /// <summary>Three matrices on the same input (the attention query, key and value projections), one dispatch.</summary>
    public void Run(WeightMatrix w0, float* y0, WeightMatrix w1, float* y1, WeightMatrix w2, float* y2, float* x, int tokens)
    {
        Begin(x, w0.Cols, tokens);
        Add(w0, y0, w0.Rows);
        Add(w1, y1, w1.Rows);
        Add(w2, y2, w2.Rows);
        Dispatch();
    }

    // Measured on Zen 4 (bench/RESULTS.md): the tile kernels beat float dots on a batch; on a single token the integer
    // dot wins for the K-quants and Q5_0, while Q8_0, Q4_0 (a 16-entry vpermps table) and Q4_1/Q5_1 unpack to float faster.
    private bool Int8Pays(in QuantizedDotKernels kernels) => _int8Dot ?? (_tokens > 1
        ? kernels.DotQ8Tile != null
        : kernels.WeightType is not (GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_1));

    private void Begin(float* x, int xStride, int tokens)
    {
        _targets = 0;
        _activations.Reset();
        _x = x;
        _xStride = xStride;
        _tokens = tokens;
    }

    private void Add(WeightMatrix w, float* y, int yStride)
    {
        if (_targets > 0 && w.Cols != _w[0]!.Cols)
            throw new ArgumentException($"'{w.Name}' has {w.Cols} columns but '{_w[0]!.Name}' has {_w[0]!.Cols}: they cannot share an input");
        int i = _targets;
        _path[i] = RowPath.FloatDot;
        if (w.Interleaved is { } layout)
        {
            // Interleaved groups must start on a group boundary of the dispatch's rows (chunks are aligned to 16);
            // otherwise, and for quantised groups on the float path, rows are dequantised one at a time.
            bool aligned = _firstRow[i] % layout.GroupRows == 0;
            if (aligned && layout.FloatActivations && _tokens >= MinGemmTokens)
            {
                _path[i] = RowPath.FloatGemm;
                _gemm[i] = layout.Gemm;
            }
            else if (aligned && layout.FloatActivations)
            {
                _path[i] = RowPath.Interleaved;
                _act[i] = (nint)_activations.GetScaled(layout.ActivationScale, _x, _xStride, _tokens, w.Cols, out _actRowBytes[i]);
            }
            else if (aligned && _int8Dot != false)
            {
                _path[i] = RowPath.Interleaved;
                _act[i] = (nint)_activations.Get(layout.Dot, _x, _xStride, _tokens, w.Cols, out _actRowBytes[i]);
            }
        }
        else if (w.IsContiguous && _tokens >= MinGemmTokens && FloatGemmKernels.TryGet(w.Type, out _gemm[i]))
            _path[i] = RowPath.FloatGemm;
        else if (w.IsContiguous && HalfPairRowKernels.TryGet(w.Type, w.Cols, out _halves[i]))
        {
            _path[i] = RowPath.HalfPairs;
            _act[i] = (nint)_activations.GetPaired(_halves[i], _x, _xStride, _tokens, w.Cols, out _actRowBytes[i]);
        }
        else if (w.IsContiguous && QuantizedDotKernels.TryGet(w.Type, out _quantized[i]) && Int8Pays(_quantized[i]))
        {
            _path[i] = _tokens > 1 && _quantized[i].DotQ8Tile != null ? RowPath.QuantizedTile : RowPath.QuantizedDot;
            _act[i] = (nint)_activations.Get(_quantized[i], _x, _xStride, _tokens, w.Cols, out _actRowBytes[i]);
        }
        _w[i] = w;
        _y[i] = (nint)y;
        _yStride[i] = yStride;
        _firstRow[i + 1] = _firstRow[i] + w.Rows;
        _targets++;
    }

    private void Dispatch()
    {
        bool gemm = false, tiles = false;
        for (int i = 0; i < _targets; i++)
        {
            gemm |= _path[i] == RowPath.FloatGemm;
            tiles |= _path[i] is RowPath.QuantizedTile or RowPath.Interleaved;
        }
        // Tile kernels work best on whole groups of rows: chunks of whole GEMM panels, or of 16 rows.
        _pool.Run(this, _firstRow[_targets], gemm ? GemmRowsPerChunk : MinRowsPerChunk, alignChunks: gemm || tiles);
        for (int i = 0; i < _targets; i++) _w[i] = null;
    }

    public override void Execute(int start, int end, int worker)
    {
        for (int i = 0; i < _targets; i++)
        {
            int first = _firstRow[i], last = _firstRow[i + 1];
            if (end <= first || start >= last) continue;
            var w = _w[i]!;
            int r0 = Math.Max(start, first) - first, r1 = Math.Min(end, last) - first;
            float* y = (float*)_y[i];
            switch (_path[i])
            {
                case RowPath.FloatGemm:
                    _gemm[i].Multiply(w.Data + r0 * w.RowBytes, w.RowBytes, r1 - r0, _x, _xStride, _tokens, w.Cols, y + r0, _yStride[i], GemmScratch(worker));
                    break;
                case RowPath.QuantizedTile:
                    _quantized[i].DotQ8Tile(w.Row(r0), w.RowBytes, r1 - r0, (byte*)_act[i], _actRowBytes[i], _tokens, w.Cols, y + r0, _yStride[i]);
                    break;
                case RowPath.Interleaved:
                    if (_tokens == 1) w.Interleaved!.Gemv(w.Data + r0 * w.RowBytes, (r1 - r0) / w.Interleaved.GroupRows, (byte*)_act[i], w.Cols, y + r0);
                    else w.Interleaved!.Tile(w.Data + r0 * w.RowBytes, w.RowBytes, r1 - r0, (byte*)_act[i], _actRowBytes[i], _tokens, w.Cols, y + r0, _yStride[i]);
                    break;
                case RowPath.QuantizedDot:
                    PreparedRows(w, _quantized[i].DotQ8, (byte*)_act[i], _actRowBytes[i], y, _yStride[i], r0, r1);
                    break;
                case RowPath.HalfPairs:
                    PreparedRows(w, _halves[i].Dot, (byte*)_act[i], _actRowBytes[i], y, _yStride[i], r0, r1);
                    break;
                default:
                    if (w.Interleaved != null) InterleavedRows(w, y, _yStride[i], r0, r1, worker);
                    else if (w.IsContiguous) Rows(w, y, _yStride[i], r0, r1);
                    else RowsOfParts(w, y, _yStride[i], r0, r1);
                    break;
            }
        }
    }

    // Made on a worker's first GEMM, kept for the context's life.
    private float* GemmScratch(int worker) =>
        (_gemmScratch[worker] ??= new NativeBuffer(FloatGemmKernels.ScratchFloats, clear: false)).Pointer;

    // Float activations on an interleaved matrix (QuantizeActivations = false): each row dequantised, then a float dot.
    private void InterleavedRows(WeightMatrix w, float* y, int yStride, int start, int end, int worker)
    {
        var buffer = _rowScratch[worker];
        if (buffer == null || buffer.Length < w.Cols)
        {
            buffer?.Dispose();
            _rowScratch[worker] = buffer = new NativeBuffer(w.Cols, clear: false);
        }
        float* row = buffer.Pointer;
        for (int r = start; r < end; r++)
        {
            w.DequantizeRow(r, new Span<float>(row, w.Cols));
            for (int t = 0; t < _tokens; t++)
                y[(long)t * yStride + r] = F32Format.Dot((byte*)row, _x + (long)t * _xStride, w.Cols);
        }
    }

    // Rows against an input prepared once for their kernel (quantised to 8-bit blocks, or laid out for F16/BF16 pairs).
    private void PreparedRows(WeightMatrix w, delegate*<byte*, byte*, int, float> dot, byte* act, long actRowBytes,
        float* y, int yStride, int start, int end)
    {
        int cols = w.Cols;
        for (int t0 = 0; t0 < _tokens; t0 += TokenTile)
        {
            int t1 = Math.Min(_tokens, t0 + TokenTile);
            for (int r = start; r < end; r++)
            {
                byte* row = w.Row(r);
                for (int t = t0; t < t1; t++)
                    y[(long)t * yStride + r] = dot(row, act + t * actRowBytes, cols);
            }
        }
    }

    private void Rows(WeightMatrix w, float* y, int yStride, int start, int end)
    {
        var dot = w.Kernels.Dot;
        int cols = w.Cols;
        for (int t0 = 0; t0 < _tokens; t0 += TokenTile)
        {
            int t1 = Math.Min(_tokens, t0 + TokenTile);
            for (int r = start; r < end; r++)
            {
                byte* row = w.Row(r);
                for (int t = t0; t < t1; t++)
                    y[(long)t * yStride + r] = dot(row, _x + (long)t * _xStride, cols);
            }
        }
    }

    // A sharded matrix: each part adds its piece of the rows it holds (parts starting at column 0 come first and assign).
    private void RowsOfParts(WeightMatrix w, float* y, int yStride, int start, int end)
    {
        var dot = w.Kernels.Dot;
        foreach (var p in w.Parts)
        {
            int r0 = Math.Max(start, p.RowStart), r1 = Math.Min(end, p.RowStart + p.Rows);
            for (int r = r0; r < r1; r++)
            {
                byte* row = p.Row(r);
                for (int t = 0; t < _tokens; t++)
                {
                    float v = dot(row, _x + (long)t * _xStride + p.ColStart, p.Cols);
                    ref float target = ref y[(long)t * yStride + r];
                    target = p.ColStart == 0 ? v : target + v;
                }
            }
        }
    }

    public void Dispose()
    {
        _activations.Dispose();
        foreach (var b in _gemmScratch) b?.Dispose();
        foreach (var b in _rowScratch) b?.Dispose();
    }
}
