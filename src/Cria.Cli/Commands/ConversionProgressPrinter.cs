using Cria.Conversion;
using Cria.Tensors;

namespace Cria.Cli.Commands;

/// <summary>Prints each tensor as it is written (<c>[  4/291] Writing tensor … | size 4096 x 4096 | type F16</c>) and,
/// when stderr is a terminal, a progress bar.</summary>
public sealed class ConversionProgressPrinter(TextWriter stdout, TextWriter stderr, bool progressBar)
{
    /// <summary>Most anonymous (own, not file-mapped) resident memory seen at any tensor boundary.</summary>
    public long PeakOwnBytes { get; private set; }

    public void Report(TensorProgress p)
    {
        PeakOwnBytes = Math.Max(PeakOwnBytes, Cria.Benchmarking.ProcessMemory.AnonymousResidentBytes());
        if (p.Index < p.Count)
        {
            string counter = $"[{(p.Index + 1).ToString().PadLeft(Math.Max(3, p.Count.ToString().Length))}/{p.Count}]";
            stdout.WriteLine($"{counter} Writing tensor {p.Name} | size {string.Join(" x ", p.Dimensions.Reverse())} | type {TensorTypeInfo.Get(p.Type).Name}");
        }
        if (!progressBar) return;
        double fraction = p.BytesTotal == 0 ? 1 : (double)p.BytesWritten / p.BytesTotal;
        int filled = (int)(fraction * 30);
        stderr.Write($"\r[{new string('#', filled)}{new string('.', 30 - filled)}] {fraction * 100,5:F1}% {p.BytesWritten / 1e6:F0}/{p.BytesTotal / 1e6:F0} MB");
        if (p.Index == p.Count) stderr.WriteLine();
    }
}
