using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cria.Tensors.Formats;

namespace Cria.Tensors.Kernels.Gemm;

/// <summary>y[t, r] = W[r] · x[t] for a tile of a float-typed weight matrix (F32, F16, BF16) and a batch of tokens.
/// For each panel of rows (64 on AVX-512, 16 on AVX2, 8 with 128-bit vectors, 2 scalar) and each k-block of
/// <see cref="BlockColumns"/> columns, the weights are converted to float32 and packed k-major into the scratch once,
/// then every group of up to six tokens runs the register tile of <see cref="GemmMicroKernel{TOps,TVector}"/> over
/// it. Each output is a float sum of exactly converted products, in a different order than Dot's.</summary>
internal static unsafe class FloatGemm<T> where T : struct, IElementLoader
{
    /// <summary>Columns per k-block: a 64-row panel of 512 columns is 128 KiB, read from L2, while six tokens' block
    /// (12 KiB) sits in L1; every output takes one load-add-store per block. 256…1024 measured alike on Zen 4.</summary>
    public const int BlockColumns = 512;

    /// <summary>The widest panel (AVX-512: 4 vectors of 16 rows).</summary>
    public const int MaxPanelRows = 64;

    /// <summary>Floats of scratch one call needs (the packed panel).</summary>
    public const int ScratchFloats = MaxPanelRows * BlockColumns;

    private const int MaxTokens = 6;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(byte* w, long wRowBytes, int rows, float* x, long xStride, int tokens, int cols,
        float* y, long yStride, float* scratch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        if (rows == 0 || tokens == 0) return;
        if (cols == 0)
        {
            for (int t = 0; t < tokens; t++) new Span<float>(y + t * yStride, rows).Clear(); // empty dot products
            return;
        }
        switch (SimdTier.Current)
        {
            case 512:
                Run<GemmVector512, Vector512<float>, GemmPack512<T>>(4, w, wRowBytes, rows, x, xStride, tokens, cols, y, yStride, scratch);
                break;
            case 256:
                Run<GemmVector256, Vector256<float>, GemmPack256<T>>(2, w, wRowBytes, rows, x, xStride, tokens, cols, y, yStride, scratch);
                break;
            case 128:
                Run<GemmVector128, Vector128<float>, GemmPackElementwise<T>>(2, w, wRowBytes, rows, x, xStride, tokens, cols, y, yStride, scratch);
                break;
            default:
                Run<GemmScalar, float, GemmPackElementwise<T>>(2, w, wRowBytes, rows, x, xStride, tokens, cols, y, yStride, scratch);
                break;
        }
    }

    /// <summary><see cref="Multiply"/> on AVX-512 with a packer of the caller's, for weights in a layout of their own
    /// (<see cref="Interleaved.HalfPairsx16{T}"/>); rows and columns as that packer needs them.</summary>
    internal static void Multiply512<TPacker>(byte* w, long wRowBytes, int rows, float* x, long xStride, int tokens, int cols,
        float* y, long yStride, float* scratch) where TPacker : struct, IGemmPacker
    {
        if (SimdTier.Current < 512) throw new InvalidOperationException($"{typeof(TPacker).Name} needs AVX-512");
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        if (rows == 0 || tokens == 0 || cols == 0) return;
        Run<GemmVector512, Vector512<float>, TPacker>(4, w, wRowBytes, rows, x, xStride, tokens, cols, y, yStride, scratch);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TOps, TVector, TPacker>(int panelVectors, byte* w, long wRowBytes, int rows, float* x, long xStride,
        int tokens, int cols, float* y, long yStride, float* panel)
        where TOps : struct, IGemmVector<TVector>
        where TVector : struct
        where TPacker : struct, IGemmPacker
    {
        int lanes = TOps.Lanes;
        int panelRows = panelVectors * lanes;
        float* partial = stackalloc float[MaxTokens * MaxPanelRows]; // outputs of a panel that runs past the last row
        for (int r0 = 0; r0 < rows; r0 += panelRows)
        {
            int panelRowsUsed = Math.Min(panelRows, rows - r0);
            int vectors = (panelRowsUsed + lanes - 1) / lanes;
            for (int k0 = 0; k0 < cols; k0 += BlockColumns)
            {
                int kc = Math.Min(BlockColumns, cols - k0);
                TPacker.Pack(w + r0 * wRowBytes, wRowBytes, panelRowsUsed, k0, kc, panel, vectors * lanes);
                var block = new Block(panel, kc, x + k0, xStride, tokens, y + r0, yStride, panelRowsUsed, k0 > 0, partial);
                switch (vectors)
                {
                    case 1: Tokens<TOps, TVector, Count1>(block); break;
                    case 2: Tokens<TOps, TVector, Count2>(block); break;
                    case 3: Tokens<TOps, TVector, Count3>(block); break;
                    default: Tokens<TOps, TVector, Count4>(block); break;
                }
            }
        }
    }

    /// <summary>One packed panel × one k-block, for all tokens.</summary>
    private readonly struct Block(float* panel, int kc, float* x, long xStride, int tokens, float* y, long yStride,
        int rows, bool accumulate, float* partial)
    {
        public readonly float* Panel = panel;
        public readonly int Kc = kc;
        public readonly float* X = x;           // token 0, first column of the block
        public readonly long XStride = xStride;
        public readonly int Tokens = tokens;
        public readonly float* Y = y;           // token 0, first row of the panel
        public readonly long YStride = yStride;
        public readonly int Rows = rows;        // rows of the panel that exist
        public readonly bool Accumulate = accumulate;
        public readonly float* Partial = partial;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tokens<TOps, TVector, R>(in Block b)
        where TOps : struct, IGemmVector<TVector>
        where TVector : struct
        where R : struct, IGemmCount
    {
        int t = 0;
        for (; t + MaxTokens <= b.Tokens; t += MaxTokens) Tile<TOps, TVector, R, Count6>(b, t);
        switch (b.Tokens - t)
        {
            case 1: Tile<TOps, TVector, R, Count1>(b, t); break;
            case 2: Tile<TOps, TVector, R, Count2>(b, t); break;
            case 3: Tile<TOps, TVector, R, Count3>(b, t); break;
            case 4: Tile<TOps, TVector, R, Count4>(b, t); break;
            case 5: Tile<TOps, TVector, R, Count5>(b, t); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile<TOps, TVector, R, N>(in Block b, int t)
        where TOps : struct, IGemmVector<TVector>
        where TVector : struct
        where R : struct, IGemmCount
        where N : struct, IGemmCount
    {
        float* x = b.X + t * b.XStride;
        float* y = b.Y + t * b.YStride;
        int panelRows = R.Value * TOps.Lanes;
        if (b.Rows == panelRows)
        {
            GemmMicroKernel<TOps, TVector>.Run<R, N>(b.Panel, b.Kc, x, b.XStride, y, b.YStride, b.Accumulate);
            return;
        }
        // The panel's last vector runs past the last row: compute into a buffer, copy the rows that exist.
        if (b.Accumulate)
            for (int j = 0; j < N.Value; j++)
                new Span<float>(y + j * b.YStride, b.Rows).CopyTo(new Span<float>(b.Partial + j * panelRows, b.Rows));
        GemmMicroKernel<TOps, TVector>.Run<R, N>(b.Panel, b.Kc, x, b.XStride, b.Partial, panelRows, b.Accumulate);
        for (int j = 0; j < N.Value; j++)
            new Span<float>(b.Partial + j * panelRows, b.Rows).CopyTo(new Span<float>(y + j * b.YStride, b.Rows));
    }
}
