using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cria.Tensors.Formats;

namespace Cria.Tensors.Interleaved;

/// <summary>F16 or BF16 rows interleaved 16 at a time: a group of 16 rows is n/2 vectors of 64 bytes, and 32-bit lane i
/// of vector p holds row i's columns 2p and 2p + 1 (the bytes of the 16 rows it replaces, rearranged). One token's
/// decode then streams each group once with plain loads: a vector splits into two 16-row columns with one to three
/// integer operations each, and each meets one broadcast activation in an FMA. The sums come out as the group's 16
/// outputs, with no per-row reduction; row by row, the fp16 conversion and the reductions held F16/BF16 decode at
/// 60–74 % of the memory bandwidth (bench/RESULTS.md).</summary>
internal static unsafe class HalfPairsx16<T> where T : struct, IHalfPairs
{
    public const int GroupRows = 16;
    /// <summary>Columns per step of the decode loop (four vectors, eight accumulators); rows are a multiple of it.</summary>
    public const int ColumnStep = 8;

    /// <summary>Repacks <paramref name="rows"/> (a multiple of 16) stored rows of <paramref name="cols"/> (a multiple of 8)
    /// elements from <paramref name="source"/> into <paramref name="destination"/> (not overlapping); false, with
    /// nothing written, when they hold a value the decode cannot take (<see cref="IHalfPairs.Representable"/>).</summary>
    public static bool RepackRows(byte* source, byte* destination, int rows, int cols)
    {
        if (rows % GroupRows != 0) throw new ArgumentException($"{T.Name} repacks whole groups of {GroupRows} rows, not {rows}", nameof(rows));
        if (cols <= 0 || cols % ColumnStep != 0) throw new ArgumentException($"{T.Name} needs rows of a multiple of {ColumnStep} elements, not {cols}", nameof(cols));
        if (!T.Representable(source, (long)rows * cols)) return false;
        long rowBytes = 2L * cols, groupBytes = GroupRows * rowBytes;
        for (long g = 0; g < rows / GroupRows; g++)
        {
            byte* stored = source + g * groupBytes, group = destination + g * groupBytes;
            for (int j = 0; j < cols / 8; j++) // 16 bytes (four words) of each row → four vectors
                InterleavedRepack.Words4(stored + 16 * j, rowBytes, group + 256L * j, 64);
        }
        return true;
    }

    /// <summary>Row <paramref name="row"/> of the interleaved matrix as floats, exactly.</summary>
    public static void DequantizeRow(byte* data, long rowBytes, int row, int cols, float* destination)
    {
        int i = row % GroupRows;
        byte* lane = data + (long)(row - i) * rowBytes + 4 * i;
        for (int p = 0; p < cols / 2; p++)
        {
            uint word = *(uint*)(lane + 64L * p);
            destination[2 * p] = T.Exact((ushort)word);
            destination[2 * p + 1] = T.Exact((ushort)(word >> 16));
        }
    }

    /// <summary>y[r] = row r · x for the <paramref name="groups"/> groups of 16 rows at <paramref name="w"/>, where
    /// <paramref name="a"/> is x times <see cref="IHalfPairs.InputScale"/> (n floats).</summary>
    public static void Gemv(byte* w, int groups, byte* a, int n, float* y)
    {
        if (n <= 0 || n % ColumnStep != 0) throw new ArgumentException($"{T.Name} Gemv: n = {n} is not a multiple of {ColumnStep}", nameof(n));
        if (SimdTier.Current >= 512) Gemv512(w, groups, (float*)a, n, y);
        else GemvScalar(w, groups, (float*)a, n, y);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemv512(byte* w, int groups, float* x, int n, float* y)
    {
        var scale = Vector512.Create(T.OutputScale);
        for (int g = 0; g < groups; g++, y += GroupRows)
        {
            var a0 = Vector512<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
            var a4 = a0; var a5 = a0; var a6 = a0; var a7 = a0;
            float* xk = x;
            for (byte* end = w + 32L * n; w < end; w += 256, xk += ColumnStep)
            {
                T.Split(Vector512.Load((uint*)w), out var e0, out var o0);
                T.Split(Vector512.Load((uint*)(w + 64)), out var e1, out var o1);
                T.Split(Vector512.Load((uint*)(w + 128)), out var e2, out var o2);
                T.Split(Vector512.Load((uint*)(w + 192)), out var e3, out var o3);
                a0 = Vector512.FusedMultiplyAdd(e0, Vector512.Create(xk[0]), a0);
                a1 = Vector512.FusedMultiplyAdd(o0, Vector512.Create(xk[1]), a1);
                a2 = Vector512.FusedMultiplyAdd(e1, Vector512.Create(xk[2]), a2);
                a3 = Vector512.FusedMultiplyAdd(o1, Vector512.Create(xk[3]), a3);
                a4 = Vector512.FusedMultiplyAdd(e2, Vector512.Create(xk[4]), a4);
                a5 = Vector512.FusedMultiplyAdd(o2, Vector512.Create(xk[5]), a5);
                a6 = Vector512.FusedMultiplyAdd(e3, Vector512.Create(xk[6]), a6);
                a7 = Vector512.FusedMultiplyAdd(o3, Vector512.Create(xk[7]), a7);
            }
            ((((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))) * scale).Store(y);
        }
    }

    // The vector body's operations lane by lane (column k into sum k mod 8, the same tree), so both give identical floats.
    private static void GemvScalar(byte* w, int groups, float* x, int n, float* y)
    {
        float* sums = stackalloc float[ColumnStep];
        for (int g = 0; g < groups; g++, y += GroupRows, w += 32L * n)
            for (int i = 0; i < GroupRows; i++)
            {
                for (int j = 0; j < ColumnStep; j++) sums[j] = 0;
                for (int p = 0; p < n / 2; p++)
                {
                    uint word = *(uint*)(w + 64L * p + 4 * i);
                    int k = 2 * p;
                    sums[k % ColumnStep] = MathF.FusedMultiplyAdd(T.Scaled((ushort)word), x[k], sums[k % ColumnStep]);
                    sums[(k + 1) % ColumnStep] = MathF.FusedMultiplyAdd(T.Scaled((ushort)(word >> 16)), x[k + 1], sums[(k + 1) % ColumnStep]);
                }
                y[i] = (((sums[0] + sums[1]) + (sums[2] + sums[3])) + ((sums[4] + sums[5]) + (sums[6] + sums[7]))) * T.OutputScale;
            }
    }

    /// <summary>A few tokens (fewer than the GEMM pays for): <see cref="Gemv"/> per token.</summary>
    public static void Tile(byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n, float* y, long yStride)
    {
        if (rows % GroupRows != 0) throw new ArgumentException($"{T.Name} Tile: {rows} rows are not whole groups of {GroupRows}", nameof(rows));
        for (int t = 0; t < tokens; t++) Gemv(w, rows / GroupRows, a + t * aRowBytes, n, y + t * yStride);
    }
}
