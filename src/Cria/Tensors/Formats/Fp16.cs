using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Tensors.Formats;

/// <summary>IEEE binary16 → float32, exact for every bit pattern and equal to ggml's <c>GGML_FP16_TO_FP32</c>
/// (subnormals kept, ±inf kept, NaN payload kept and quietened). Scalar and vector forms agree bit for bit.</summary>
internal static class Fp16
{
    // Sign to bit 31, exponent+mantissa to the float positions: the value is then 2^-112 too small (bias 15 vs 127).
    private const uint SignExpMantMask = 0x8FFFE000u;
    private const uint ExpInFloatPosition = 0x0F800000u; // fp16 exponent 31 (inf/NaN) after the shift
    private const uint FloatExpAllOnes = 0x7F800000u;
    internal const uint TwoPow112Bits = (127 + 112) << 23;
    private static float TwoPow112 => BitConverter.UInt32BitsToSingle(TwoPow112Bits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe float Load(byte* p) => ToSingle(Unsafe.ReadUnaligned<ushort>(p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort h)
    {
        uint bits = ((uint)(short)h << 13) & SignExpMantMask;
        // inf/NaN: force the float exponent to all ones; the multiply below keeps inf and quietens NaN, as ggml does.
        if ((bits & ExpInFloatPosition) == ExpInFloatPosition) bits |= FloatExpAllOnes;
        // Multiplying by a power of two is exact, also for the float subnormals that fp16 subnormals map to.
        return BitConverter.UInt32BitsToSingle(bits) * TwoPow112;
    }

    /// <summary>Converts 16 sign-extended fp16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Widen(Vector512<int> h)
    {
        Vector512<uint> bits = (h.AsUInt32() << 13) & Vector512.Create(SignExpMantMask);
        Vector512<uint> special = Vector512.Equals(bits & Vector512.Create(ExpInFloatPosition), Vector512.Create(ExpInFloatPosition));
        bits |= special & Vector512.Create(FloatExpAllOnes);
        return bits.AsSingle() * Vector512.Create(TwoPow112);
    }

    /// <summary>Converts 8 sign-extended fp16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Widen(Vector256<int> h)
    {
        Vector256<uint> bits = (h.AsUInt32() << 13) & Vector256.Create(SignExpMantMask);
        Vector256<uint> special = Vector256.Equals(bits & Vector256.Create(ExpInFloatPosition), Vector256.Create(ExpInFloatPosition));
        bits |= special & Vector256.Create(FloatExpAllOnes);
        return bits.AsSingle() * Vector256.Create(TwoPow112);
    }

    /// <summary>Converts 4 sign-extended fp16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Widen(Vector128<int> h)
    {
        Vector128<uint> bits = (h.AsUInt32() << 13) & Vector128.Create(SignExpMantMask);
        Vector128<uint> special = Vector128.Equals(bits & Vector128.Create(ExpInFloatPosition), Vector128.Create(ExpInFloatPosition));
        bits |= special & Vector128.Create(FloatExpAllOnes);
        return bits.AsSingle() * Vector128.Create(TwoPow112);
    }
}
