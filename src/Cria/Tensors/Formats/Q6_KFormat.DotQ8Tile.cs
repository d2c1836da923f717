using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q6_KFormat
{
    /// <summary><see cref="DotQ8"/> of <paramref name="rows"/> weight rows with <paramref name="tokens"/> activation rows:
    /// <c>y[t·yStride + r] = DotQ8(w + r·wRowBytes, a + t·aRowBytes, n)</c> up to float rounding. Groups of 16 rows (8 with
    /// AVX2) are decoded once per 64 tokens into an L1 panel, multiplied by register tiles of 8 tokens (2)
    /// (<see cref="KQuant16Tile512{TL}"/>).</summary>
    public static void DotQ8Tile(byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n, float* y, long yStride)
    {
        Int8Tile.Validate(GgmlType.Q6_K, 256, 210, new(256, 292), w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride);
        Fp16.EnsureTable();
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) Int8TileDriver<KQuant16Tile512<Q6_KLayout>>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
        else if (bits >= 256 && SimdTier.Has256) Int8TileDriver<KQuant16Tile256<Q6_KLayout>>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
        else Int8Tile.RowDots(w, wRowBytes, 0, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
    }
}

/// <summary>Q6_K (ql[128], qh[64], int8 scales[16], d): q = (ql nibble) | (qh two bits) &lt;&lt; 4 in 0…63, weight
/// d·scale·(q − 32). Two steps sum in int16 (at most 2·16128); the −32 comes from the bsums (ggml's AVX path does the
/// same).</summary>
internal unsafe struct Q6_KLayout : IKQuant16Layout
{
    public static int BlockBytes => 210;
    public static bool SplitSums => true;
    public static bool HasMin => false;
    public static int OffsetShift => 5;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PackBlock512(byte* w, long s, Vector512<int> offsets, byte* packed)
    {
        var low = Vector512.Create((byte)0x0F);
        var three = Vector512.Create((byte)0x03);
        for (int h = 0; h < 2; h++) // elements 128h + 32r + i: ql[64h + 32(r & 1) + i] nibble r >> 1, qh[32h + i] bits 2r
        {
            for (int half = 0; half < 2; half++) // ql bytes 64h + 32·half + 0…31, i.e. r = half and r = half + 2
            {
                Int8Tile.Transpose16(w + 64 * h + 32 * half, s, out var l0, out var l1, out var l2, out var l3);
                Int8Tile.Transpose16(w + 64 * h + 32 * half + 16, s, out var l4, out var l5, out var l6, out var l7);
                Int8Tile.Transpose16(w + 128 + 32 * h, s, out var h0, out var h1, out var h2, out var h3);
                Int8Tile.Transpose16(w + 128 + 32 * h + 16, s, out var h4, out var h5, out var h6, out var h7);
                for (int r = half; r < 4; r += 2)
                {
                    // Sub-block 8h + 2r holds i = 0…15 (steps from l0…l3), 8h + 2r + 1 holds i = 16…31 (l4…l7).
                    byte* p = packed + 64 * 4 * (8 * h + 2 * r);
                    int nibble = 4 * (r >> 1), high = 2 * r;
                    Six(l0, h0, nibble, high, low, three).Store(p);
                    Six(l1, h1, nibble, high, low, three).Store(p + 64);
                    Six(l2, h2, nibble, high, low, three).Store(p + 128);
                    Six(l3, h3, nibble, high, low, three).Store(p + 192);
                    Six(l4, h4, nibble, high, low, three).Store(p + 256);
                    Six(l5, h5, nibble, high, low, three).Store(p + 320);
                    Six(l6, h6, nibble, high, low, three).Store(p + 384);
                    Six(l7, h7, nibble, high, low, three).Store(p + 448);
                }
            }
        }
        Int8Tile.Transpose16(w + 192, s, out var s0, out var s1, out var s2, out var s3);
        KQuant16.StoreSignedScales(s0, packed, 0); KQuant16.StoreSignedScales(s1, packed, 1);
        KQuant16.StoreSignedScales(s2, packed, 2); KQuant16.StoreSignedScales(s3, packed, 3);
        Int8Tile.GatherFp16High(w + 206, offsets).Store((float*)(packed + KQuant16.D512));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PackBlock256(byte* w, long s, Vector256<int> offsets, byte* packed)
    {
        var low = Vector256.Create((byte)0x0F);
        var three = Vector256.Create((byte)0x03);
        for (int h = 0; h < 2; h++)
        {
            for (int half = 0; half < 2; half++)
            {
                Int8Tile.Transpose8(w + 64 * h + 32 * half, s, out var l0, out var l1, out var l2, out var l3);
                Int8Tile.Transpose8(w + 64 * h + 32 * half + 16, s, out var l4, out var l5, out var l6, out var l7);
                Int8Tile.Transpose8(w + 128 + 32 * h, s, out var h0, out var h1, out var h2, out var h3);
                Int8Tile.Transpose8(w + 128 + 32 * h + 16, s, out var h4, out var h5, out var h6, out var h7);
                for (int r = half; r < 4; r += 2)
                {
                    byte* p = packed + 32 * 4 * (8 * h + 2 * r);
                    int nibble = 4 * (r >> 1), high = 2 * r;
                    Six(l0, h0, nibble, high, low, three).Store(p);
                    Six(l1, h1, nibble, high, low, three).Store(p + 32);
                    Six(l2, h2, nibble, high, low, three).Store(p + 64);
                    Six(l3, h3, nibble, high, low, three).Store(p + 96);
                    Six(l4, h4, nibble, high, low, three).Store(p + 128);
                    Six(l5, h5, nibble, high, low, three).Store(p + 160);
                    Six(l6, h6, nibble, high, low, three).Store(p + 192);
                    Six(l7, h7, nibble, high, low, three).Store(p + 224);
                }
            }
        }
        Int8Tile.Transpose8(w + 192, s, out var s0, out var s1, out var s2, out var s3);
        KQuant16.StoreSignedScales(s0, packed, 0); KQuant16.StoreSignedScales(s1, packed, 1);
        KQuant16.StoreSignedScales(s2, packed, 2); KQuant16.StoreSignedScales(s3, packed, 3);
        Int8Tile.GatherFp16High(w + 206, offsets).Store((float*)(packed + KQuant16.D256));
    }

    /// <summary>q = (ql nibble) | (qh two bits) &lt;&lt; 4, byte-wise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Six(Vector512<byte> ql, Vector512<byte> qh, int nibble, int high, Vector512<byte> low, Vector512<byte> three) =>
        ((ql.AsUInt16() >>> nibble).AsByte() & low) | (((qh.AsUInt16() >>> high).AsByte() & three).AsUInt16() << 4).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Six(Vector256<byte> ql, Vector256<byte> qh, int nibble, int high, Vector256<byte> low, Vector256<byte> three) =>
        ((ql.AsUInt16() >>> nibble).AsByte() & low) | (((qh.AsUInt16() >>> high).AsByte() & three).AsUInt16() << 4).AsByte();
}
