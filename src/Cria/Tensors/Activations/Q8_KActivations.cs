using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Activations;

/// <summary>Float activations → <c>block_q8_K</c> { float d; int8 qs[256]; int16 bsums[16]; } (292 bytes) as ggml's
/// CPU backend makes them: on x86 <c>quantize_row_q8_K</c> is <c>quantize_row_q8_K_ref</c> (ggml-quants.c). Per block
/// of 256: <c>max</c> = the first element of largest magnitude (NaN never wins, as <c>fabsf(x) &gt; amax</c> is false),
/// <c>iscale = -127/max</c>, <c>qs = min(127, nearest_int(iscale·x))</c> (nearest_int: ties to even by the 1.5·2^23
/// trick, bit for bit also for NaN and ±inf), <c>bsums[k]</c> = the sum of quants 16k…16k+15, <c>d = 1/iscale</c> (so d
/// is negative when max is positive). An all-zero block gets d = 0 and zero quants; ggml leaves its bsums unwritten,
/// here they are 0 (what the quants sum to).</summary>
public static unsafe class Q8_KActivations
{
    /// <summary>Quantises <paramref name="n"/> floats (a multiple of 256) at <paramref name="x"/> into
    /// <c>n/256 · 292</c> bytes at <paramref name="y"/>.</summary>
    public static void Quantize(float* x, byte* y, int n)
    {
        if (n < 0 || n % 256 != 0) throw new ArgumentException($"{n} activations: not a whole number of blocks of 256", nameof(n));
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) Quantize512(x, y, n / 256);
        else if (bits >= 256 && SimdTier.Has256) Quantize256(x, y, n / 256);
        else QuantizeScalar(x, y, n / 256);
    }

    private const float RoundingShift = 12582912f; // 1.5·2^23: nearest_int's magic

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Quantize512(float* x, byte* y, int nb)
    {
        var absMask = Vector512.Create(0x7FFFFFFF).AsSingle();
        for (int i = 0; i < nb; i++, x += 256, y += 292)
        {
            // vmaxps returns its second operand when either is NaN: with the running maximum second, NaN never enters.
            var acc = Vector512<float>.Zero;
            for (int k = 0; k < 256; k += 16) acc = Avx512F.Max(Vector512.Load(x + k) & absMask, acc);
            float amax = Avx.Max(acc.GetLower(), acc.GetUpper()) is var m8 ? MaxOf(Sse.Max(m8.GetLower(), m8.GetUpper())) : 0;
            if (amax == 0) { ZeroBlock(y); continue; }
            float max = x[FirstIndexOf512(x, amax)];
            float iscale = -127f / max;
            var scale = Vector512.Create(iscale);
            var shift = Vector512.Create(RoundingShift);
            short* bsums = (short*)(y + 260);
            for (int k = 0; k < 16; k++)
            {
                var v = NearestInt(Vector512.Load(x + 16 * k) * scale + shift);
                v = Vector512.Min(v, Vector512.Create(127));
                Avx512F.ConvertToVector128SByte(v).Store((sbyte*)(y + 4 + 16 * k)); // C's (int8_t): the low byte
                bsums[k] = (short)Vector512.Sum((v << 24) >> 24);
            }
            *(float*)y = 1 / iscale;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Quantize256(float* x, byte* y, int nb)
    {
        var absMask = Vector256.Create(0x7FFFFFFF).AsSingle();
        for (int i = 0; i < nb; i++, x += 256, y += 292)
        {
            var acc = Vector256<float>.Zero;
            for (int k = 0; k < 256; k += 8) acc = Avx.Max(Vector256.Load(x + k) & absMask, acc);
            float amax = MaxOf(Sse.Max(acc.GetLower(), acc.GetUpper()));
            if (amax == 0) { ZeroBlock(y); continue; }
            float max = x[FirstIndexOf256(x, amax)];
            float iscale = -127f / max;
            var scale = Vector256.Create(iscale);
            var shift = Vector256.Create(RoundingShift);
            short* bsums = (short*)(y + 260);
            for (int k = 0; k < 16; k++)
            {
                var v0 = Vector256.Min(NearestInt(Vector256.Load(x + 16 * k) * scale + shift), Vector256.Create(127));
                var v1 = Vector256.Min(NearestInt(Vector256.Load(x + 16 * k + 8) * scale + shift), Vector256.Create(127));
                var bytes = Avx2.PackSignedSaturate(Avx2.PackSignedSaturate((v0 << 24) >> 24, (v1 << 24) >> 24), Vector256<short>.Zero);
                var ordered = Avx2.PermuteVar8x32(bytes.AsInt32(), Vector256.Create(0, 4, 1, 5, 0, 0, 0, 0));
                Unsafe.WriteUnaligned(y + 4 + 16 * k, ordered.GetLower());
                bsums[k] = (short)Vector256.Sum(((v0 << 24) >> 24) + ((v1 << 24) >> 24));
            }
            *(float*)y = 1 / iscale;
        }
    }

    private static void QuantizeScalar(float* x, byte* y, int nb)
    {
        for (int i = 0; i < nb; i++, x += 256, y += 292)
        {
            float max = 0, amax = 0;
            for (int j = 0; j < 256; j++)
            {
                float ax = MathF.Abs(x[j]);
                if (ax > amax) { amax = ax; max = x[j]; }
            }
            if (amax == 0) { ZeroBlock(y); continue; }
            float iscale = -127f / max;
            sbyte* qs = (sbyte*)(y + 4);
            for (int j = 0; j < 256; j++) qs[j] = (sbyte)Math.Min(127, Formats.QuantMath.NearestInt(iscale * x[j]));
            short* bsums = (short*)(y + 260);
            for (int k = 0; k < 16; k++)
            {
                int sum = 0;
                for (int l = 0; l < 16; l++) sum += qs[16 * k + l];
                bsums[k] = (short)sum;
            }
            *(float*)y = 1 / iscale;
        }
    }

    /// <summary>nearest_int's last step on (x·iscale + 1.5·2^23): the mantissa bits, less 2^22.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> NearestInt(Vector512<float> shifted) =>
        (shifted.AsInt32() & Vector512.Create(0x007fffff)) - Vector512.Create(0x00400000);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> NearestInt(Vector256<float> shifted) =>
        (shifted.AsInt32() & Vector256.Create(0x007fffff)) - Vector256.Create(0x00400000);

    private static float MaxOf(Vector128<float> v) => MathF.Max(MathF.Max(v[0], v[1]), MathF.Max(v[2], v[3]));

    /// <summary>The first j with |x[j]| == amax (one exists: amax is the largest magnitude, and not NaN).</summary>
    private static int FirstIndexOf512(float* x, float amax)
    {
        var target = Vector512.Create(amax);
        var absMask = Vector512.Create(0x7FFFFFFF).AsSingle();
        for (int k = 0; ; k += 16)
        {
            ulong hits = Vector512.Equals(Vector512.Load(x + k) & absMask, target).ExtractMostSignificantBits();
            if (hits != 0) return k + BitOperations.TrailingZeroCount(hits);
        }
    }

    private static int FirstIndexOf256(float* x, float amax)
    {
        var target = Vector256.Create(amax);
        var absMask = Vector256.Create(0x7FFFFFFF).AsSingle();
        for (int k = 0; ; k += 8)
        {
            uint hits = Vector256.Equals(Vector256.Load(x + k) & absMask, target).ExtractMostSignificantBits();
            if (hits != 0) return k + BitOperations.TrailingZeroCount(hits);
        }
    }

    private static void ZeroBlock(byte* y) => new Span<byte>(y, 292).Clear();
}
