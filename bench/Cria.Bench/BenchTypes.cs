using Cria.Tensors;

namespace Cria.Bench;

/// <summary><c>CRIA_BENCH_TYPES=Q4_0,Q4_K</c> narrows the per-type benchmarks (all types take the better part of an hour).</summary>
internal static class BenchTypes
{
    public static bool Selected(GgmlType type) =>
        Environment.GetEnvironmentVariable("CRIA_BENCH_TYPES") is not { Length: > 0 } names
        || names.Split(',', StringSplitOptions.TrimEntries).Contains(type.ToString(), StringComparer.OrdinalIgnoreCase);
}
