namespace Cria.Tests.Tensors;

/// <summary>The float activation rows of the integer-dot fixture (Data/ggml-q8-dot-vectors.json). tools/ggml-reference
/// compiles this same file to make the fixture with ggml, and the tests regenerate the rows from it; the fixture stores
/// each row's sha256, so a drift here shows as an input mismatch, not as a kernel bug. Only float additions,
/// multiplications, divisions and bit steps are used (no libm), so every .NET version produces the same bits.
/// <c>blockElements</c> is the activation block (32 for Q8_0/Q8_1, 256 for Q8_K): the cases that depend on a block's
/// maximum (zero blocks, ties, equal extremes) are laid out per block.</summary>
public static class ActivationInputs
{
    /// <summary>The cases the dot products run on (finite rows).</summary>
    public static readonly string[] DotCases = ["normal", "magnitudes", "zero-blocks", "ties", "outliers"];

    /// <summary>Cases only the activation quantisers run on: their bytes are defined, their dot products are not useful.</summary>
    public static readonly string[] QuantizeOnlyCases = ["nonfinite"];

    /// <summary>Makes <paramref name="elements"/> floats (a multiple of <paramref name="blockElements"/>) of one case.</summary>
    public static float[] Generate(string name, ulong seed, int elements, int blockElements)
    {
        if (elements % blockElements != 0) throw new ArgumentException($"{elements} is not a multiple of {blockElements}", nameof(elements));
        var rng = new QuantizeInputs.SplitMix64(seed);
        var x = new float[elements];
        switch (name)
        {
            case "normal": Normal(rng, x); break;
            case "magnitudes": Magnitudes(rng, x); break;
            case "zero-blocks": ZeroBlocks(rng, x, blockElements); break;
            case "ties": Ties(rng, x, blockElements); break;
            case "outliers": Outliers(rng, x, blockElements); break;
            case "nonfinite": NonFinite(rng, x, blockElements); break;
            default: throw new ArgumentException($"unknown activation case '{name}'", nameof(name));
        }
        return x;
    }

    private static void Normal(QuantizeInputs.SplitMix64 rng, float[] x)
    {
        for (int i = 0; i < x.Length; i++) x[i] = rng.Normal();
    }

    /// <summary>Groups of 32 whose magnitude cycles 1e-6 … 300: the smallest gives a Q8_0 scale that rounds to fp16 zero,
    /// and a Q8_K block of 256 spans groups 10^8 apart (its small groups quantise to 0). The largest stays below 2000, so
    /// Q8_1's <c>s = fp16(d·Σq)</c> (at most 32·max|x|) stays finite (larger rows are in "nonfinite").</summary>
    private static void Magnitudes(QuantizeInputs.SplitMix64 rng, float[] x)
    {
        float[] scales = [1e-6f, 1e-3f, 1f, 30f, 300f, 0.05f, 7f];
        for (int i = 0; i < x.Length; i++) x[i] = scales[i / 32 % scales.Length] * rng.Normal();
    }

    /// <summary>Normal values; block 1 all +0, block 3 all −0 (d = 0, id = 0 in ggml).</summary>
    private static void ZeroBlocks(QuantizeInputs.SplitMix64 rng, float[] x, int block)
    {
        for (int i = 0; i < x.Length; i++)
        {
            float v = rng.Normal();
            x[i] = (i / block) switch { 1 => 0f, 3 => -0f, _ => v };
        }
    }

    /// <summary>Even blocks: the largest magnitude is 127·2^e, e = −8 … 4 (sign alternating per two blocks), the rest (k + ½)·2^e, so x/d
    /// lands exactly on ties (ggml's AVX2 quantiser and nearest_int round them to even; the _ref Q8_0 rounds away from
    /// zero), every fifth value one ulp above or below a tie. Odd blocks: a random maximum and values (k + ½)/id in
    /// float, which land within rounding of a tie.</summary>
    private static void Ties(QuantizeInputs.SplitMix64 rng, float[] x, int block)
    {
        for (int b = 0; b < x.Length / block; b++)
        {
            int top = (37 * b + 5) % block;
            float sign = b % 4 < 2 ? 1f : -1f;
            if (b % 2 == 0)
            {
                float unit = PowerOfTwo(b / 2 % 13 - 8); // 2^-8 … 2^4: max|x| ≤ 2032 keeps Q8_1's s = fp16(d·Σq) finite
                for (int j = 0; j < block; j++)
                {
                    int k = (int)(rng.Next() % 254) - 127; // -127 … 126: (k + ½) within ±126.5
                    float v = j == top ? sign * 127f * unit : (k + 0.5f) * unit;
                    if (j != top && j % 5 == 3) v = j % 10 == 3 ? float.BitIncrement(v) : float.BitDecrement(v);
                    x[b * block + j] = v;
                }
            }
            else
            {
                float amax = 0.25f + 4f * rng.Uniform();
                float id = 127f / amax;
                for (int j = 0; j < block; j++)
                {
                    int k = (int)(rng.Next() % 254) - 127;
                    x[b * block + j] = j == top ? sign * amax : (k + 0.5f) / id;
                }
            }
        }
    }

    /// <summary>Small normal values with, per block, one outlier 1000x larger; every third block two extremes of equal
    /// magnitude and opposite sign (Q8_K keys its scale's sign on the first); every fifth block a run of values near 300
    /// (below 2000, where Q8_1's s would overflow fp16).</summary>
    private static void Outliers(QuantizeInputs.SplitMix64 rng, float[] x, int block)
    {
        for (int b = 0; b < x.Length / block; b++)
        {
            int at = b * block;
            for (int j = 0; j < block; j++) x[at + j] = 0.1f * rng.Normal();
            x[at + (int)(rng.Next() % (ulong)block)] = 100f * (1f + rng.Uniform()) * (rng.Next() % 2 == 0 ? 1f : -1f);
            if (b % 3 == 0)
            {
                int first = (int)(rng.Next() % (ulong)(block / 2)), second = block / 2 + (int)(rng.Next() % (ulong)(block / 2));
                float sign = rng.Next() % 2 == 0 ? 1f : -1f;
                x[at + first] = 500f * sign;
                x[at + second] = -500f * sign;
            }
            if (b % 5 == 0)
                for (int j = 0; j < 4; j++) x[at + j] = 300f * rng.Normal();
        }
    }

    /// <summary>Names of the blocks <see cref="NonFinite"/> makes, cycling.</summary>
    public static readonly string[] NonFiniteBlocks =
    [
        "NaN first", "+inf in the middle", "-inf last", "all NaN", "NaN and +inf", "1e38 (id underflows)",
        "1e7 (d overflows fp16)", "one subnormal among zeros (id overflows)",
    ];

    /// <summary>NaN, infinities, and scales that overflow or underflow: ggml's bytes are still definite.</summary>
    private static void NonFinite(QuantizeInputs.SplitMix64 rng, float[] x, int block)
    {
        for (int b = 0; b < x.Length / block; b++)
            for (int j = 0; j < block; j++)
            {
                float normal = rng.Normal();
                x[b * block + j] = (b % NonFiniteBlocks.Length) switch
                {
                    0 => j == 0 ? float.NaN : normal,
                    1 => j == block / 2 ? float.PositiveInfinity : normal,
                    2 => j == block - 1 ? float.NegativeInfinity : normal,
                    3 => float.NaN,
                    4 => j == 1 ? float.NaN : j == block - 2 ? float.PositiveInfinity : normal,
                    5 => j == 7 ? 1e38f : normal,
                    6 => 1e7f * normal,
                    _ => j == 9 ? 1e-40f : j % 2 == 0 ? 0f : -0f,
                };
            }
    }

    private static float PowerOfTwo(int e) => BitConverter.Int32BitsToSingle((127 + e) << 23);
}
