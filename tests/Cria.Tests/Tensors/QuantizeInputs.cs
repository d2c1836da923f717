namespace Cria.Tests.Tensors;

/// <summary>The float inputs of the quantisation fixture (Data/ggml-quantize-vectors.json). tools/ggml-reference compiles
/// this same file to make the fixture with ggml, and the tests regenerate the inputs from it; the fixture also stores
/// each input's sha256, so a drift here shows as an input mismatch, not as a quantiser bug. Only float additions and
/// multiplications are used (no libm), so every .NET version produces the same bits.</summary>
public static class QuantizeInputs
{
    /// <summary>The generators, by the name the fixture records.</summary>
    public static float[] Generate(string generator, ulong seed, int blocks, int blockElements) => generator switch
    {
        "mixed" => Mixed(seed, blocks, blockElements),
        "edge" => Edge(seed, blockElements),
        "nonfinite" => NonFinite(seed, blockElements),
        "f32-sweep" => Sweep(),
        _ => throw new ArgumentException($"unknown generator '{generator}'", nameof(generator)),
    };

    /// <summary>Rows of one block each whose magnitude cycles 1e-3 … 10 per row, roughly normal values with rare
    /// outliers 8x larger, like real weights.</summary>
    public static float[] Mixed(ulong seed, int blocks, int blockElements)
    {
        var rng = new SplitMix64(seed);
        float[] x = new float[blocks * blockElements];
        float[] scales = [1e-3f, 1e-2f, 1e-1f, 1f, 10f];
        for (int i = 0; i < x.Length; i++)
        {
            float scale = scales[i / blockElements % scales.Length];
            float outlier = rng.Next() % 97 == 0 ? 8 * rng.Normal() : 0;
            x[i] = scale * (rng.Normal() + outlier);
        }
        return x;
    }

    /// <summary>Names of the blocks <see cref="Edge"/> makes, in order.</summary>
    public static readonly string[] EdgeBlocks =
    [
        "all zero", "all -0", "constant 0.5", "constant -3", "one huge value (1e4) among small ones", "tiny values (~1e-20)",
        "float subnormals (~1e-40)", "ramp -1 … 1", "small integers -8 … 7", "one nonzero first", "one negative nonzero last",
        "alternating ±1", "tied extremes +2/-2", "near fp16 max (6e4)", "scale overflows fp16 (~1e6)", "half 1e-3, half 1e3",
        "values on half steps", "single outlier -1e3 at the end",
    ];

    /// <summary>One block per entry of <see cref="EdgeBlocks"/>: the cases where rounding, ties, zero scales and
    /// fp16 range decide the bytes.</summary>
    public static float[] Edge(ulong seed, int n)
    {
        var rng = new SplitMix64(seed);
        var x = new float[EdgeBlocks.Length * n];
        for (int b = 0; b < EdgeBlocks.Length; b++)
            for (int j = 0; j < n; j++)
            {
                float normal = rng.Normal();
                x[b * n + j] = b switch
                {
                    0 => 0f,
                    1 => -0f,
                    2 => 0.5f,
                    3 => -3f,
                    4 => j == n / 3 ? 1e4f : 0.01f * normal,
                    5 => 1e-20f * normal,
                    6 => 1e-40f * (j - n / 2),
                    7 => -1f + 2f * j / (n - 1),
                    8 => j % 16 - 8,
                    9 => j == 0 ? 1f : 0f,
                    10 => j == n - 1 ? -1f : 0f,
                    11 => j % 2 == 0 ? 1f : -1f,
                    12 => j == 3 ? 2f : j == 7 ? -2f : 0.5f * normal,
                    13 => 6e4f * (normal / 4),
                    14 => 1e6f * normal,
                    15 => j < n / 2 ? 1e-3f * normal : 1e3f * normal,
                    16 => 0.5f * (j % 9) - 2f,
                    _ => j == n - 1 ? -1e3f : normal,
                };
            }
        return x;
    }

    /// <summary>Names of the blocks <see cref="NonFinite"/> makes, in order.</summary>
    public static readonly string[] NonFiniteBlocks = ["NaN first", "+inf in the middle", "-inf last", "all NaN", "NaN and +inf"];

    /// <summary>Blocks with NaN and infinities among normal values (llama-quantize refuses such input; ggml's quantisers
    /// still produce definite bytes, which Cria reproduces).</summary>
    public static float[] NonFinite(ulong seed, int n)
    {
        var rng = new SplitMix64(seed);
        var x = new float[NonFiniteBlocks.Length * n];
        for (int b = 0; b < NonFiniteBlocks.Length; b++)
            for (int j = 0; j < n; j++)
            {
                float normal = rng.Normal();
                x[b * n + j] = b switch
                {
                    0 => j == 0 ? float.NaN : normal,
                    1 => j == n / 2 ? float.PositiveInfinity : normal,
                    2 => j == n - 1 ? float.NegativeInfinity : normal,
                    3 => float.NaN,
                    _ => j == 1 ? float.NaN : j == n - 2 ? float.PositiveInfinity : normal,
                };
            }
        return x;
    }

    /// <summary>2^18 float bit patterns: the top 18 bits (sign, exponent, 9 mantissa bits) count up, and the low 14 bits
    /// cycle through the patterns that decide fp16/bf16 rounding (exact, just below, at and above half an fp16 step,
    /// odd and even last bits), so every exponent, subnormal, inf and NaN payload class is covered.</summary>
    public static float[] Sweep()
    {
        uint[] low = [0x0000, 0x1000, 0x1001, 0x0FFF, 0x2000, 0x3000, 0x3FFF, 0x2001, 0x0001, 0x1FFF];
        var x = new float[1 << 18];
        for (int k = 0; k < x.Length; k++)
            x[k] = BitConverter.UInt32BitsToSingle(((uint)k << 14) | low[k % low.Length]);
        return x;
    }

    /// <summary>SplitMix64: a fixed, documented generator.</summary>
    public sealed class SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public ulong Next()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        public float Uniform() => (Next() >> 40) * (1f / (1 << 24));

        /// <summary>Irwin–Hall approximation of a standard normal (sum of 12 uniforms − 6).</summary>
        public float Normal()
        {
            float s = 0;
            for (int i = 0; i < 12; i++) s += Uniform();
            return s - 6;
        }
    }
}
