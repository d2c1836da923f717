using System.Runtime.CompilerServices;

namespace Cria.Tensors.Formats;

/// <summary>Q5_0: blocks of 32 5-bit values with one fp16 scale, 22 bytes (ggml-common.h):
/// <code>typedef struct { ggml_half d; uint8_t qh[4]; uint8_t qs[16]; } block_q5_0;
/// // qh as a little-endian uint32: bit j is the fifth bit of element j
/// // value[j] = (((qs[j] &amp; 0xF) | bit j &lt;&lt; 4) - 16) * d,  value[j+16] = (((qs[j] &gt;&gt; 4) | bit j+16 &lt;&lt; 4) - 16) * d</code></summary>
public readonly unsafe partial struct Q5_0Format : IBlockFormat, IAffineBlock32
{
    public static GgmlType Type => GgmlType.Q5_0;
    public static int BlockElements => 32;
    public static int BlockBytes => 22;

    /// <summary>ggml <c>dequantize_row_q5_0</c>: the integer <c>q - 16</c> times d (one rounding).</summary>
    public static void Dequantize(byte* src, float* dst, long n)
    {
        for (long i = 0; i < n / 32; i++, src += 22, dst += 32)
        {
            float d = Fp16.LoadScale(src);
            uint qh = Unsafe.ReadUnaligned<uint>(src + 2);
            byte* qs = src + 6;
            for (int j = 0; j < 16; j++)
            {
                int h0 = (int)(((qh >> j) << 4) & 0x10);
                int h1 = (int)((qh >> (j + 12)) & 0x10);
                dst[j] = (((qs[j] & 0x0F) | h0) - 16) * d;
                dst[j + 16] = (((qs[j] >> 4) | h1) - 16) * d;
            }
        }
    }

    public static float Dot(byte* row, float* x, int n) => Q5Kernels<Q5_0Format>.Dot(row, x, n);

    static int IAffineBlock32.Bytes => 22;
    static int IAffineBlock32.QsOffset => 6;
    static int IAffineBlock32.QhOffset => 2;
    static float IAffineBlock32.Scale(byte* b) => Fp16.LoadScale(b);
    static bool IAffineBlock32.HasMin => false;
    static float IAffineBlock32.Min(byte* b) => 0f;
    static float IAffineBlock32.Offset => -16f;
}
