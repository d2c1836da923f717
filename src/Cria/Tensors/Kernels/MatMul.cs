using Cria.Threading;

namespace Cria.Tensors.Kernels;

/// <summary>y[t, r] = W[r] · x[t] for a batch of tokens, for up to three matrices that share the input (q/k/v,
/// gate/up) in one dispatch: their rows are split over the worker pool together. Within a chunk each weight row is
/// reused for a tile of tokens while it is hot in cache, so a prompt streams the weights once per tile.</summary>
public sealed unsafe class MatMul : ParallelJob
{
    private const int TokenTile = 16;   // tokens sharing one pass over a chunk of rows
    private const int MinRowsPerChunk = 16;
    private const int MaxTargets = 3;

    private readonly WorkerPool _pool;
    private readonly WeightMatrix?[] _w = new WeightMatrix?[MaxTargets];
    private readonly nint[] _y = new nint[MaxTargets];
    private readonly int[] _yStride = new int[MaxTargets];
    private readonly int[] _firstRow = new int[MaxTargets + 1]; // running row offsets of the targets
    private int _targets;
    private float* _x;
    private int _tokens;
    private int _xStride;

    public MatMul(WorkerPool pool) => _pool = pool;

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

    private void Begin(float* x, int xStride, int tokens)
    {
        _targets = 0;
        _x = x;
        _xStride = xStride;
        _tokens = tokens;
    }

    private void Add(WeightMatrix w, float* y, int yStride)
    {
        if (_targets > 0 && w.Cols != _w[0]!.Cols)
            throw new ArgumentException($"'{w.Name}' has {w.Cols} columns but '{_w[0]!.Name}' has {_w[0]!.Cols}: they cannot share an input");
        _w[_targets] = w;
        _y[_targets] = (nint)y;
        _yStride[_targets] = yStride;
        _firstRow[_targets + 1] = _firstRow[_targets] + w.Rows;
        _targets++;
    }

    private void Dispatch()
    {
        _pool.Run(this, _firstRow[_targets], MinRowsPerChunk);
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
            if (w.IsContiguous) Rows(w, (float*)_y[i], _yStride[i], r0, r1);
            else RowsOfParts(w, (float*)_y[i], _yStride[i], r0, r1);
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
}
