using System.Diagnostics;

namespace Cria.Model;

/// <summary>Where a forward pass spends its time, by step, when <c>CRIA_PROFILE=1</c> (off otherwise: one branch per
/// step). Ticks accumulate over all passes of a context; <see cref="Report"/> prints the shares.</summary>
public sealed class ForwardProfile
{
    public enum Step { Embedding, Norm, QkvMatmul, Rope, Attention, OutputMatmul, GateUpMatmul, SwiGlu, DownMatmul, Residual, Logits }

    private readonly long[] _ticks = new long[Enum.GetValues<Step>().Length];
    private long _last;

    public static bool Enabled { get; } = Environment.GetEnvironmentVariable("CRIA_PROFILE") == "1";

    public void Start() => _last = Stopwatch.GetTimestamp();

    /// <summary>Charges the time since the previous mark to <paramref name="step"/>.</summary>
    public void Mark(Step step)
    {
        long now = Stopwatch.GetTimestamp();
        _ticks[(int)step] += now - _last;
        _last = now;
    }

    public string Report()
    {
        long total = _ticks.Sum();
        if (total == 0) return "no forward passes profiled";
        return string.Join(", ", Enum.GetValues<Step>().Select(s => $"{s} {100.0 * _ticks[(int)s] / total:F1}%")) +
               $" of {total * 1000.0 / Stopwatch.Frequency:F0} ms";
    }
}
