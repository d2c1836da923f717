using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cria.Tensors.Formats;
using Cria.Tensors.Interleaved;

namespace Cria.Tensors.Kernels.Gemm;

/// <summary>Packs a block of stored weights into the micro-kernel's panel: converted exactly to float32 and transposed
/// to k-major, panel[k · stride + r] = W[r, k0 + k], with rows from <c>rows</c> up to <c>stride</c> zero (w is the
/// panel's first row at column 0: the packer knows where column k0 lies in its layout). Packing happens
/// once per (row panel, k-block) and the panel then serves every token, so fp16/bf16 conversion costs nothing per token.</summary>
internal unsafe interface IGemmPacker
{
    static abstract void Pack(byte* w, long rowBytes, int rows, int k0, int kc, float* panel, int stride);
}

/// <summary>One element at a time: the scalar and 128-bit bodies, and the column tails of the wide packers.</summary>
internal unsafe struct GemmPackElementwise<T> : IGemmPacker where T : struct, IElementLoader
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long rowBytes, int rows, int k0, int kc, float* panel, int stride) =>
        PackColumns(w + (long)k0 * T.ElementBytes, rowBytes, rows, 0, kc, panel, stride);

    /// <summary>Packs columns [k0, k1) only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PackColumns(byte* w, long rowBytes, int rows, int k0, int k1, float* panel, int stride)
    {
        for (int r = 0; r < rows; r++)
        {
            byte* row = w + r * rowBytes;
            for (int k = k0; k < k1; k++) panel[(long)k * stride + r] = T.Load1(row + k * T.ElementBytes);
        }
        for (int k = k0; k < k1; k++)
            for (int r = rows; r < stride; r++) panel[(long)k * stride + r] = 0;
    }
}

/// <summary>AVX-512: 16 rows × 16 columns at a time, converted with the type's vector load and transposed in registers
/// (64 shuffles per 256 elements).</summary>
internal unsafe struct GemmPack512<T> : IGemmPacker where T : struct, IElementLoader
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long rowBytes, int rows, int k0, int kc, float* panel, int stride)
    {
        w += (long)k0 * T.ElementBytes;
        int kFull = kc & ~15;
        for (int g = 0; g < stride; g += 16)
        {
            int n = Math.Min(16, rows - g); // rows of this group that exist (stride ≤ rows rounded up to 16, so n ≥ 1)
            byte* p = w + g * rowBytes;
            for (int k = 0; k < kFull; k += 16, p += 16 * T.ElementBytes)
            {
                Transpose16(
                    Row(p, rowBytes, 0, n), Row(p, rowBytes, 1, n), Row(p, rowBytes, 2, n), Row(p, rowBytes, 3, n),
                    Row(p, rowBytes, 4, n), Row(p, rowBytes, 5, n), Row(p, rowBytes, 6, n), Row(p, rowBytes, 7, n),
                    Row(p, rowBytes, 8, n), Row(p, rowBytes, 9, n), Row(p, rowBytes, 10, n), Row(p, rowBytes, 11, n),
                    Row(p, rowBytes, 12, n), Row(p, rowBytes, 13, n), Row(p, rowBytes, 14, n), Row(p, rowBytes, 15, n),
                    panel + (long)k * stride + g, stride);
            }
        }
        if (kFull < kc) GemmPackElementwise<T>.PackColumns(w, rowBytes, rows, kFull, kc, panel, stride);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Row(byte* p, long rowBytes, int i, int n) =>
        i < n ? T.Load16(p + i * rowBytes) : Vector512<float>.Zero;

    /// <summary>Stores column j of the 16 × 16 block (rows r0…r15) at dst + j · stride.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose16(
        Vector512<float> r0, Vector512<float> r1, Vector512<float> r2, Vector512<float> r3,
        Vector512<float> r4, Vector512<float> r5, Vector512<float> r6, Vector512<float> r7,
        Vector512<float> r8, Vector512<float> r9, Vector512<float> r10, Vector512<float> r11,
        Vector512<float> r12, Vector512<float> r13, Vector512<float> r14, Vector512<float> r15,
        float* dst, int stride)
    {
        // Within each 128-bit lane: pairs of rows interleaved, then groups of four rows per column.
        var t0 = Avx512F.UnpackLow(r0, r1).AsDouble(); var t1 = Avx512F.UnpackHigh(r0, r1).AsDouble();
        var t2 = Avx512F.UnpackLow(r2, r3).AsDouble(); var t3 = Avx512F.UnpackHigh(r2, r3).AsDouble();
        var t4 = Avx512F.UnpackLow(r4, r5).AsDouble(); var t5 = Avx512F.UnpackHigh(r4, r5).AsDouble();
        var t6 = Avx512F.UnpackLow(r6, r7).AsDouble(); var t7 = Avx512F.UnpackHigh(r6, r7).AsDouble();
        var t8 = Avx512F.UnpackLow(r8, r9).AsDouble(); var t9 = Avx512F.UnpackHigh(r8, r9).AsDouble();
        var t10 = Avx512F.UnpackLow(r10, r11).AsDouble(); var t11 = Avx512F.UnpackHigh(r10, r11).AsDouble();
        var t12 = Avx512F.UnpackLow(r12, r13).AsDouble(); var t13 = Avx512F.UnpackHigh(r12, r13).AsDouble();
        var t14 = Avx512F.UnpackLow(r14, r15).AsDouble(); var t15 = Avx512F.UnpackHigh(r14, r15).AsDouble();
        // u[c + 4q]: lane L holds column 4L + c of rows 4q … 4q + 3.
        var u0 = Avx512F.UnpackLow(t0, t2).AsSingle(); var u1 = Avx512F.UnpackHigh(t0, t2).AsSingle();
        var u2 = Avx512F.UnpackLow(t1, t3).AsSingle(); var u3 = Avx512F.UnpackHigh(t1, t3).AsSingle();
        var u4 = Avx512F.UnpackLow(t4, t6).AsSingle(); var u5 = Avx512F.UnpackHigh(t4, t6).AsSingle();
        var u6 = Avx512F.UnpackLow(t5, t7).AsSingle(); var u7 = Avx512F.UnpackHigh(t5, t7).AsSingle();
        var u8 = Avx512F.UnpackLow(t8, t10).AsSingle(); var u9 = Avx512F.UnpackHigh(t8, t10).AsSingle();
        var u10 = Avx512F.UnpackLow(t9, t11).AsSingle(); var u11 = Avx512F.UnpackHigh(t9, t11).AsSingle();
        var u12 = Avx512F.UnpackLow(t12, t14).AsSingle(); var u13 = Avx512F.UnpackHigh(t12, t14).AsSingle();
        var u14 = Avx512F.UnpackLow(t13, t15).AsSingle(); var u15 = Avx512F.UnpackHigh(t13, t15).AsSingle();
        Columns(u0, u4, u8, u12, dst, stride);
        Columns(u1, u5, u9, u13, dst + stride, stride);
        Columns(u2, u6, u10, u14, dst + 2 * stride, stride);
        Columns(u3, u7, u11, u15, dst + 3 * stride, stride);
    }

    // Lanes of a (rows 0-3), b (4-7), c (8-11), d (12-15) hold columns c0, c0+4, c0+8, c0+12: gather each lane index.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Columns(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d, float* dst, int stride)
    {
        var ab02 = Avx512F.Shuffle4x128(a, b, 0x88); // a.L0 a.L2 b.L0 b.L2
        var ab13 = Avx512F.Shuffle4x128(a, b, 0xDD); // a.L1 a.L3 b.L1 b.L3
        var cd02 = Avx512F.Shuffle4x128(c, d, 0x88);
        var cd13 = Avx512F.Shuffle4x128(c, d, 0xDD);
        Avx512F.Shuffle4x128(ab02, cd02, 0x88).Store(dst);              // lane 0: column c0
        Avx512F.Shuffle4x128(ab13, cd13, 0x88).Store(dst + 4 * stride); // lane 1: column c0 + 4
        Avx512F.Shuffle4x128(ab02, cd02, 0xDD).Store(dst + 8 * stride); // lane 2: column c0 + 8
        Avx512F.Shuffle4x128(ab13, cd13, 0xDD).Store(dst + 12 * stride);
    }
}

/// <summary>AVX2: 8 rows × 8 columns at a time, transposed in registers (24 shuffles per 64 elements).</summary>
internal unsafe struct GemmPack256<T> : IGemmPacker where T : struct, IElementLoader
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long rowBytes, int rows, int k0, int kc, float* panel, int stride)
    {
        w += (long)k0 * T.ElementBytes;
        int kFull = kc & ~7;
        for (int g = 0; g < stride; g += 8)
        {
            int n = Math.Min(8, rows - g);
            byte* p = w + g * rowBytes;
            for (int k = 0; k < kFull; k += 8, p += 8 * T.ElementBytes)
                Transpose8(
                    Row(p, rowBytes, 0, n), Row(p, rowBytes, 1, n), Row(p, rowBytes, 2, n), Row(p, rowBytes, 3, n),
                    Row(p, rowBytes, 4, n), Row(p, rowBytes, 5, n), Row(p, rowBytes, 6, n), Row(p, rowBytes, 7, n),
                    panel + (long)k * stride + g, stride);
        }
        if (kFull < kc) GemmPackElementwise<T>.PackColumns(w, rowBytes, rows, kFull, kc, panel, stride);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Row(byte* p, long rowBytes, int i, int n) =>
        i < n ? T.Load8(p + i * rowBytes) : Vector256<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(
        Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7,
        float* dst, int stride)
    {
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        // u[c + 4q]: lane L holds column 4L + c of rows 4q … 4q + 3.
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(u0, u4, 0x20).Store(dst);
        Avx.Permute2x128(u1, u5, 0x20).Store(dst + stride);
        Avx.Permute2x128(u2, u6, 0x20).Store(dst + 2 * stride);
        Avx.Permute2x128(u3, u7, 0x20).Store(dst + 3 * stride);
        Avx.Permute2x128(u0, u4, 0x31).Store(dst + 4 * stride);
        Avx.Permute2x128(u1, u5, 0x31).Store(dst + 5 * stride);
        Avx.Permute2x128(u2, u6, 0x31).Store(dst + 6 * stride);
        Avx.Permute2x128(u3, u7, 0x31).Store(dst + 7 * stride);
    }
}

/// <summary>AVX-512, weights repacked into 16-row groups of F16/BF16 pairs (<see cref="HalfPairsx16{T}"/>): each vector
/// splits into two 16-row columns of the panel, converted exactly; no transpose. Rows come in whole groups.</summary>
internal unsafe struct GemmPackPairs512<T> : IGemmPacker where T : struct, IHalfPairs
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(byte* w, long rowBytes, int rows, int k0, int kc, float* panel, int stride)
    {
        for (int g = 0; g < stride; g += 16)
        {
            byte* p = w + g * rowBytes + 32L * k0; // group g/16 of the panel, column pair k0/2
            float* dst = panel + g;
            for (int k = 0; k < kc; k += 2, p += 64, dst += 2 * stride)
            {
                T.SplitExact(Vector512.Load((uint*)p), out var even, out var odd);
                even.Store(dst);
                odd.Store(dst + stride);
            }
        }
    }
}
