using System.Runtime.CompilerServices;

namespace Cria.Tensors.Formats;

/// <summary>The helpers that ggml-quants.c's reference quantisers share (<c>nearest_int</c>, <c>make_qx_quants</c>,
/// <c>make_q3_quants</c>, <c>make_qkx2_quants</c>), ported operation for operation: every float expression keeps C's
/// evaluation order and its int→float conversions, and nothing is fused (the JIT never contracts a*b+c to an FMA,
/// and llama-quantize's ggml-base is built for baseline x86-64, without FMA), so the bytes come out identical.</summary>
internal static unsafe class QuantMath
{
    /// <summary>ggml <c>GROUP_MAX_EPS</c>: a group whose largest magnitude is below this counts as all zero.</summary>
    public const float GroupMaxEps = 1e-15f;

    /// <summary>ggml <c>nearest_int</c>: rounds to nearest, ties to even, by adding 1.5·2^23 and reading the
    /// mantissa. Exact for |x| ≤ 4194303 (ggml asserts that only in debug builds; beyond it both give the same bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int NearestInt(float x)
    {
        float shifted = x + 12582912f;
        return (BitConverter.SingleToInt32Bits(shifted) & 0x007fffff) - 0x00400000;
    }

    /// <summary>C's float → integer conversion as x86-64 compiles it (<c>cvttss2si</c>): truncation toward zero, and
    /// the "integer indefinite" int.MinValue for NaN and out-of-range values (.NET would saturate instead). A cast
    /// to <c>int8_t</c>/<c>uint8_t</c> then keeps the low byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TruncateToInt(float x) => x >= -2147483648f && x < 2147483648f ? (int)x : int.MinValue;

    /// <summary>C's <c>(int8_t)x</c> for a float: <see cref="TruncateToInt"/>, then the low byte as a signed value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TruncateToInt8(float x) => (sbyte)TruncateToInt(x);

    /// <summary>C's <c>MAX(a, b)</c> macro, <c>a &gt; b ? a : b</c>: with a NaN it returns <paramref name="b"/>,
    /// which decides how a NaN travels through a running maximum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxMacro(float a, float b) => a > b ? a : b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Clamp(int value, int low, int high) => Math.Max(low, Math.Min(high, value));

    /// <summary>ggml <c>make_qx_quants(n, nmax, x, L, rmse_type = 1, qw = NULL)</c>: symmetric levels
    /// L ∈ [0, 2·nmax) with the scale that minimises Σ x²·(x − scale·(L − nmax))² over 19 candidate inverse scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float MakeQxQuants(int n, int nmax, float* x, sbyte* L)
    {
        float max = 0, amax = 0;
        for (int i = 0; i < n; ++i)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax) { amax = ax; max = x[i]; }
        }
        if (amax < GroupMaxEps)
        {
            for (int i = 0; i < n; ++i) L[i] = 0;
            return 0f;
        }
        float iscale = -nmax / max;
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < n; ++i)
        {
            int l = Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
            L[i] = (sbyte)(l + nmax);
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
        float best = scale * sumlx;
        for (int step = -9; step <= 9; ++step)
        {
            if (step == 0) continue;
            iscale = -(nmax + 0.1f * step) / max;
            sumlx = suml2 = 0;
            for (int i = 0; i < n; ++i)
            {
                int l = Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
                float w = x[i] * x[i];
                sumlx += w * x[i] * l;
                suml2 += w * l * l;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2)
            {
                for (int i = 0; i < n; ++i)
                    L[i] = (sbyte)(nmax + Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1));
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }

    /// <summary>ggml <c>make_q3_quants(n, nmax, x, L, do_rmse = true)</c>: symmetric levels L ∈ [0, 2·nmax), refined
    /// one element at a time (up to 5 sweeps) to lower the x²-weighted error.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float MakeQ3Quants(int n, int nmax, float* x, sbyte* L)
    {
        float max = 0, amax = 0;
        for (int i = 0; i < n; ++i)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax) { amax = ax; max = x[i]; }
        }
        if (amax < GroupMaxEps)
        {
            for (int i = 0; i < n; ++i) L[i] = 0;
            return 0f;
        }
        float iscale = -nmax / max;
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < n; ++i)
        {
            int l = Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
            L[i] = (sbyte)l;
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        for (int attempt = 0; attempt < 5; ++attempt)
        {
            int changed = 0;
            for (int i = 0; i < n; ++i)
            {
                float w = x[i] * x[i];
                float slx = sumlx - w * x[i] * L[i];
                if (slx > 0)
                {
                    float sl2 = suml2 - w * L[i] * L[i];
                    int newL = Clamp(NearestInt(x[i] * sl2 / slx), -nmax, nmax - 1);
                    if (newL != L[i])
                    {
                        slx += w * x[i] * newL;
                        sl2 += w * newL * newL;
                        if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2)
                        {
                            L[i] = (sbyte)newL;
                            sumlx = slx;
                            suml2 = sl2;
                            ++changed;
                        }
                    }
                }
            }
            if (changed == 0) break;
        }
        for (int i = 0; i < n; ++i) L[i] = (sbyte)(L[i] + nmax);
        return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
    }

    /// <summary>ggml <c>make_qkx2_quants</c>: levels L ∈ [0, nmax] with a scale and a min (returned negated in
    /// <paramref name="theMin"/>, as ggml does) fitted by weighted least squares over <paramref name="nstep"/> + 1
    /// candidate inverse scales; <paramref name="useMad"/> measures the error as |·| instead of (·)².</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float MakeQkx2Quants(int n, int nmax, float* x, float* weights, byte* L, float* theMin, byte* Laux,
        float rmin, float rdelta, int nstep, bool useMad)
    {
        float min = x[0], max = x[0];
        float sumW = weights[0];
        float sumX = sumW * x[0];
        for (int i = 1; i < n; ++i)
        {
            if (x[i] < min) min = x[i];
            if (x[i] > max) max = x[i];
            float w = weights[i];
            sumW += w;
            sumX += w * x[i];
        }
        if (min > 0) min = 0;
        if (max == min)
        {
            for (int i = 0; i < n; ++i) L[i] = 0;
            *theMin = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; ++i)
        {
            int l = NearestInt(iscale * (x[i] - min));
            L[i] = (byte)Clamp(l, 0, nmax);
            float diff = scale * L[i] + min - x[i];
            diff = useMad ? MathF.Abs(diff) : diff * diff;
            bestError += weights[i] * diff;
        }
        if (nstep < 1)
        {
            *theMin = -min;
            return scale;
        }
        for (int step = 0; step <= nstep; ++step)
        {
            iscale = (rmin + rdelta * step + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; ++i)
            {
                int l = Clamp(NearestInt(iscale * (x[i] - min)), 0, nmax);
                Laux[i] = (byte)l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[i];
            }
            float D = sumW * sumL2 - sumL * sumL;
            if (D > 0)
            {
                float thisScale = (sumW * sumXL - sumX * sumL) / D;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / D;
                if (thisMin > 0)
                {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float error = 0;
                for (int i = 0; i < n; ++i)
                {
                    float diff = thisScale * Laux[i] + thisMin - x[i];
                    diff = useMad ? MathF.Abs(diff) : diff * diff;
                    error += weights[i] * diff;
                }
                if (error < bestError)
                {
                    for (int i = 0; i < n; ++i) L[i] = Laux[i];
                    bestError = error;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        *theMin = -min;
        return scale;
    }
}
