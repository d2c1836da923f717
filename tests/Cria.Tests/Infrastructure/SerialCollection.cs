namespace Cria.Tests.Infrastructure;

/// <summary>Tests that measure process-wide state (allocations, GC counts, timing) run alone, after the parallel ones.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial";
}
