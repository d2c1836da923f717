using Cria.Threading;

namespace Cria.Tensors.Kernels;

/// <summary>y[t, r] = W[r] · x[t] for a batch of tokens: rows are split over the worker pool; within a chunk, each
/// weight row is reused for a tile of tokens while it is hot in cache, so a prompt streams the weights once per tile.</summary>
public sealed unsafe class MatMul : ParallelJob
{
    private const int TokenTile = 16;   // tokens sharing one pass over a chunk of rows
    private const int MinRowsPerChunk = 16;

    private readonly WorkerPool _pool;
    private WeightMatrix? _w;
    private float* _x;
    private float* _y;
    private int _tokens;
    private int _xStride;
    private int _yStride;

    public MatMul(WorkerPool pool) => _pool = pool;

    /// <summary>Computes y (tokens × W.Rows, row stride <paramref name="yStride"/>) from x (tokens × W.Cols, row stride
    /// <paramref name="xStride"/>).</summary>
    public void Run(WeightMatrix w, float* x, int xStride, float* y, int yStride, int tokens)
    {
        _w = w;
        _x = x;
        _y = y;
        _tokens = tokens;
        _xStride = xStride;
        _yStride = yStride;
        _pool.Run(this, w.Rows, MinRowsPerChunk);
        _w = null;
    }

    public void Run(WeightMatrix w, float* x, float* y, int tokens) => Run(w, x, w.Cols, y, w.Rows, tokens);

    public override void Execute(int start, int end, int worker)
    {
        var w = _w!;
        if (!w.IsContiguous)
        {
            ExecuteParts(w, start, end);
            return;
        }
        var dot = w.Kernels.Dot;
        int cols = w.Cols;
        for (int t0 = 0; t0 < _tokens; t0 += TokenTile)
        {
            int t1 = Math.Min(_tokens, t0 + TokenTile);
            for (int r = start; r < end; r++)
            {
                byte* row = w.Row(r);
                for (int t = t0; t < t1; t++)
                    _y[(long)t * _yStride + r] = dot(row, _x + (long)t * _xStride, cols);
            }
        }
    }

    // A sharded matrix: each part adds its piece of the rows it holds (parts starting at column 0 come first and assign).
    private void ExecuteParts(WeightMatrix w, int start, int end)
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
                    ref float y = ref _y[(long)t * _yStride + r];
                    y = p.ColStart == 0 ? v : y + v;
                }
            }
        }
    }
}
