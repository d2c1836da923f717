using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

/// <summary>Integer dot-product steps of the DotQ8 kernels, the pre-VNNI way (.NET exposes no vpdpbusd on AVX-512
/// machines): vpmaddubsw multiplies unsigned by signed bytes and adds adjacent pairs into int16, vpmaddwd adds adjacent
/// int16 pairs (times ones, or times sub-block scales) into int32. Signed×signed uses ggml's sign trick, |x|·(y·sign x);
/// AVX-512 has no vpsignb, so the sign moves to y with a byte mask. Callers keep every int16 pair within range.</summary>
internal static class Int8Dot
{
    /// <summary>Refuses a row length that is negative or not whole blocks: the kernels count whole blocks, so they would
    /// silently drop a tail (33 elements read as 32) or return 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CheckLength(int n, int block, string type)
    {
        if (n < 0 || n % block != 0) ThrowLength(n, block, type);
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowLength(int n, int block, string type) =>
        throw new ArgumentException($"{type} DotQ8 over {n} elements: the length must be a whole number of blocks of {block}", "n");

    /// <summary>vpmaddwd by ones: adjacent int16 pairs summed into int32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> SumPairs(Vector256<short> p) => Avx2.MultiplyAddAdjacent(p, Vector256.Create((short)1));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> SumPairs(Vector512<short> p) => Avx512BW.MultiplyAddAdjacent(p, Vector512.Create((short)1));

    /// <summary>vpmaddubsw: u[2k]·s[2k] + u[2k+1]·s[2k+1] as int16 (saturating; the callers stay below 2^15).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> MulAdd(Vector256<byte> u, Vector256<sbyte> s) => Avx2.MultiplyAddAdjacent(u, s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<short> MulAdd(Vector512<byte> u, Vector512<sbyte> s) => Avx512BW.MultiplyAddAdjacent(u, s);

    /// <summary>Σ x·y over groups of 4 bytes, signed × signed, into int32 lanes (ggml <c>mul_sum_i8_pairs</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MulSumSigned(Vector256<sbyte> x, Vector256<sbyte> y) =>
        SumPairs(MulAdd(Avx2.Abs(x), Avx2.Sign(y, x)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MulSumSigned(Vector512<sbyte> x, Vector512<sbyte> y)
    {
        var negate = Vector512.LessThan(x, Vector512<sbyte>.Zero);
        return SumPairs(MulAdd(Avx512BW.Abs(x), Vector512.ConditionalSelect(negate, Vector512<sbyte>.Zero - y, y)));
    }

    /// <summary>Two 256-bit halves as one 512-bit vector, in one vinserti64x4 (Vector512.Create(lower, upper) compiles to two
    /// inserts into the register's previous value, a dependency that carries across loop iterations).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<byte> Concat(Vector256<byte> lower, Vector256<byte> upper) =>
        Avx512F.InsertVector256(lower.ToVector512Unsafe(), upper, 1);

    /// <summary>Two 256-bit halves as one 512-bit vector (one vinserti64x4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<sbyte> Load2x32(byte* lower, byte* upper) =>
        Avx512F.InsertVector256(Vector256.Load((sbyte*)lower).ToVector512Unsafe(), Vector256.Load((sbyte*)upper), 1);

    /// <summary>Lanes 0-7 = <paramref name="lower"/>, lanes 8-15 = <paramref name="upper"/>: the scales of two blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Halves(float lower, float upper) =>
        Avx512F.InsertVector256(Vector256.Create(lower).ToVector512Unsafe(), Vector256.Create(upper), 1);

    /// <summary>The 4-bit quants of two 32-element blocks (16 bytes each, low nibble = element j, high = j + 16) as 64
    /// bytes in element order [x0 0-15, x0 16-31, x1 0-15, x1 16-31], to meet activations [y0 | y1].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<byte> Nibbles2x32(byte* qs0, byte* qs1)
    {
        var q = Vector256.Create(Vector128.Load(qs0), Vector128.Load(qs1));
        var nibbles = Concat(q, (q.AsUInt16() >>> 4).AsByte()) & Vector512.Create((byte)0x0F); // [x0 lo, x1 lo, x0 hi, x1 hi]
        return Avx512F.Shuffle4x128(nibbles.AsUInt32(), nibbles.AsUInt32(), 0b11_01_10_00).AsByte();
    }

    /// <summary>The nibbles of one block as 32 bytes in element order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<byte> Nibbles32(byte* qs)
    {
        var q = Vector128.Load(qs);
        return Vector256.Create(q, (q.AsUInt16() >>> 4).AsByte()) & Vector256.Create((byte)0x0F);
    }

    /// <summary>ggml <c>bytes_from_bits_32</c> with a value: byte j = <paramref name="set"/> where bit j of the
    /// little-endian uint32 at <paramref name="bits"/> is 1, else 0 (the fifth bits of Q5_0/Q5_1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<byte> BitsToBytes32(byte* bits, byte set)
    {
        var spread = Avx2.Shuffle(Vector256.Create(Unsafe.ReadUnaligned<uint>(bits)).AsByte(),
            Vector256.Create(0x0000000000000000UL, 0x0101010101010101UL, 0x0202020202020202UL, 0x0303030303030303UL).AsByte());
        var bit = Vector256.Create(0x8040201008040201UL).AsByte();
        return Vector256.Equals(spread & bit, bit) & Vector256.Create(set);
    }

    /// <summary><see cref="BitsToBytes32"/> for two blocks: byte 32k + j from bit j of the uint32 at <paramref name="bits0"/>
    /// (k = 0) or <paramref name="bits1"/> (k = 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<byte> BitsToBytes2x32(byte* bits0, byte* bits1, byte set)
    {
        ulong both = Unsafe.ReadUnaligned<uint>(bits0) | (ulong)Unsafe.ReadUnaligned<uint>(bits1) << 32;
        // vpshufb works within 128-bit lanes, each holding the 64 bits twice: byte 16L + p takes source byte 2L + p/8.
        var spread = Avx512BW.Shuffle(Vector512.Create(both).AsByte(), Vector512.Create(
            0x0000000000000000UL, 0x0101010101010101UL, 0x0202020202020202UL, 0x0303030303030303UL,
            0x0404040404040404UL, 0x0505050505050505UL, 0x0606060606060606UL, 0x0707070707070707UL).AsByte());
        var bit = Vector512.Create(0x8040201008040201UL).AsByte();
        return Vector512.Equals(spread & bit, bit) & Vector512.Create(set);
    }

    /// <summary>Bit <paramref name="bit"/> of each byte moved to bit <paramref name="to"/>, the rest 0 (16-bit shifts:
    /// the bits that cross into the neighbouring byte are masked off, and values 0/1 cannot cross).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<byte> MoveBit(Vector512<byte> bytes, int bit, int to) =>
        (((bytes.AsUInt16() >>> bit).AsByte() & Vector512<byte>.One).AsUInt16() << to).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> MoveBit(Vector256<byte> bytes, int bit, int to) =>
        (((bytes.AsUInt16() >>> bit).AsByte() & Vector256<byte>.One).AsUInt16() << to).AsByte();

    /// <summary>Bits <paramref name="shift"/> and shift + 1 of each byte as a value 0…3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<byte> TwoBits(Vector512<byte> bytes, int shift) => (bytes.AsUInt16() >>> shift).AsByte() & Vector512.Create((byte)3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> TwoBits(Vector256<byte> bytes, int shift) => (bytes.AsUInt16() >>> shift).AsByte() & Vector256.Create((byte)3);

    /// <summary>int16 lanes 8k…8k+7 = lane <paramref name="first"/> + k of a vpermw source: the scales of the four
    /// sub-blocks of 16 in one 64-byte vector (a broadcast and an add of a constant, not a vector built lane by lane).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<short> Sub16Index(int first) => Vector512.Create((short)first) + Vector512.Create(
        Vector256.Create(Vector128<short>.Zero, Vector128<short>.One),
        Vector256.Create(Vector128.Create((short)2), Vector128.Create((short)3)));

    /// <summary>int16 lanes 0-15 = lane <paramref name="first"/>, lanes 16-31 = first + 1 of a vpermw source: the scales of
    /// two sub-blocks of 32 in one 64-byte vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<short> Sub32Index(int first) =>
        Vector512.Create((short)first) + Vector512.Create(Vector256<short>.Zero, Vector256<short>.One);

    /// <summary>int16 lanes 0-7 = byte <paramref name="first"/> of <paramref name="scales"/>, lanes 8-15 = byte first + 1,
    /// sign-extended: the scales of two sub-blocks of 16 in one 32-byte vector (ggml <c>get_scale_shuffle</c>). The control is a
    /// broadcast plus a constant: built from two Vector64s it went through the stack byte by byte, a store-forwarding stall
    /// that made the AVX2 Q2_K, Q3_K and Q6_K bodies 17x slower.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Sub16Scales(Vector128<sbyte> scales, int first) =>
        Avx2.ConvertToVector256Int16(Ssse3.Shuffle(scales, Vector128.Create((sbyte)first) + Vector128.Create(0UL, 0x0101010101010101UL).AsSByte()));
}
