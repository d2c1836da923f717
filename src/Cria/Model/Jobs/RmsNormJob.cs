using Cria.Tensors.Kernels;
using Cria.Threading;

namespace Cria.Model.Jobs;

/// <summary>RMSNorm of each token row of a batch, split over workers by token.</summary>
internal sealed unsafe class RmsNormJob : ParallelJob
{
    private float* _x;
    private float* _y;
    private float[] _weight = [];
    private float _eps;
    private int _dim;

    public void Set(float* x, float* y, float[] weight, float eps, int dim)
    {
        _x = x;
        _y = y;
        _weight = weight;
        _eps = eps;
        _dim = dim;
    }

    public override void Execute(int start, int end, int worker)
    {
        for (int t = start; t < end; t++)
            RmsNorm.Apply(new ReadOnlySpan<float>(_x + (long)t * _dim, _dim), _weight, _eps, new Span<float>(_y + (long)t * _dim, _dim));
    }
}
