using BenchmarkDotNet.Running;

namespace Cria.Bench;

/// <summary>Kernel micro-benchmarks: <c>dotnet run -c Release --project bench/Cria.Bench -- --filter '*'</c>.
/// Each reports the weight bytes it streams per second (GB/s column), so a regression shows.</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, BenchConfig.Create());
}
