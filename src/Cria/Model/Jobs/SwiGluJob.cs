using Cria.Tensors.Kernels;
using Cria.Threading;

namespace Cria.Model.Jobs;

/// <summary>gate = SiLU(gate) · up for each token row, split over workers by token.</summary>
internal sealed unsafe class SwiGluJob : ParallelJob
{
    private readonly float[][] _scratch;
    private float* _gate;
    private float* _up;
    private int _hidden;

    public SwiGluJob(int hidden, int workers)
    {
        _hidden = hidden;
        _scratch = new float[workers][];
        for (int i = 0; i < workers; i++) _scratch[i] = new float[hidden];
    }

    public void Set(float* gate, float* up)
    {
        _gate = gate;
        _up = up;
    }

    public override void Execute(int start, int end, int worker)
    {
        for (int t = start; t < end; t++)
            SwiGlu.Apply(new Span<float>(_gate + (long)t * _hidden, _hidden), new ReadOnlySpan<float>(_up + (long)t * _hidden, _hidden), _scratch[worker]);
    }
}
