using System.Text;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Cria.Bench;

/// <summary>Adds an MB/s column (UTF-8 text bytes per second) to tokenizer benchmarks, finer than the shared GB/s one.</summary>
public sealed class MegabytesPerSecondConfig : ManualConfig
{
    public MegabytesPerSecondConfig() => AddColumn(new TextThroughputColumn());
}

/// <summary>UTF-8 bytes of the benchmark's corpus (its <c>Corpus</c> parameter) encoded per second.</summary>
public sealed class TextThroughputColumn : IColumn
{
    public string Id => "MBps";
    public string ColumnName => "MB/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 1;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "UTF-8 text bytes encoded per second (decimal MB)";
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        if (summary[benchmarkCase]?.ResultStatistics is not { } stats) return "-";
        string corpus = (string)benchmarkCase.Parameters["Corpus"];
        return (Encoding.UTF8.GetByteCount(Llama3TokenizerBenchmarks.Text(corpus)) / stats.Mean * 1000).ToString("F1"); // bytes/ns × 1000 = MB/s
    }
}
