using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

/// <summary>Dot for the 5-bit affine blocks (Q5_0, Q5_1). The 512-bit body builds a 32-entry table (q·d + bias for
/// q = 0…31) in two registers and looks up 5-bit indices with vpermt2ps, which reads only the low 5 bits: the fifth
/// bit is merged in from qh by a per-lane shift and one bit-select.</summary>
internal static unsafe class Q5Kernels<T> where T : struct, IAffineBlock32
{
    public static float Dot(byte* row, float* x, int n)
    {
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) return Dot512(row, x, n / 32);
        if (bits >= 256 && SimdTier.Has256) return Dot256(row, x, n / 32);
        if (bits >= 128 && SimdTier.Has128) return Dot128(row, x, n / 32);
        return DotScalar(row, x, n / 32);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot512(byte* b, float* x, int nb)
    {
        // q + Offset for the formats without a minimum, so their table is two multiplies.
        var iotaLow = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) + Vector512.Create(T.Offset);
        var iotaHigh = iotaLow + Vector512.Create(16f);
        var lane = Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var lanePlus12 = lane + Vector512.Create(12u);
        var nibble = Vector512.Create(0xFu);
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        for (int i = 0; i < nb; i++, b += T.Bytes, x += 32)
        {
            Prefetch.Ahead(b);
            var d = Vector512.Create(T.Scale(b));
            var tableLow = T.HasMin ? Vector512.FusedMultiplyAdd(iotaLow, d, Vector512.Create(T.Min(b))) : iotaLow * d;
            var tableHigh = T.HasMin ? Vector512.FusedMultiplyAdd(iotaHigh, d, Vector512.Create(T.Min(b))) : iotaHigh * d;
            uint qh = Unsafe.ReadUnaligned<uint>(b + T.QhOffset);
            var q = WideLoad.U8x16(b + T.QsOffset).AsUInt32();
            // Bit 4 of lane j becomes bit j (first half) or bit j+16 (second half) of qh.
            var idx0 = Vector512.ConditionalSelect(nibble, q, Avx512F.ShiftRightLogicalVariable(Vector512.Create(qh << 4), lane));
            var idx1 = Vector512.ConditionalSelect(nibble, q >>> 4, Avx512F.ShiftRightLogicalVariable(Vector512.Create(qh), lanePlus12));
            acc0 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32x2(tableLow, idx0.AsInt32(), tableHigh), Vector512.Load(x), acc0);
            acc1 = Vector512.FusedMultiplyAdd(Avx512F.PermuteVar16x32x2(tableLow, idx1.AsInt32(), tableHigh), Vector512.Load(x + 16), acc1);
        }
        return Vector512.Sum(acc0 + acc1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot256(byte* b, float* x, int nb)
    {
        var low = Vector256.Create(0xFu);
        var bit4 = Vector256.Create(0x10u);
        var lane = Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        for (int i = 0; i < nb; i++, b += T.Bytes, x += 32)
        {
            Prefetch.Ahead(b);
            var d = Vector256.Create(T.Scale(b));
            var m = Vector256.Create(AffineBlock32<T>.Bias(b, T.Scale(b)));
            uint qh = Unsafe.ReadUnaligned<uint>(b + T.QhOffset);
            var qh4 = Vector256.Create(qh << 4);
            var qhHigh = Vector256.Create(qh >> 12);
            for (int k = 0; k < 16; k += 8)
            {
                var q = WideLoad.U8x8(b + T.QsOffset + k).AsUInt32();
                var shift = lane + Vector256.Create((uint)k);
                var q0 = (q & low) | (Avx2.ShiftRightLogicalVariable(qh4, shift) & bit4);
                var q1 = (q >>> 4) | (Avx2.ShiftRightLogicalVariable(qhHigh, shift) & bit4);
                acc0 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(q0.AsInt32()), d, m), Vector256.Load(x + k), acc0);
                acc1 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(q1.AsInt32()), d, m), Vector256.Load(x + k + 16), acc1);
            }
        }
        return Vector256.Sum(acc0 + acc1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot128(byte* b, float* x, int nb)
    {
        var low = Vector128.Create(0xF);
        ref int spread = ref MemoryMarshal.GetReference(SpreadBits);
        var acc0 = Vector128<float>.Zero;
        var acc1 = Vector128<float>.Zero;
        for (int i = 0; i < nb; i++, b += T.Bytes, x += 32)
        {
            var d = Vector128.Create(T.Scale(b));
            var m = Vector128.Create(AffineBlock32<T>.Bias(b, T.Scale(b)));
            uint qh = Unsafe.ReadUnaligned<uint>(b + T.QhOffset);
            for (int k = 0; k < 16; k += 4)
            {
                var q = WideLoad.U8x4(b + T.QsOffset + k);
                var q0 = (q & low) | Vector128.LoadUnsafe(ref spread, 4 * ((qh >> k) & 0xF));
                var q1 = (q >>> 4) | Vector128.LoadUnsafe(ref spread, 4 * ((qh >> (k + 16)) & 0xF));
                acc0 = Vector128.MultiplyAddEstimate(Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(q0), d, m), Vector128.Load(x + k), acc0);
                acc1 = Vector128.MultiplyAddEstimate(Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(q1), d, m), Vector128.Load(x + k + 16), acc1);
            }
        }
        return Vector128.Sum(acc0 + acc1);
    }

    /// <summary>Four bits spread to four lanes as 0 or 16 (the fifth bit's weight): entry k holds bit j of k in lane j.</summary>
    private static ReadOnlySpan<int> SpreadBits =>
    [
        0, 0, 0, 0,    16, 0, 0, 0,    0, 16, 0, 0,    16, 16, 0, 0,
        0, 0, 16, 0,   16, 0, 16, 0,   0, 16, 16, 0,   16, 16, 16, 0,
        0, 0, 0, 16,   16, 0, 0, 16,   0, 16, 0, 16,   16, 16, 0, 16,
        0, 0, 16, 16,  16, 0, 16, 16,  0, 16, 16, 16,  16, 16, 16, 16,
    ];

    private static float DotScalar(byte* b, float* x, int nb)
    {
        float sum = 0;
        for (int i = 0; i < nb; i++, b += T.Bytes, x += 32)
        {
            byte* qs = b + T.QsOffset;
            uint qh = Unsafe.ReadUnaligned<uint>(b + T.QhOffset);
            float sq = 0, sx = 0;
            for (int j = 0; j < 16; j++)
            {
                int q0 = (qs[j] & 0xF) | (int)((qh >> j) << 4 & 0x10);
                int q1 = (qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10);
                sq += q0 * x[j] + q1 * x[j + 16];
                sx += x[j] + x[j + 16];
            }
            sum += sq * T.Scale(b) + sx * AffineBlock32<T>.Bias(b, T.Scale(b));
        }
        return sum;
    }
}
