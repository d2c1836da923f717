using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

/// <summary>A token count known when the JIT compiles a tile body, so its accumulators stay in registers and the
/// branches for absent tokens vanish.</summary>
internal interface ITileTokens
{
    static abstract int Count { get; }
}

internal struct Tokens1 : ITileTokens { public static int Count => 1; }
internal struct Tokens2 : ITileTokens { public static int Count => 2; }
internal struct Tokens4 : ITileTokens { public static int Count => 4; }
internal struct Tokens8 : ITileTokens { public static int Count => 8; }

/// <summary>One weight type's tile kernel on one SIMD tier. A group of <see cref="GroupRows"/> rows is decoded
/// (<see cref="Pack"/>) once per chunk of columns and block of up to <see cref="Int8TileDriver{TBody}.TokenBlock"/>
/// tokens into a small L1-resident panel; <see cref="Micro"/> then multiplies the panel with the tokens, a register tile
/// of up to 8 tokens at a time.</summary>
internal unsafe interface IInt8TileBody
{
    /// <summary>Weight rows per group (16 with 512-bit vectors, 8 with 256-bit: one 32-bit lane per row).</summary>
    static abstract int GroupRows { get; }

    /// <summary>Tokens per full register tile (8, 4 or 2); the last tokens go through the narrower instantiations.</summary>
    static abstract int MaxTokens { get; }

    static abstract int BlockElements { get; }
    static abstract int WeightBlockBytes { get; }
    static abstract int ActivationBlockBytes { get; }

    /// <summary>Blocks per pass over the columns, so that a group's panel and the tile's activations stay in L1.</summary>
    static abstract int ChunkBlocks { get; }

    /// <summary>Bytes of one block of a group once decoded (a multiple of 64).</summary>
    static abstract int PackedBlockBytes { get; }

    /// <summary>Integer terms per (block, token) that <see cref="PrepareActivations"/> writes.</summary>
    static abstract int TermInts { get; }

    /// <summary>Per (block b, token t) terms of the activations: the scale at <c>scales[b·tokens + t]</c>, and
    /// <see cref="TermInts"/> integers at <c>terms[(b·tokens + t)·TermInts]</c> (corrections the weight encoding needs).</summary>
    static abstract void PrepareActivations(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* terms);

    /// <summary>Decodes <paramref name="blocks"/> blocks of the group of rows at <paramref name="w"/> (row stride
    /// <paramref name="s"/>) into <paramref name="packed"/>.</summary>
    static abstract void Pack(byte* w, long s, int blocks, byte* packed);

    /// <summary>The panel times <c>TN.Count</c> tokens: writes (or, <paramref name="accumulate"/>, adds to)
    /// <c>y[t·yStride + i]</c> for the group's rows i. <paramref name="scales"/> and <paramref name="terms"/> point at the
    /// first token's entries, <paramref name="termStride"/> entries apart per block.</summary>
    static abstract void Micro<TN>(byte* packed, int blocks, byte* a, long aRowBytes, float* scales, int* terms,
        int termStride, float* y, long yStride, bool accumulate) where TN : struct, ITileTokens;
}

/// <summary>Runs a tile body over a whole <c>DotQ8Tile</c> call: column chunks, blocks of tokens, groups of rows (the
/// last one padded), register tiles of 8/4/2/1 tokens.</summary>
internal static unsafe class Int8TileDriver<TBody> where TBody : struct, IInt8TileBody
{
    /// <summary>Tokens that share one decoded panel: its decode cost is spread over this many.</summary>
    public const int TokenBlock = 64;

    [SkipLocalsInit]
    public static void Run(byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n,
        float* y, long yStride, delegate*<byte*, byte*, int, float> dot)
    {
        if (rows == 0 || tokens == 0) return;
        int nb = n / TBody.BlockElements;
        // Row offsets within a group go into 32-bit gather indices.
        if (nb == 0 || wRowBytes > int.MaxValue / TBody.GroupRows)
        {
            Int8Tile.RowDots(w, wRowBytes, 0, rows, a, aRowBytes, tokens, n, y, yStride, dot);
            return;
        }
        int groupRows = TBody.GroupRows, groups = rows / groupRows, tail = rows - groups * groupRows;
        int chunk = TBody.ChunkBlocks;
        float* scales = stackalloc float[TokenBlock * chunk];
        int* terms = stackalloc int[TokenBlock * chunk * TBody.TermInts];
        byte* buffer = stackalloc byte[chunk * TBody.PackedBlockBytes + 64];
        byte* packed = (byte*)(((nuint)buffer + 63) & ~(nuint)63);
        // The last rows go through a group padded with zero rows, so that every row gets the same arithmetic (bit for
        // bit) whichever chunk of rows it arrives in: results do not depend on how a matmul splits its rows.
        long padStride = (long)chunk * TBody.WeightBlockBytes;
        byte* pad = stackalloc byte[tail > 0 ? (int)(groupRows * padStride) : 0];
        float* tailY = stackalloc float[tail > 0 ? groupRows * TokenBlock : 0];
        if (tail > 0) new Span<byte>(pad, (int)(groupRows * padStride)).Clear();
        for (int b0 = 0; b0 < nb; b0 += chunk)
        {
            int blocks = Math.Min(chunk, nb - b0);
            byte* wc = w + (long)b0 * TBody.WeightBlockBytes;
            for (int r = 0; r < tail; r++)
                new ReadOnlySpan<byte>(wc + (groups * groupRows + r) * wRowBytes, blocks * TBody.WeightBlockBytes).CopyTo(new Span<byte>(pad + r * padStride, (int)padStride));
            for (int t0 = 0; t0 < tokens; t0 += TokenBlock)
            {
                int tb = Math.Min(TokenBlock, tokens - t0);
                byte* at = a + t0 * aRowBytes + (long)b0 * TBody.ActivationBlockBytes;
                TBody.PrepareActivations(at, aRowBytes, tb, blocks, scales, terms);
                for (int g = 0; g < groups; g++)
                {
                    TBody.Pack(wc + g * groupRows * wRowBytes, wRowBytes, blocks, packed);
                    Tiles(packed, blocks, at, aRowBytes, tb, scales, terms, y + t0 * yStride + g * groupRows, yStride, b0 > 0);
                }
                if (tail == 0) continue;
                TBody.Pack(pad, padStride, blocks, packed);
                Tiles(packed, blocks, at, aRowBytes, tb, scales, terms, tailY, groupRows, false);
                for (int t = 0; t < tb; t++)
                {
                    float* dst = y + (t0 + t) * yStride + groups * groupRows;
                    float* src = tailY + t * groupRows;
                    for (int r = 0; r < tail; r++) dst[r] = b0 > 0 ? dst[r] + src[r] : src[r];
                }
            }
        }
    }

    private static void Tiles(byte* packed, int blocks, byte* a, long aRowBytes, int tokens, float* scales, int* terms,
        float* y, long yStride, bool accumulate)
    {
        int n = TBody.TermInts;
        int t = 0;
        if (TBody.MaxTokens >= 8)
            for (; tokens - t >= 8; t += 8)
                TBody.Micro<Tokens8>(packed, blocks, a + t * aRowBytes, aRowBytes, scales + t, terms + t * n, tokens, y + t * yStride, yStride, accumulate);
        if (TBody.MaxTokens >= 4)
            for (; tokens - t >= 4; t += 4)
                TBody.Micro<Tokens4>(packed, blocks, a + t * aRowBytes, aRowBytes, scales + t, terms + t * n, tokens, y + t * yStride, yStride, accumulate);
        for (; tokens - t >= 2; t += 2)
            TBody.Micro<Tokens2>(packed, blocks, a + t * aRowBytes, aRowBytes, scales + t, terms + t * n, tokens, y + t * yStride, yStride, accumulate);
        for (; t < tokens; t++)
            TBody.Micro<Tokens1>(packed, blocks, a + t * aRowBytes, aRowBytes, scales + t, terms + t * n, tokens, y + t * yStride, yStride, accumulate);
    }
}

/// <summary>Shared steps of the multi-token integer tiles (<c>DotQ8Tile</c>). A tile holds one 32-bit lane per weight
/// row: four quant bytes of 16 rows (8 with 256 bits) side by side, times the same four activation bytes broadcast,
/// so vpmaddubsw + vpmaddwd leave each row's block sum in its own lane and one convert and one scale multiply serve
/// 16 rows. The rows' bytes are brought side by side with 128-bit loads and a 4×4 transpose of 32-bit words.</summary>
internal static unsafe class Int8Tile
{
    /// <summary>Argument checks shared by every type's <c>DotQ8Tile</c>.</summary>
    public static void Validate(GgmlType type, int blockElements, long blockBytes, ActivationLayoutInfo activation,
        byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n, float* y, long yStride)
    {
        if (rows < 0 || tokens < 0)
            throw new ArgumentOutOfRangeException(rows < 0 ? nameof(rows) : nameof(tokens), $"{type} DotQ8Tile: rows {rows} and tokens {tokens} must not be negative");
        if (n < 0 || n % blockElements != 0)
            throw new ArgumentException($"{type} DotQ8Tile: n = {n} is not a whole number of {blockElements}-element blocks", nameof(n));
        if (n % activation.BlockElements != 0)
            throw new ArgumentException($"{type} DotQ8Tile: n = {n} is not a whole number of {activation.BlockElements}-element activation blocks", nameof(n));
        if (rows > 1 && wRowBytes < n / blockElements * blockBytes)
            throw new ArgumentException($"{type} DotQ8Tile: weight row stride {wRowBytes} is shorter than a row of {n} elements", nameof(wRowBytes));
        if (tokens > 1 && aRowBytes < (long)n / activation.BlockElements * activation.BlockBytes)
            throw new ArgumentException($"{type} DotQ8Tile: activation row stride {aRowBytes} is shorter than a row of {n} elements", nameof(aRowBytes));
        if (tokens > 1 && yStride < rows)
            throw new ArgumentException($"{type} DotQ8Tile: output stride {yStride} is shorter than {rows} rows", nameof(yStride));
        // Null data is an error wherever anything would be read or written.
        if (rows == 0 || tokens == 0) return;
        if (y == null) throw new ArgumentNullException(nameof(y), $"{type} DotQ8Tile: no output for {rows} rows × {tokens} tokens");
        if (n > 0 && (w == null || a == null))
            throw new ArgumentNullException(w == null ? nameof(w) : nameof(a), $"{type} DotQ8Tile: no {(w == null ? "weights" : "activations")} for n = {n}");
    }

    /// <summary>Rows <paramref name="from"/>…<paramref name="to"/> − 1 by the per-row dot, for every token.</summary>
    public static void RowDots(byte* w, long wRowBytes, int from, int to, byte* a, long aRowBytes, int tokens, int n,
        float* y, long yStride, delegate*<byte*, byte*, int, float> dot)
    {
        for (int t = 0; t < tokens; t++)
            for (int r = from; r < to; r++)
                y[t * yStride + r] = dot(w + r * wRowBytes, a + t * aRowBytes, n);
    }

    /// <summary>Σ of the 32 signed bytes at <paramref name="q"/> (vpsadbw on the bytes biased to unsigned).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Sum32(byte* q)
    {
        var biased = Vector256.Load(q) ^ Vector256.Create((byte)0x80);
        return (int)Vector256.Sum(Avx2.SumAbsoluteDifferences(biased, Vector256<byte>.Zero).AsUInt64()) - 32 * 128;
    }

    /// <summary><see cref="IInt8TileBody.PrepareActivations"/> for Q8_0 activations: the fp16 scale, and
    /// <paramref name="sumScale"/> · Σ qs (the correction of weights stored as q + sumScale).</summary>
    public static void PrepareQ8_0(byte* a, long aRowBytes, int tokens, int blocks, float* scales, int* corrections, int sumScale)
    {
        for (int t = 0; t < tokens; t++)
        {
            byte* src = a + t * aRowBytes;
            for (int b = 0; b < blocks; b++, src += 34)
            {
                scales[b * tokens + t] = Fp16.LoadScale(src);
                corrections[b * tokens + t] = sumScale * Sum32(src + 2);
            }
        }
    }

    /// <summary><see cref="IInt8TileBody.PrepareActivations"/> for Q8_K activations whose kernel needs only the scale
    /// (the bsums it reads in place).</summary>
    public static void PrepareQ8_KScales(byte* a, long aRowBytes, int tokens, int blocks, float* scales)
    {
        for (int t = 0; t < tokens; t++)
            for (int b = 0; b < blocks; b++) scales[b * tokens + t] = *(float*)(a + t * aRowBytes + b * 292L);
    }

    /// <summary>Four bytes at <paramref name="p"/> repeated over the vector (one vpbroadcastd from memory).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<sbyte> Broadcast4x16(byte* p) => Vector512.Create(Unsafe.ReadUnaligned<int>(p)).AsSByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<sbyte> Broadcast4x8(byte* p) => Vector256.Create(Unsafe.ReadUnaligned<int>(p)).AsSByte();

    /// <summary>16 bytes of rows p, p + s4, p + 2·s4, p + 3·s4 in the four 128-bit lanes (explicit inserts: the JIT
    /// builds Vector512.Create(lower, upper) through a stack slot).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Rows4(byte* p, long s4)
    {
        var lower = Avx2.InsertVector128(Vector128.Load(p).ToVector256Unsafe(), Vector128.Load(p + s4), 1);
        var upper = Avx2.InsertVector128(Vector128.Load(p + 2 * s4).ToVector256Unsafe(), Vector128.Load(p + 3 * s4), 1);
        return Avx512F.InsertVector256(lower.ToVector512Unsafe(), upper, 1).AsInt32();
    }

    /// <summary>16 bytes of rows p and p + s4 in the two 128-bit lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Rows2(byte* p, long s4) => Avx2.InsertVector128(Vector128.Load(p).ToVector256Unsafe(), Vector128.Load(p + s4), 1).AsInt32();

    /// <summary>16 bytes (four 32-bit words) of each of 16 rows at p + i·s → <paramref name="d0"/>…<paramref name="d3"/>:
    /// word k of row i in lane i of dk.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose16(byte* p, long s, out Vector512<byte> d0, out Vector512<byte> d1, out Vector512<byte> d2, out Vector512<byte> d3)
    {
        // Lane L of zj holds row j + 4L; a 4×4 transpose inside each 128-bit lane puts row 4L + j at word j of lane L.
        long s4 = 4 * s;
        var z0 = Rows4(p, s4);
        var z1 = Rows4(p + s, s4);
        var z2 = Rows4(p + 2 * s, s4);
        var z3 = Rows4(p + 3 * s, s4);
        var t0 = Avx512F.UnpackLow(z0, z1).AsInt64();
        var t1 = Avx512F.UnpackHigh(z0, z1).AsInt64();
        var t2 = Avx512F.UnpackLow(z2, z3).AsInt64();
        var t3 = Avx512F.UnpackHigh(z2, z3).AsInt64();
        d0 = Avx512F.UnpackLow(t0, t2).AsByte();
        d1 = Avx512F.UnpackHigh(t0, t2).AsByte();
        d2 = Avx512F.UnpackLow(t1, t3).AsByte();
        d3 = Avx512F.UnpackHigh(t1, t3).AsByte();
    }

    /// <summary><see cref="Transpose16"/> for 8 rows (256-bit lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose8(byte* p, long s, out Vector256<byte> d0, out Vector256<byte> d1, out Vector256<byte> d2, out Vector256<byte> d3)
    {
        long s4 = 4 * s;
        var z0 = Rows2(p, s4);
        var z1 = Rows2(p + s, s4);
        var z2 = Rows2(p + 2 * s, s4);
        var z3 = Rows2(p + 3 * s, s4);
        var t0 = Avx2.UnpackLow(z0, z1).AsInt64();
        var t1 = Avx2.UnpackHigh(z0, z1).AsInt64();
        var t2 = Avx2.UnpackLow(z2, z3).AsInt64();
        var t3 = Avx2.UnpackHigh(z2, z3).AsInt64();
        d0 = Avx2.UnpackLow(t0, t2).AsByte();
        d1 = Avx2.UnpackHigh(t0, t2).AsByte();
        d2 = Avx2.UnpackLow(t1, t3).AsByte();
        d3 = Avx2.UnpackHigh(t1, t3).AsByte();
    }

    /// <summary>vpshufb control that puts byte <paramref name="first"/> and byte <paramref name="second"/> of every 32-bit
    /// lane into its two int16 halves, zero-extended (<paramref name="signed"/>: into the high bytes, for an arithmetic
    /// shift right by 8 to sign-extend).</summary>
    public static Vector128<byte> PairControl(int first, int second, bool signed)
    {
        uint Word(int p) => signed
            ? 0x80u | (uint)(4 * p + first) << 8 | 0x80u << 16 | (uint)(4 * p + second) << 24
            : (uint)(4 * p + first) | 0x80u << 8 | (uint)(4 * p + second) << 16 | 0x80u << 24;
        return Vector128.Create(Word(0), Word(1), Word(2), Word(3)).AsByte();
    }

    /// <summary>int16 lanes (2i, 2i + 1) = bytes (first, second) of 32-bit lane i, zero-extended.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<short> BytePairs(Vector512<byte> d, int first, int second) =>
        Avx512BW.Shuffle(d, Vector512.Create(PairControl(first, second, false))).AsInt16();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> BytePairs(Vector256<byte> d, int first, int second) =>
        Avx2.Shuffle(d, Vector256.Create(PairControl(first, second, false))).AsInt16();

    /// <summary>int16 lanes (2i, 2i + 1) = bytes (first, second) of 32-bit lane i, sign-extended.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<short> SignedBytePairs(Vector512<byte> d, int first, int second) =>
        Avx512BW.Shuffle(d, Vector512.Create(PairControl(first, second, true))).AsInt16() >> 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> SignedBytePairs(Vector256<byte> d, int first, int second) =>
        Avx2.Shuffle(d, Vector256.Create(PairControl(first, second, true))).AsInt16() >> 8;

    /// <summary>Byte offsets 0, s, 2s, … of a group's rows, for the scale gathers.</summary>
    public static Vector512<int> RowOffsets16(long s) => Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) * (int)s;

    public static Vector256<int> RowOffsets8(long s) => Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * (int)s;

    /// <summary>The 32-bit word at <paramref name="p"/> + offset of each row (two 8-lane gathers: .NET has no 16-lane one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Gather32(byte* p, Vector512<int> offsets) =>
        Avx512F.InsertVector256(Avx2.GatherVector256((int*)p, offsets.GetLower(), 1).ToVector512Unsafe(),
            Avx2.GatherVector256((int*)p, offsets.GetUpper(), 1), 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Gather32(byte* p, Vector256<int> offsets) => Avx2.GatherVector256((int*)p, offsets, 1);

    /// <summary>The fp16 at <paramref name="p"/> + offset of each row, as floats (a gather, then the exact conversion).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> GatherFp16(byte* p, Vector512<int> offsets) => Fp16.Widen((Gather32(p, offsets) << 16) >> 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> GatherFp16(byte* p, Vector256<int> offsets) => Fp16.Widen((Gather32(p, offsets) << 16) >> 16);

    /// <summary>The fp16 at <paramref name="p"/> + 2 + offset of each row: gathers the 32-bit words at p, so a scale
    /// that ends its block is read without touching the bytes after it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> GatherFp16High(byte* p, Vector512<int> offsets) => Fp16.Widen(Gather32(p, offsets) >> 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> GatherFp16High(byte* p, Vector256<int> offsets) => Fp16.Widen(Gather32(p, offsets) >> 16);

    /// <summary>Writes or adds one token's 16 row results.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> acc, float* y, bool accumulate)
    {
        if (accumulate) acc += Vector512.Load(y);
        acc.Store(y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> acc, float* y, bool accumulate)
    {
        if (accumulate) acc += Vector256.Load(y);
        acc.Store(y);
    }
}

/// <summary>Block geometry of an activation format, for argument checks.</summary>
internal readonly record struct ActivationLayoutInfo(int BlockElements, int BlockBytes);
