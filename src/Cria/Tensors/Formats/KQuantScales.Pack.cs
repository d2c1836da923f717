namespace Cria.Tensors.Formats;

internal static unsafe partial class KQuantScales
{
    /// <summary>The packing half of Q4_K/Q5_K quantisation (ggml <c>quantize_row_q4_K_ref</c>/<c>q5_K_ref</c>): the eight
    /// sub-block scales and mins become 6-bit integers against the largest of each, packed into the 12 bytes at
    /// <paramref name="block"/> + 4 (the inverse of <see cref="ScaleMin"/>), with d = maxScale/63 at 0 and
    /// dmin = maxMin/63 at 2 as fp16.</summary>
    public static void PackScalesMins(byte* block, float* scales, float* mins, float maxScale, float maxMin)
    {
        byte* q = block + 4;
        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        for (int j = 0; j < 8; ++j)
        {
            byte ls = (byte)QuantMath.NearestInt(invScale * scales[j]); // ggml truncates to uint8_t before the clamp
            byte lm = (byte)QuantMath.NearestInt(invMin * mins[j]);
            ls = Math.Min((byte)63, ls);
            lm = Math.Min((byte)63, lm);
            if (j < 4)
            {
                q[j] = ls;
                q[j + 4] = lm;
            }
            else
            {
                q[j + 4] = (byte)((ls & 0xF) | ((lm & 0xF) << 4));
                q[j - 4] |= (byte)((ls >> 4) << 6);
                q[j] |= (byte)((lm >> 4) << 6);
            }
        }
        Fp16.Store(block, maxScale / 63f);
        Fp16.Store(block + 2, maxMin / 63f);
    }
}
