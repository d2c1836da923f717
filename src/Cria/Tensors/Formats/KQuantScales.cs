using System.Runtime.CompilerServices;

namespace Cria.Tensors.Formats;

/// <summary>Unpacks the 6-bit sub-block scales that K-quant blocks pack into 12 bytes.</summary>
internal static unsafe partial class KQuantScales
{
    private const uint Low6 = 0x3f3f3f3f, Low4 = 0x0f0f0f0f, Low2 = 0x03030303;

    /// <summary>ggml <c>get_scale_min_k4</c> (Q4_K, Q5_K): scale and min of sub-block <paramref name="j"/> (0…7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ScaleMin(int j, byte* q, out int scale, out int min)
    {
        if (j < 4)
        {
            scale = q[j] & 63;
            min = q[j + 4] & 63;
        }
        else
        {
            scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
            min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        }
    }

    /// <summary>All eight scales and mins of a Q4_K/Q5_K block at once (byte k of each = sub-block k), the word-wise
    /// form of <see cref="ScaleMin"/> that ggml's SIMD kernels use.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ScalesMins(byte* q, out ulong scales, out ulong mins)
    {
        uint u0 = Unsafe.ReadUnaligned<uint>(q), u1 = Unsafe.ReadUnaligned<uint>(q + 4), u2 = Unsafe.ReadUnaligned<uint>(q + 8);
        uint s0 = u0 & Low6;
        uint s1 = (u2 & Low4) | (((u0 >> 6) & Low2) << 4);
        uint m0 = u1 & Low6;
        uint m1 = ((u2 >> 4) & Low4) | (((u1 >> 6) & Low2) << 4);
        scales = s0 | (ulong)s1 << 32;
        mins = m0 | (ulong)m1 << 32;
    }

    /// <summary>The sixteen unsigned 6-bit scales of a Q3_K block (byte k = sub-block k; subtract 32 for the signed
    /// scale), as <c>dequantize_row_q3_K</c> unpacks them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Q3Scales(byte* q, out ulong first8, out ulong last8)
    {
        uint a0 = Unsafe.ReadUnaligned<uint>(q), a1 = Unsafe.ReadUnaligned<uint>(q + 4), tmp = Unsafe.ReadUnaligned<uint>(q + 8);
        uint s2 = ((a0 >> 4) & Low4) | (((tmp >> 4) & Low2) << 4);
        uint s3 = ((a1 >> 4) & Low4) | (((tmp >> 6) & Low2) << 4);
        uint s0 = (a0 & Low4) | (((tmp >> 0) & Low2) << 4);
        uint s1 = (a1 & Low4) | (((tmp >> 2) & Low2) << 4);
        first8 = s0 | (ulong)s1 << 32;
        last8 = s2 | (ulong)s3 << 32;
    }
}
