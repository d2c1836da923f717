namespace Cria.Tensors.Formats;

/// <summary>Q4_1: blocks of 32 4-bit values with an fp16 scale and minimum, 20 bytes (ggml-common.h):
/// <code>typedef struct { ggml_half d; ggml_half m; uint8_t qs[16]; } block_q4_1;
/// // value[j] = (qs[j] &amp; 0xF) * d + m,  value[j+16] = (qs[j] &gt;&gt; 4) * d + m</code></summary>
public readonly unsafe partial struct Q4_1Format : IBlockFormat, IAffineBlock32
{
    public static GgmlType Type => GgmlType.Q4_1;
    public static int BlockElements => 32;
    public static int BlockBytes => 20;

    /// <summary>ggml <c>dequantize_row_q4_1</c>: <c>x*d + m</c> with two roundings (no fused multiply-add).</summary>
    public static void Dequantize(byte* src, float* dst, long n)
    {
        for (long i = 0; i < n / 32; i++, src += 20, dst += 32)
        {
            float d = Fp16.LoadScale(src);
            float m = Fp16.LoadScale(src + 2);
            byte* qs = src + 4;
            for (int j = 0; j < 16; j++)
            {
                dst[j] = (qs[j] & 0x0F) * d + m;
                dst[j + 16] = (qs[j] >> 4) * d + m;
            }
        }
    }

    public static float Dot(byte* row, float* x, int n) => Q4Kernels<Q4_1Format>.Dot(row, x, n);

    static int IAffineBlock32.Bytes => 20;
    static int IAffineBlock32.QsOffset => 4;
    static int IAffineBlock32.QhOffset => 0;
    static float IAffineBlock32.Scale(byte* b) => Fp16.LoadScale(b);
    static bool IAffineBlock32.HasMin => true;
    static float IAffineBlock32.Min(byte* b) => Fp16.LoadScale(b + 2);
    static float IAffineBlock32.Offset => 0f;
}
