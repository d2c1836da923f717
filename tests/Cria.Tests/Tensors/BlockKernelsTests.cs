using System.Runtime.Intrinsics;
using Cria.Tensors;
using Cria.Tensors.Formats;

namespace Cria.Tests.Tensors;

public sealed unsafe class BlockKernelsTests
{
    [Fact]
    public void Every_llama_weight_type_is_registered_with_ggml_geometry()
    {
        GgmlType[] expected =
        [
            GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0,
            GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
        ];
        Assert.Equal(expected.Order(), BlockKernels.SupportedTypes.Order());
        foreach (var type in expected)
        {
            var kernels = BlockKernels.Get(type, "t");
            var info = TensorTypeInfo.Get(type);
            Assert.Equal((info.BlockElements, info.BlockBytes), (kernels.BlockElements, kernels.BlockBytes));
        }
    }

    [Fact]
    public void Unsupported_type_names_the_tensor()
    {
        var e = Assert.Throws<CriaException>(() => BlockKernels.Get(GgmlType.IQ2_XS, "blk.0.ffn_down.weight"));
        Assert.Contains("blk.0.ffn_down.weight", e.Message);
        Assert.Contains("IQ2_XS", e.Message);
    }

    [Fact]
    public void Fp16_conversion_equals_System_Half_for_every_pattern()
    {
        // An independent check of the bit trick: System.Half is exact and also quietens NaN, keeping the payload.
        for (int h = 0; h < 65536; h++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf((ushort)h);
            float actual = Fp16.ToSingle((ushort)h);
            Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(actual),
                $"fp16 0x{h:x4}: {actual} (0x{BitConverter.SingleToUInt32Bits(actual):x8}), System.Half gives 0x{BitConverter.SingleToUInt32Bits(expected):x8}");
            ushort bits = (ushort)h;
            Assert.True(BitConverter.SingleToUInt32Bits(actual) == BitConverter.SingleToUInt32Bits(Fp16.LoadScale((byte*)&bits)),
                $"fp16 0x{h:x4}: the scale table differs from the conversion");
        }
    }

    [Fact]
    public void Portable_128_bit_widening_matches_scalar_widening()
    {
        // The NEON fallback of the 128-bit bodies, checked against plain scalar conversions.
        var rng = new Random(7);
        byte[] data = new byte[8];
        for (int trial = 0; trial < 2000; trial++)
        {
            rng.NextBytes(data);
            fixed (byte* p = data)
            {
                Assert.Equal(Vector128.Create(p[0], p[1], p[2], p[3]), WideLoad.U8x4Portable(p));
                Assert.Equal(Vector128.Create((sbyte)p[0], (sbyte)p[1], (sbyte)p[2], (sbyte)p[3]), WideLoad.I8x4Portable(p));
                short* s = (short*)p;
                Assert.Equal(Vector128.Create(s[0], s[1], s[2], s[3]), WideLoad.I16x4Portable(p));
                ushort* u = (ushort*)p;
                Assert.Equal(Vector128.Create(u[0], u[1], u[2], u[3]), WideLoad.U16x4Portable(p));
            }
        }
    }

    [Fact]
    public void Word_wise_scale_unpacking_matches_get_scale_min_k4()
    {
        var rng = new Random(11);
        byte[] block = new byte[16];
        for (int trial = 0; trial < 5000; trial++)
        {
            rng.NextBytes(block);
            fixed (byte* q = block)
            {
                KQuantScales.ScalesMins(q, out ulong scales, out ulong mins);
                for (int k = 0; k < 8; k++)
                {
                    KQuantScales.ScaleMin(k, q, out int sc, out int m);
                    Assert.Equal((sc, m), ((int)(byte)(scales >> (8 * k)), (int)(byte)(mins >> (8 * k))));
                }
            }
        }
    }

    [Theory]
    [InlineData("512", 512)]
    [InlineData("256", 256)]
    [InlineData("300", 256)]
    [InlineData("128", 128)]
    [InlineData("0", 0)]
    [InlineData("64", 0)]
    public void Tier_setting_rounds_down_to_a_body(string text, int expected)
    {
        Assert.Equal(expected, SimdTier.Normalize(int.Parse(text)));
    }
}
