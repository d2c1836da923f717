using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Cria.Tensors.Formats;

/// <summary>IEEE binary16 → float32, exact for every bit pattern and equal to ggml's <c>GGML_FP16_TO_FP32</c>
/// (subnormals kept, ±inf kept, NaN payload kept and quietened). Scalar and vector forms agree bit for bit.</summary>
internal static partial class Fp16
{
    // Sign to bit 31, exponent+mantissa to the float positions: the value is then 2^-112 too small (bias 15 vs 127).
    private const uint SignExpMantMask = 0x8FFFE000u;
    private const uint ExpInFloatPosition = 0x0F800000u; // fp16 exponent 31 (inf/NaN) after the shift
    private const uint FloatExpAllOnes = 0x7F800000u;
    internal const uint TwoPow112Bits = (127 + 112) << 23;
    private static float TwoPow112 => BitConverter.UInt32BitsToSingle(TwoPow112Bits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe float Load(byte* p) => ToSingle(Unsafe.ReadUnaligned<ushort>(p));

    /// <summary>All 65536 conversions (256 KiB, built once), as ggml's <c>ggml_table_f32_f16</c>: a block scale then
    /// costs one load, which a broadcast can take straight from memory. Real scales touch only a few cache lines.</summary>
    private static readonly unsafe float* Table = BuildTable();

    /// <summary>The fp16 at <paramref name="p"/> as a float, by table; the same bits as <see cref="Load"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe float LoadScale(byte* p) => Table[Unsafe.ReadUnaligned<ushort>(p)];

    /// <summary>Builds the table if it is not built yet. Kernels' dispatchers call it before the first call of a fully
    /// optimised body: a body compiled while the class is still uninitialised keeps a class-initialisation check with a
    /// helper call, and spills its vector registers around it on every iteration (3× slower). Free once compiled.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void EnsureTable()
    {
        if (Table == null) throw new InvalidOperationException("fp16 table missing");
    }

    private static unsafe float* BuildTable()
    {
        float* table = (float*)NativeMemory.AlignedAlloc(65536 * sizeof(float), 64); // lives as long as the process
        for (int h = 0; h < 65536; h++) table[h] = ToSingle((ushort)h);
        return table;
    }

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

    /// <summary><see cref="Widen(Vector512{int})"/> for lanes known to be finite (no inf/NaN): three operations fewer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> WidenFinite(Vector512<int> h) =>
        ((h.AsUInt32() << 13) & Vector512.Create(SignExpMantMask)).AsSingle() * Vector512.Create(TwoPow112);

    /// <summary>Whether any of the 64 fp16 values at <paramref name="p"/> is inf or NaN (exponent all ones).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe bool AnyNonFinite64(byte* p)
    {
        var exponent = Vector512.Create((ushort)0x7C00);
        var a = Vector512.Load((ushort*)p) & exponent;
        var b = Vector512.Load((ushort*)(p + 64)) & exponent;
        return (Vector512.Equals(a, exponent) | Vector512.Equals(b, exponent)) != Vector512<ushort>.Zero;
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
