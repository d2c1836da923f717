using Cria.Tensors;

namespace Cria.Tests.Tensors;

/// <summary>Tests that change <see cref="SimdTier.MaxVectorBits"/> (a process-wide setting) run alone, after the
/// parallel ones, so no other test sees a narrowed kernel width.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SimdTierCollection
{
    public const string Name = "SimdTier (process-wide kernel width)";
}

/// <summary>The kernel bodies: 512-, 256-, 128-bit and scalar. A body the machine lacks falls back to the next one.</summary>
public static class SimdTiers
{
    public static readonly int[] All = [512, 256, 128, 0];

    public static TheoryData<int> Data() => new(All);

    /// <summary>Runs with <see cref="SimdTier.MaxVectorBits"/> set to <paramref name="bits"/>, restoring it afterwards.</summary>
    public static IDisposable Use(int bits) => new Scope(bits);

    private sealed class Scope : IDisposable
    {
        private readonly int _previous = SimdTier.MaxVectorBits;

        public Scope(int bits) => SimdTier.MaxVectorBits = bits;

        public void Dispose() => SimdTier.MaxVectorBits = _previous;
    }
}
