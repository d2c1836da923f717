using System.Runtime.Intrinsics;

namespace Cria.Tensors.Formats;

/// <summary>Q4_0: blocks of 32 4-bit values with one fp16 scale, 18 bytes (ggml-common.h):
/// <code>typedef struct { ggml_half d; uint8_t qs[16]; } block_q4_0;
/// // value[j] = ((qs[j] &amp; 0xF) - 8) * d,  value[j+16] = ((qs[j] &gt;&gt; 4) - 8) * d</code></summary>
public readonly unsafe partial struct Q4_0Format : IBlockFormat, IAffineBlock32
{
    public static GgmlType Type => GgmlType.Q4_0;
    public static int BlockElements => 32;
    public static int BlockBytes => 18;

    /// <summary>ggml <c>dequantize_row_q4_0</c>: the integer <c>q - 8</c> times d (one rounding; so in the 512-bit body).</summary>
    public static void Dequantize(byte* src, float* dst, long n)
    {
        long i = 0;
        if (SimdTier.MaxVectorBits >= 512 && SimdTier.Has512)
        {
            var low = Vector512.Create(0xF);
            var eight = Vector512.Create(8);
            for (; i < n / 32; i++, src += 18, dst += 32)
            {
                var d = Vector512.Create(Fp16.LoadScale(src));
                var q = WideLoad.U8x16(src + 2);
                (Vector512.ConvertToSingle((q & low) - eight) * d).Store(dst);
                (Vector512.ConvertToSingle((q >>> 4) - eight) * d).Store(dst + 16);
            }
        }
        for (; i < n / 32; i++, src += 18, dst += 32)
        {
            float d = Fp16.LoadScale(src);
            byte* qs = src + 2;
            for (int j = 0; j < 16; j++)
            {
                dst[j] = ((qs[j] & 0x0F) - 8) * d;
                dst[j + 16] = ((qs[j] >> 4) - 8) * d;
            }
        }
    }

    public static float Dot(byte* row, float* x, int n) => Q4Kernels<Q4_0Format>.Dot(row, x, n);

    static int IAffineBlock32.Bytes => 18;
    static int IAffineBlock32.QsOffset => 2;
    static int IAffineBlock32.QhOffset => 0;
    static float IAffineBlock32.Scale(byte* b) => Fp16.LoadScale(b);
    static bool IAffineBlock32.HasMin => false;
    static float IAffineBlock32.Min(byte* b) => 0f;
    static float IAffineBlock32.Offset => -8f;
}
