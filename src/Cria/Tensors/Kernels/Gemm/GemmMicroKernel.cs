using System.Runtime.CompilerServices;

namespace Cria.Tensors.Kernels.Gemm;

/// <summary>The register tile: y[t, r] (+)= Σ_k panel[k, r] · x[t, k] for <c>R</c> row vectors (R × Lanes rows) and
/// <c>N</c> ≤ 6 tokens, over one k-block. The packed panel holds the converted weights k-major (R × Lanes floats per k),
/// so each step loads R weight vectors, broadcasts one activation per token and issues R × N FMAs into accumulators
/// that never leave the registers (4 × 6 zmm = 24 of the 32 on AVX-512; 2 × 6 = 12 of 16 ymm/xmm on AVX2/SSE).</summary>
internal static unsafe class GemmMicroKernel<TOps, TVector>
    where TOps : struct, IGemmVector<TVector>
    where TVector : struct
{
    /// <summary>The most tokens one tile takes.</summary>
    public const int MaxTokens = 6;

    /// <summary>Runs the tile: <paramref name="x"/> is token 0's activations at the block's first column (token j at
    /// x + j·xStride), <paramref name="y"/> token 0's outputs at the panel's first row; all R × Lanes rows are stored.
    /// <paramref name="accumulate"/> adds to y (later k-blocks) instead of overwriting it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<R, N>(float* panel, int kc, float* x, long xStride, float* y, long yStride, bool accumulate)
        where R : struct, IGemmCount
        where N : struct, IGemmCount
    {
        int lanes = TOps.Lanes;
        int stride = R.Value * lanes;

        TVector c00 = default, c01 = default, c02 = default, c03 = default;
        TVector c10 = default, c11 = default, c12 = default, c13 = default;
        TVector c20 = default, c21 = default, c22 = default, c23 = default;
        TVector c30 = default, c31 = default, c32 = default, c33 = default;
        TVector c40 = default, c41 = default, c42 = default, c43 = default;
        TVector c50 = default, c51 = default, c52 = default, c53 = default;
        float* x0 = x, x1 = x + 1 * xStride, x2 = x + 2 * xStride, x3 = x + 3 * xStride, x4 = x + 4 * xStride, x5 = x + 5 * xStride;
        float* end = x0 + kc;
        for (; x0 < end; x0++, x1++, x2++, x3++, x4++, x5++, panel += stride)
        {
            TVector w0 = TOps.Load(panel);
            TVector w1 = R.Value > 1 ? TOps.Load(panel + lanes) : default;
            TVector w2 = R.Value > 2 ? TOps.Load(panel + 2 * lanes) : default;
            TVector w3 = R.Value > 3 ? TOps.Load(panel + 3 * lanes) : default;
            TVector b;
            b = TOps.Broadcast(x0);
            c00 = TOps.MultiplyAdd(w0, b, c00);
            if (R.Value > 1) c01 = TOps.MultiplyAdd(w1, b, c01);
            if (R.Value > 2) c02 = TOps.MultiplyAdd(w2, b, c02);
            if (R.Value > 3) c03 = TOps.MultiplyAdd(w3, b, c03);
            if (N.Value > 1)
            {
                b = TOps.Broadcast(x1);
                c10 = TOps.MultiplyAdd(w0, b, c10);
                if (R.Value > 1) c11 = TOps.MultiplyAdd(w1, b, c11);
                if (R.Value > 2) c12 = TOps.MultiplyAdd(w2, b, c12);
                if (R.Value > 3) c13 = TOps.MultiplyAdd(w3, b, c13);
            }
            if (N.Value > 2)
            {
                b = TOps.Broadcast(x2);
                c20 = TOps.MultiplyAdd(w0, b, c20);
                if (R.Value > 1) c21 = TOps.MultiplyAdd(w1, b, c21);
                if (R.Value > 2) c22 = TOps.MultiplyAdd(w2, b, c22);
                if (R.Value > 3) c23 = TOps.MultiplyAdd(w3, b, c23);
            }
            if (N.Value > 3)
            {
                b = TOps.Broadcast(x3);
                c30 = TOps.MultiplyAdd(w0, b, c30);
                if (R.Value > 1) c31 = TOps.MultiplyAdd(w1, b, c31);
                if (R.Value > 2) c32 = TOps.MultiplyAdd(w2, b, c32);
                if (R.Value > 3) c33 = TOps.MultiplyAdd(w3, b, c33);
            }
            if (N.Value > 4)
            {
                b = TOps.Broadcast(x4);
                c40 = TOps.MultiplyAdd(w0, b, c40);
                if (R.Value > 1) c41 = TOps.MultiplyAdd(w1, b, c41);
                if (R.Value > 2) c42 = TOps.MultiplyAdd(w2, b, c42);
                if (R.Value > 3) c43 = TOps.MultiplyAdd(w3, b, c43);
            }
            if (N.Value > 5)
            {
                b = TOps.Broadcast(x5);
                c50 = TOps.MultiplyAdd(w0, b, c50);
                if (R.Value > 1) c51 = TOps.MultiplyAdd(w1, b, c51);
                if (R.Value > 2) c52 = TOps.MultiplyAdd(w2, b, c52);
                if (R.Value > 3) c53 = TOps.MultiplyAdd(w3, b, c53);
            }
        }
        Store<R>(y, accumulate, c00, c01, c02, c03);
        if (N.Value > 1) Store<R>(y + 1 * yStride, accumulate, c10, c11, c12, c13);
        if (N.Value > 2) Store<R>(y + 2 * yStride, accumulate, c20, c21, c22, c23);
        if (N.Value > 3) Store<R>(y + 3 * yStride, accumulate, c30, c31, c32, c33);
        if (N.Value > 4) Store<R>(y + 4 * yStride, accumulate, c40, c41, c42, c43);
        if (N.Value > 5) Store<R>(y + 5 * yStride, accumulate, c50, c51, c52, c53);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<R>(float* y, bool accumulate, TVector a0, TVector a1, TVector a2, TVector a3)
        where R : struct, IGemmCount
    {
        int lanes = TOps.Lanes;
        if (accumulate)
        {
            a0 = TOps.Add(TOps.Load(y), a0);
            if (R.Value > 1) a1 = TOps.Add(TOps.Load(y + lanes), a1);
            if (R.Value > 2) a2 = TOps.Add(TOps.Load(y + 2 * lanes), a2);
            if (R.Value > 3) a3 = TOps.Add(TOps.Load(y + 3 * lanes), a3);
        }
        TOps.Store(a0, y);
        if (R.Value > 1) TOps.Store(a1, y + lanes);
        if (R.Value > 2) TOps.Store(a2, y + 2 * lanes);
        if (R.Value > 3) TOps.Store(a3, y + 3 * lanes);
    }
}
