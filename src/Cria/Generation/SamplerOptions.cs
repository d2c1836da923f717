namespace Cria.Generation;

/// <summary>How the next token is chosen. Defaults follow llama.cpp's (temperature 0.8, top-k 40, top-p 0.95,
/// min-p 0.05, no repetition penalty); temperature 0 means greedy.</summary>
public sealed record SamplerOptions
{
    public float Temperature { get; init; } = 0.8f;
    /// <summary>Keep the K most likely tokens; 0 = all.</summary>
    public int TopK { get; init; } = 40;
    /// <summary>Keep the smallest set whose probability reaches P; 1 = all.</summary>
    public float TopP { get; init; } = 0.95f;
    /// <summary>Drop tokens less likely than MinP × the most likely one's probability; 0 = none.</summary>
    public float MinP { get; init; } = 0.05f;
    /// <summary>Divide positive logits (multiply negative ones) of recently seen tokens by this; 1 = off.</summary>
    public float RepeatPenalty { get; init; } = 1.0f;
    /// <summary>How many of the last tokens the repetition penalty looks at.</summary>
    public int RepeatLastN { get; init; } = 64;
    /// <summary>Seed of the random choice; the same seed, model and prompt give the same text. Null = a random seed.</summary>
    public ulong? Seed { get; init; }

    public static SamplerOptions Greedy => new() { Temperature = 0 };

    /// <summary>Throws a <see cref="CriaException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (!(Temperature >= 0) || float.IsInfinity(Temperature)) throw new CriaException($"temperature must be 0 or more, got {Temperature}");
        if (TopK < 0) throw new CriaException($"top-k must be 0 (off) or more, got {TopK}");
        if (!(TopP > 0 && TopP <= 1)) throw new CriaException($"top-p must be in (0, 1], got {TopP}");
        if (!(MinP >= 0 && MinP <= 1)) throw new CriaException($"min-p must be in [0, 1], got {MinP}");
        if (!(RepeatPenalty > 0) || float.IsInfinity(RepeatPenalty)) throw new CriaException($"repeat penalty must be positive, got {RepeatPenalty}");
        if (RepeatLastN < 0) throw new CriaException($"repeat-last-n must be 0 or more, got {RepeatLastN}");
    }
}
