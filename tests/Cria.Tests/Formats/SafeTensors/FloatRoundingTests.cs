using Cria.Formats.SafeTensors;

namespace Cria.Tests.Formats.SafeTensors;

/// <summary>float32 → bfloat16 rounds to nearest, ties to even (PyTorch's and ggml's rule), on hand-picked corners and
/// with the SIMD body equal to the scalar one at every tail; float32 → float16 likewise. That stories260K's BF16
/// fixture (made by PyTorch) is exactly this rounding of its F32 weights is checked in HuggingFaceWeightsTests.</summary>
public class FloatRoundingTests
{
    [Theory]
    [InlineData(0x3F80_0000u, (ushort)0x3F80)] // 1.0
    [InlineData(0x3F80_8000u, (ushort)0x3F80)] // tie, kept bit even: down
    [InlineData(0x3F81_8000u, (ushort)0x3F82)] // tie, kept bit odd: up
    [InlineData(0x3F80_8001u, (ushort)0x3F81)] // above the tie: up
    [InlineData(0x3F80_7FFFu, (ushort)0x3F80)] // below the tie: down
    [InlineData(0xBF81_8000u, (ushort)0xBF82)] // negative tie
    [InlineData(0x7F7F_FFFFu, (ushort)0x7F80)] // largest float rounds to infinity, as in PyTorch
    [InlineData(0x7F80_0000u, (ushort)0x7F80)] // +inf
    [InlineData(0xFF80_0000u, (ushort)0xFF80)] // -inf
    [InlineData(0x8000_0000u, (ushort)0x8000)] // -0
    [InlineData(0x0000_8000u, (ushort)0x0000)] // subnormal tie to even zero
    [InlineData(0x0001_8000u, (ushort)0x0002)] // subnormal tie up
    [InlineData(0x7F80_0001u, (ushort)0x7FC0)] // signalling NaN with a low payload: quiet NaN, never infinity
    [InlineData(0xFFC0_0000u, (ushort)0xFFC0)] // negative quiet NaN keeps its sign
    public void BF16_rounds_to_nearest_even(uint bits, ushort expected)
    {
        float value = BitConverter.UInt32BitsToSingle(bits);
        Assert.Equal(expected, FloatRounding.ToBF16(value));
        var one = new ushort[1];
        FloatRounding.ToBF16([value], one);
        Assert.Equal(expected, one[0]);
    }

    [Fact]
    public void BF16_span_conversion_equals_the_scalar_one_at_every_length()
    {
        var random = new Random(5);
        for (int length = 0; length <= 70; length++)
        {
            var source = new float[length];
            for (int i = 0; i < length; i++)
            {
                uint bits = (uint)random.NextInt64(0, 1L << 32);
                if (i % 7 == 3) bits = (bits & 0xFFFF_0000) | 0x8000; // exact ties
                if (i % 11 == 5) bits |= 0x7F80_0000;                  // infinities and NaNs
                source[i] = BitConverter.UInt32BitsToSingle(bits);
            }
            var vector = new ushort[length];
            FloatRounding.ToBF16(source, vector);
            for (int i = 0; i < length; i++) Assert.Equal(FloatRounding.ToBF16(source[i]), vector[i]);
        }
    }

    [Theory]
    [InlineData(1f, (ushort)0x3C00)]
    [InlineData(65504f, (ushort)0x7BFF)]        // largest half
    [InlineData(65520f, (ushort)0x7C00)]        // halfway to the next binade: rounds to infinity
    [InlineData(0.333333343f, (ushort)0x3555)]
    [InlineData(5.96046448e-8f, (ushort)0x0001)]  // 2^-24, the smallest subnormal
    [InlineData(2.98023224e-8f, (ushort)0x0000)]  // 2^-25: tie to even zero
    [InlineData(8.94069672e-8f, (ushort)0x0002)]  // 3·2^-25: tie to even 2
    [InlineData(-0f, (ushort)0x8000)]
    public void F16_rounds_to_nearest_even(float value, ushort expected) => Assert.Equal(expected, FloatRounding.ToF16(value));
}
