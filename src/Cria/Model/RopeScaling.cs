namespace Cria.Model;

public enum RopeScalingKind { None, Linear, Llama3 }

/// <summary>How RoPE frequencies are stretched for long contexts: none, linear position interpolation, or Llama 3.1's
/// frequency-dependent "llama3" scaling (factor, low/high frequency factors, original context length).</summary>
public sealed record RopeScaling(
    RopeScalingKind Kind,
    double Factor = 1,
    double LowFrequencyFactor = 1,
    double HighFrequencyFactor = 4,
    int OriginalContextLength = 8192)
{
    public static readonly RopeScaling None = new(RopeScalingKind.None);

    /// <summary>Meta's <c>apply_scaling</c> for one inverse frequency (llama-models, Llama 3.1).</summary>
    public double ScaleLlama3(double frequency)
    {
        double lowWavelength = OriginalContextLength / LowFrequencyFactor;
        double highWavelength = OriginalContextLength / HighFrequencyFactor;
        double wavelength = 2 * Math.PI / frequency;
        if (wavelength < highWavelength) return frequency;
        if (wavelength > lowWavelength) return frequency / Factor;
        double smooth = (OriginalContextLength / wavelength - LowFrequencyFactor) / (HighFrequencyFactor - LowFrequencyFactor);
        return (1 - smooth) * frequency / Factor + smooth * frequency;
    }
}
