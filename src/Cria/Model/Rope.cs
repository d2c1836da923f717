namespace Cria.Model;

/// <summary>Rotary position embeddings: the per-pair inverse frequencies of a model (with its scaling) and the
/// rotation of query/key heads at a position.</summary>
public sealed class Rope
{
    private readonly double[] _inverseFrequencies;
    private readonly double _positionScale;

    public int RopeDim { get; }
    public int HeadDim { get; }
    public RopeStyle Style { get; }

    /// <param name="frequencyFactors">Optional per-pair divisors (GGUF <c>rope_freqs.weight</c>, Llama 3.1); they
    /// take the place of the llama3 scaling parameters, as in llama.cpp.</param>
    public Rope(LlamaConfig config, ReadOnlySpan<float> frequencyFactors = default)
    {
        RopeDim = config.RopeDim;
        HeadDim = config.HeadDim;
        Style = config.RopeStyle;
        int pairs = RopeDim / 2;
        if (!frequencyFactors.IsEmpty && frequencyFactors.Length != pairs)
            throw new ModelFormatException($"rope_freqs has {frequencyFactors.Length} values, expected {pairs} (RoPE dimension / 2)");
        _inverseFrequencies = new double[pairs];
        for (int i = 0; i < pairs; i++)
        {
            double f = Math.Pow(config.RopeTheta, -2.0 * i / RopeDim);
            if (!frequencyFactors.IsEmpty) f /= frequencyFactors[i];
            else if (config.RopeScaling.Kind == RopeScalingKind.Llama3) f = config.RopeScaling.ScaleLlama3(f);
            _inverseFrequencies[i] = f;
        }
        _positionScale = config.RopeScaling.Kind == RopeScalingKind.Linear ? 1.0 / config.RopeScaling.Factor : 1.0;
    }

    /// <summary>cos and sin of every pair's angle at <paramref name="position"/> (each span RopeDim/2 long).</summary>
    public void Angles(int position, Span<float> cos, Span<float> sin)
    {
        double p = position * _positionScale;
        for (int i = 0; i < _inverseFrequencies.Length; i++)
        {
            (double s, double c) = Math.SinCos(p * _inverseFrequencies[i]);
            cos[i] = (float)c;
            sin[i] = (float)s;
        }
    }

    /// <summary>Rotates each of the <paramref name="heads"/> heads in <paramref name="vector"/> by the given angles.</summary>
    public void Rotate(Span<float> vector, int heads, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        int pairs = RopeDim / 2;
        for (int h = 0; h < heads; h++)
        {
            var head = vector.Slice(h * HeadDim, HeadDim);
            if (Style == RopeStyle.AdjacentPairs)
            {
                for (int i = 0; i < pairs; i++)
                {
                    float a = head[2 * i], b = head[2 * i + 1];
                    head[2 * i] = a * cos[i] - b * sin[i];
                    head[2 * i + 1] = a * sin[i] + b * cos[i];
                }
            }
            else
            {
                for (int i = 0; i < pairs; i++)
                {
                    float a = head[i], b = head[i + pairs];
                    head[i] = a * cos[i] - b * sin[i];
                    head[i + pairs] = a * sin[i] + b * cos[i];
                }
            }
        }
    }
}
