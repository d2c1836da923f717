using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Tensors.Formats;

/// <summary><see cref="QuantMath"/>'s searches for eight sub-blocks at once, one per lane of a Vector256: lane k runs
/// exactly the scalar operations of sub-block k, in the same order (element-wise IEEE operations, no fusing), so every
/// lane's result has the same bits as the scalar code's. Decisions that branch in C (a better candidate, a positive min,
/// an all-zero group) become per-lane masks. The scalar searches are latency-bound on their running sums; eight
/// independent sums per instruction hide that latency. Inputs and levels are transposed: <c>x[i]</c> holds element i
/// of every lane's sub-block.</summary>
internal static unsafe class QuantLanes
{
    /// <summary>Whether the eight-lane searches run (256-bit vectors accelerated and allowed by <see cref="SimdTier"/>).</summary>
    public static bool Enabled => Vector256.IsHardwareAccelerated && SimdTier.MaxVectorBits >= 256;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> NearestInt(Vector256<float> x) =>
        ((x + Vector256.Create(12582912f)).AsInt32() & Vector256.Create(0x007fffff)) - Vector256.Create(0x00400000);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Clamp(Vector256<int> v, int low, int high) =>
        Vector256.Max(Vector256.Create(low), Vector256.Min(Vector256.Create(high), v));

    /// <summary>Element i of sub-blocks <paramref name="first"/> … first + 7 (each <paramref name="n"/> long) of
    /// <paramref name="x"/> into <paramref name="xt"/>[i].</summary>
    public static void Transpose(float* x, int n, int first, Vector256<float>* xt)
    {
        float* b = x + first * n;
        for (int i = 0; i < n; i++, b++)
            xt[i] = Vector256.Create(b[0], b[n], b[2 * n], b[3 * n], b[4 * n], b[5 * n], b[6 * n], b[7 * n]);
    }

    /// <summary>Levels back to sub-block order: lane k of <paramref name="levels"/>[i] to
    /// <paramref name="L"/>[(first + k)·n + i] (the low byte, as C's int8_t/uint8_t stores).</summary>
    public static void Untranspose(Vector256<int>* levels, int n, int first, byte* L)
    {
        int* lanes = (int*)levels;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < 8; k++) L[(first + k) * n + i] = (byte)lanes[i * 8 + k];
    }

    /// <summary>Lane k of <paramref name="v"/> to <paramref name="dst"/>[first + k].</summary>
    public static void Store(Vector256<float> v, float* dst, int first) => v.Store(dst + first);

    /// <summary>The re-rounding every K-quant ends with, for <paramref name="n"/> (a multiple of 8) elements:
    /// L[i] = clamp(nearest_int((x[i] + add) / d), low, high) + offset, or nearest_int(x[i] / d) … without
    /// <paramref name="shift"/> (C does no addition there, and x + 0 would turn −0 into +0). Element-wise, so the vector
    /// body gives the scalar bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RoundToLevels(float* x, int n, bool shift, float add, float d, int low, int high, int offset, byte* L)
    {
        if (!Enabled)
        {
            for (int i = 0; i < n; i++)
                L[i] = (byte)(Math.Max(low, Math.Min(high, QuantMath.NearestInt((shift ? x[i] + add : x[i]) / d))) + offset);
            return;
        }
        var vd = Vector256.Create(d);
        var va = Vector256.Create(add);
        for (int i = 0; i < n; i += 8)
        {
            var v = Vector256.Load(x + i);
            if (shift) v += va;
            var l = Clamp(NearestInt(v / vd), low, high) + Vector256.Create(offset);
            var shorts = Vector128.Narrow(l.GetLower(), l.GetUpper());
            Unsafe.WriteUnaligned(L + i, Vector128.Narrow(shorts, shorts).AsUInt64().ToScalar()); // the low byte of each, as C stores
        }
    }

    /// <summary><see cref="QuantMath.MakeQkx2Quants"/> for eight sub-blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Vector256<float> MakeQkx2Quants(int n, int nmax, Vector256<float>* x, Vector256<float>* weights, Vector256<int>* L,
        out Vector256<float> theMin, Vector256<int>* Laux, float rmin, float rdelta, int nstep, bool useMad)
    {
        var min = x[0];
        var max = x[0];
        var sumW = weights[0];
        var sumX = sumW * x[0];
        for (int i = 1; i < n; ++i)
        {
            min = Vector256.ConditionalSelect(Vector256.LessThan(x[i], min), x[i], min);
            max = Vector256.ConditionalSelect(Vector256.GreaterThan(x[i], max), x[i], max);
            var w = weights[i];
            sumW += w;
            sumX += w * x[i];
        }
        min = Vector256.ConditionalSelect(Vector256.GreaterThan(min, Vector256<float>.Zero), Vector256<float>.Zero, min);
        var flat = Vector256.Equals(max, min); // these lanes end with L = 0, scale 0, min as here (whatever the arithmetic below gives them)
        var flatMin = min;
        var vmax = Vector256.Create(nmax);
        var iscale = Vector256.Create((float)nmax) / (max - min);
        var scale = Vector256<float>.One / iscale;
        var bestError = Vector256<float>.Zero;
        for (int i = 0; i < n; ++i)
        {
            var l = Clamp(NearestInt(iscale * (x[i] - min)), 0, nmax);
            L[i] = l;
            var diff = scale * Vector256.ConvertToSingle(l) + min - x[i];
            diff = useMad ? Vector256.Abs(diff) : diff * diff;
            bestError += weights[i] * diff;
        }
        for (int step = 0; step <= nstep; ++step) // (nstep < 1 returns the first fit in C; the loop then does not run)
        {
            iscale = Vector256.Create(rmin + rdelta * step + nmax) / (max - min);
            var sumL = Vector256<float>.Zero;
            var sumL2 = Vector256<float>.Zero;
            var sumXL = Vector256<float>.Zero;
            for (int i = 0; i < n; ++i)
            {
                var l = Vector256.Min(vmax, Vector256.Max(Vector256<int>.Zero, NearestInt(iscale * (x[i] - min))));
                Laux[i] = l;
                var wl = weights[i] * Vector256.ConvertToSingle(l);
                sumL += wl;
                sumL2 += wl * Vector256.ConvertToSingle(l);
                sumXL += wl * x[i];
            }
            var D = sumW * sumL2 - sumL * sumL;
            var positive = Vector256.GreaterThan(D, Vector256<float>.Zero);
            if (positive == Vector256<float>.Zero) continue;
            var thisScale = (sumW * sumXL - sumX * sumL) / D;
            var thisMin = (sumL2 * sumX - sumL * sumXL) / D;
            var minAboveZero = Vector256.GreaterThan(thisMin, Vector256<float>.Zero);
            thisMin = Vector256.ConditionalSelect(minAboveZero, Vector256<float>.Zero, thisMin);
            thisScale = Vector256.ConditionalSelect(minAboveZero, sumXL / sumL2, thisScale);
            var error = Vector256<float>.Zero;
            for (int i = 0; i < n; ++i)
            {
                var diff = thisScale * Vector256.ConvertToSingle(Laux[i]) + thisMin - x[i];
                diff = useMad ? Vector256.Abs(diff) : diff * diff;
                error += weights[i] * diff;
            }
            var better = positive & Vector256.LessThan(error, bestError);
            if (better == Vector256<float>.Zero) continue;
            var betterInt = better.AsInt32();
            for (int i = 0; i < n; ++i) L[i] = Vector256.ConditionalSelect(betterInt, Laux[i], L[i]);
            bestError = Vector256.ConditionalSelect(better, error, bestError);
            scale = Vector256.ConditionalSelect(better, thisScale, scale);
            min = Vector256.ConditionalSelect(better, thisMin, min);
        }
        var flatInt = flat.AsInt32();
        for (int i = 0; i < n; ++i) L[i] = Vector256.ConditionalSelect(flatInt, Vector256<int>.Zero, L[i]);
        theMin = -Vector256.ConditionalSelect(flat, flatMin, min);
        return Vector256.ConditionalSelect(flat, Vector256<float>.Zero, scale);
    }

    /// <summary><see cref="QuantMath.MakeQxQuants"/> (rmse_type 1) for eight sub-blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    public static Vector256<float> MakeQxQuants(int n, int nmax, Vector256<float>* x, Vector256<int>* L, Vector256<int>* Laux)
    {
        var max = Vector256<float>.Zero;
        var amax = Vector256<float>.Zero;
        Vector256<float>* w = stackalloc Vector256<float>[n];
        Vector256<float>* wx = stackalloc Vector256<float>[n];
        for (int i = 0; i < n; ++i)
        {
            var ax = Vector256.Abs(x[i]);
            var larger = Vector256.GreaterThan(ax, amax);
            amax = Vector256.ConditionalSelect(larger, ax, amax);
            max = Vector256.ConditionalSelect(larger, x[i], max);
            w[i] = x[i] * x[i];
            wx[i] = w[i] * x[i];
        }
        var zero = Vector256.LessThan(amax, Vector256.Create(QuantMath.GroupMaxEps)); // all-zero groups: L = 0, scale 0
        var iscale = Vector256.Create((float)-nmax) / max;
        var sumlx = Vector256<float>.Zero;
        var suml2 = Vector256<float>.Zero;
        for (int i = 0; i < n; ++i)
        {
            var l = Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
            L[i] = l + Vector256.Create(nmax);
            var lf = Vector256.ConvertToSingle(l);
            sumlx += wx[i] * lf;
            suml2 += w[i] * lf * lf;
        }
        var scale = Vector256.ConditionalSelect(Vector256.Equals(suml2, Vector256<float>.Zero), Vector256<float>.Zero, sumlx / suml2);
        var best = scale * sumlx;
        for (int step = -9; step <= 9; ++step)
        {
            if (step == 0) continue;
            iscale = -Vector256.Create(nmax + 0.1f * step) / max;
            sumlx = suml2 = Vector256<float>.Zero;
            for (int i = 0; i < n; ++i)
            {
                var l = Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
                Laux[i] = l;
                var lf = Vector256.ConvertToSingle(l);
                sumlx += wx[i] * lf;
                suml2 += w[i] * lf * lf;
            }
            var better = Vector256.GreaterThan(suml2, Vector256<float>.Zero) & Vector256.GreaterThan(sumlx * sumlx, best * suml2);
            if (better == Vector256<float>.Zero) continue;
            var betterInt = better.AsInt32();
            for (int i = 0; i < n; ++i) L[i] = Vector256.ConditionalSelect(betterInt, Laux[i] + Vector256.Create(nmax), L[i]);
            scale = Vector256.ConditionalSelect(better, sumlx / suml2, scale);
            best = Vector256.ConditionalSelect(better, scale * sumlx, best);
        }
        var zeroInt = zero.AsInt32();
        for (int i = 0; i < n; ++i) L[i] = Vector256.ConditionalSelect(zeroInt, Vector256<int>.Zero, L[i]);
        return Vector256.ConditionalSelect(zero, Vector256<float>.Zero, scale);
    }

    /// <summary><see cref="QuantMath.MakeQ3Quants"/> for eight sub-blocks. A refinement sweep that changes nothing
    /// leaves the state as it was, so lanes that C would have stopped simply repeat it until every lane is done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    public static Vector256<float> MakeQ3Quants(int n, int nmax, Vector256<float>* x, Vector256<int>* L)
    {
        var max = Vector256<float>.Zero;
        var amax = Vector256<float>.Zero;
        Vector256<float>* w = stackalloc Vector256<float>[n];
        Vector256<float>* wx = stackalloc Vector256<float>[n];
        for (int i = 0; i < n; ++i)
        {
            var ax = Vector256.Abs(x[i]);
            var larger = Vector256.GreaterThan(ax, amax);
            amax = Vector256.ConditionalSelect(larger, ax, amax);
            max = Vector256.ConditionalSelect(larger, x[i], max);
            w[i] = x[i] * x[i];
            wx[i] = w[i] * x[i];
        }
        var zero = Vector256.LessThan(amax, Vector256.Create(QuantMath.GroupMaxEps));
        var iscale = Vector256.Create((float)-nmax) / max;
        var sumlx = Vector256<float>.Zero;
        var suml2 = Vector256<float>.Zero;
        for (int i = 0; i < n; ++i)
        {
            var l = Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
            L[i] = l;
            var lf = Vector256.ConvertToSingle(l);
            sumlx += wx[i] * lf;
            suml2 += w[i] * lf * lf;
        }
        for (int attempt = 0; attempt < 5; ++attempt)
        {
            var changed = Vector256<int>.Zero;
            for (int i = 0; i < n; ++i)
            {
                var li = Vector256.ConvertToSingle(L[i]);
                var slx = sumlx - wx[i] * li;
                var sl2 = suml2 - w[i] * li * li;
                var newL = Clamp(NearestInt(x[i] * sl2 / slx), -nmax, nmax - 1);
                var nl = Vector256.ConvertToSingle(newL);
                var slxNew = slx + wx[i] * nl;
                var sl2New = sl2 + w[i] * nl * nl;
                var accept = Vector256.GreaterThan(slx, Vector256<float>.Zero).AsInt32()
                             & ~Vector256.Equals(newL, L[i])
                             & Vector256.GreaterThan(sl2New, Vector256<float>.Zero).AsInt32()
                             & Vector256.GreaterThan(slxNew * slxNew * suml2, sumlx * sumlx * sl2New).AsInt32();
                L[i] = Vector256.ConditionalSelect(accept, newL, L[i]);
                sumlx = Vector256.ConditionalSelect(accept.AsSingle(), slxNew, sumlx);
                suml2 = Vector256.ConditionalSelect(accept.AsSingle(), sl2New, suml2);
                changed |= accept;
            }
            if (changed == Vector256<int>.Zero) break;
        }
        var zeroInt = zero.AsInt32();
        for (int i = 0; i < n; ++i) L[i] = Vector256.ConditionalSelect(zeroInt, Vector256<int>.Zero, L[i] + Vector256.Create(nmax));
        var scale = Vector256.ConditionalSelect(Vector256.GreaterThan(suml2, Vector256<float>.Zero), sumlx / suml2, Vector256<float>.Zero);
        return Vector256.ConditionalSelect(zero, Vector256<float>.Zero, scale);
    }
}
