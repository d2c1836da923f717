using System.Runtime.CompilerServices;

namespace Cria.Tensors.Formats;

/// <summary>Q5_1: blocks of 32 5-bit values with an fp16 scale and minimum, 24 bytes (ggml-common.h):
/// <code>typedef struct { ggml_half d; ggml_half m; uint8_t qh[4]; uint8_t qs[16]; } block_q5_1;
/// // qh as a little-endian uint32: bit j is the fifth bit of element j
/// // value[j] = ((qs[j] &amp; 0xF) | bit j &lt;&lt; 4) * d + m,  value[j+16] = ((qs[j] &gt;&gt; 4) | bit j+16 &lt;&lt; 4) * d + m</code></summary>
public readonly unsafe partial struct Q5_1Format : IBlockFormat, IAffineBlock32
{
    public static GgmlType Type => GgmlType.Q5_1;
    public static int BlockElements => 32;
    public static int BlockBytes => 24;

    /// <summary>ggml <c>dequantize_row_q5_1</c>: <c>x*d + m</c> with two roundings (no fused multiply-add).</summary>
    public static void Dequantize(byte* src, float* dst, long n)
    {
        for (long i = 0; i < n / 32; i++, src += 24, dst += 32)
        {
            float d = Fp16.LoadScale(src);
            float m = Fp16.LoadScale(src + 2);
            uint qh = Unsafe.ReadUnaligned<uint>(src + 4);
            byte* qs = src + 8;
            for (int j = 0; j < 16; j++)
            {
                int h0 = (int)(((qh >> j) << 4) & 0x10);
                int h1 = (int)((qh >> (j + 12)) & 0x10);
                dst[j] = ((qs[j] & 0x0F) | h0) * d + m;
                dst[j + 16] = ((qs[j] >> 4) | h1) * d + m;
            }
        }
    }

    public static float Dot(byte* row, float* x, int n) => Q5Kernels<Q5_1Format>.Dot(row, x, n);

    static int IAffineBlock32.Bytes => 24;
    static int IAffineBlock32.QsOffset => 8;
    static int IAffineBlock32.QhOffset => 4;
    static float IAffineBlock32.Scale(byte* b) => Fp16.LoadScale(b);
    static bool IAffineBlock32.HasMin => true;
    static float IAffineBlock32.Min(byte* b) => Fp16.LoadScale(b + 2);
    static float IAffineBlock32.Offset => 0f;
}
