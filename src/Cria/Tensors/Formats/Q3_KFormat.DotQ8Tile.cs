using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q3_KFormat
{
    /// <summary><see cref="DotQ8"/> of <paramref name="rows"/> weight rows with <paramref name="tokens"/> activation rows:
    /// <c>y[t·yStride + r] = DotQ8(w + r·wRowBytes, a + t·aRowBytes, n)</c> up to float rounding. Groups of 16 rows (8 with
    /// AVX2) are decoded once per 64 tokens into an L1 panel, multiplied by register tiles of 8 tokens (2)
    /// (<see cref="KQuant16Tile512{TL}"/>).</summary>
    public static void DotQ8Tile(byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n, float* y, long yStride)
    {
        Int8Tile.Validate(GgmlType.Q3_K, 256, 110, new(256, 292), w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride);
        Fp16.EnsureTable();
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) Int8TileDriver<KQuant16Tile512<Q3_KLayout>>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
        else if (bits >= 256 && SimdTier.Has256) Int8TileDriver<KQuant16Tile256<Q3_KLayout>>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
        else Int8Tile.RowDots(w, wRowBytes, 0, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
    }
}

/// <summary>Q3_K (hmask[32], qs[64], 12 packed 6-bit scales, d): element 128h + 32j + l is bits 2j of qs[32h + l] plus
/// 4 where bit 4h + j of hmask[l] is set, in sub-block 8h + 2j + l / 16; weight d·(scale − 32)·(u − 4), u in 0…7.</summary>
internal unsafe struct Q3_KLayout : IKQuant16Layout
{
    public static int BlockBytes => 110;
    public static bool SplitSums => false;
    public static bool HasMin => false;
    public static int OffsetShift => 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PackBlock512(byte* w, long s, Vector512<int> offsets, byte* packed)
    {
        Int8Tile.Transpose16(w, s, out var m0, out var m1, out var m2, out var m3);
        Int8Tile.Transpose16(w + 16, s, out var m4, out var m5, out var m6, out var m7);
        for (int h = 0; h < 2; h++)
        {
            Int8Tile.Transpose16(w + 32 + 32 * h, s, out var d0, out var d1, out var d2, out var d3);
            Int8Tile.Transpose16(w + 48 + 32 * h, s, out var d4, out var d5, out var d6, out var d7);
            for (int j = 0; j < 4; j++)
            {
                byte* p = packed + 64 * 4 * (8 * h + 2 * j);
                int shift = 2 * j, bit = 4 * h + j;
                (Int8Dot.TwoBits(d0, shift) | Int8Dot.MoveBit(m0, bit, 2)).Store(p);
                (Int8Dot.TwoBits(d1, shift) | Int8Dot.MoveBit(m1, bit, 2)).Store(p + 64);
                (Int8Dot.TwoBits(d2, shift) | Int8Dot.MoveBit(m2, bit, 2)).Store(p + 128);
                (Int8Dot.TwoBits(d3, shift) | Int8Dot.MoveBit(m3, bit, 2)).Store(p + 192);
                (Int8Dot.TwoBits(d4, shift) | Int8Dot.MoveBit(m4, bit, 2)).Store(p + 256);
                (Int8Dot.TwoBits(d5, shift) | Int8Dot.MoveBit(m5, bit, 2)).Store(p + 320);
                (Int8Dot.TwoBits(d6, shift) | Int8Dot.MoveBit(m6, bit, 2)).Store(p + 384);
                (Int8Dot.TwoBits(d7, shift) | Int8Dot.MoveBit(m7, bit, 2)).Store(p + 448);
            }
        }
        // The scale words gathered (a 16-byte load at 96 would run past the 110-byte block), unpacked as Q3Scales does.
        var a0 = Int8Tile.Gather32(w + 96, offsets).AsUInt32();
        var a1 = Int8Tile.Gather32(w + 100, offsets).AsUInt32();
        var tmp = Int8Tile.Gather32(w + 104, offsets).AsUInt32();
        var low4 = Vector512.Create(0x0F0F0F0Fu);
        var low2 = Vector512.Create(0x03030303u);
        KQuant16.StoreScales(((a0 & low4) | ((tmp & low2) << 4)).AsByte(), 32, packed + KQuant16.Scales512, packed + KQuant16.Pairs512, 0);
        KQuant16.StoreScales(((a1 & low4) | (((tmp >>> 2) & low2) << 4)).AsByte(), 32, packed + KQuant16.Scales512, packed + KQuant16.Pairs512, 1);
        KQuant16.StoreScales((((a0 >>> 4) & low4) | (((tmp >>> 4) & low2) << 4)).AsByte(), 32, packed + KQuant16.Scales512, packed + KQuant16.Pairs512, 2);
        KQuant16.StoreScales((((a1 >>> 4) & low4) | (((tmp >>> 6) & low2) << 4)).AsByte(), 32, packed + KQuant16.Scales512, packed + KQuant16.Pairs512, 3);
        Int8Tile.GatherFp16High(w + 106, offsets).Store((float*)(packed + KQuant16.D512));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PackBlock256(byte* w, long s, Vector256<int> offsets, byte* packed)
    {
        Int8Tile.Transpose8(w, s, out var m0, out var m1, out var m2, out var m3);
        Int8Tile.Transpose8(w + 16, s, out var m4, out var m5, out var m6, out var m7);
        for (int h = 0; h < 2; h++)
        {
            Int8Tile.Transpose8(w + 32 + 32 * h, s, out var d0, out var d1, out var d2, out var d3);
            Int8Tile.Transpose8(w + 48 + 32 * h, s, out var d4, out var d5, out var d6, out var d7);
            for (int j = 0; j < 4; j++)
            {
                byte* p = packed + 32 * 4 * (8 * h + 2 * j);
                int shift = 2 * j, bit = 4 * h + j;
                (Int8Dot.TwoBits(d0, shift) | Int8Dot.MoveBit(m0, bit, 2)).Store(p);
                (Int8Dot.TwoBits(d1, shift) | Int8Dot.MoveBit(m1, bit, 2)).Store(p + 32);
                (Int8Dot.TwoBits(d2, shift) | Int8Dot.MoveBit(m2, bit, 2)).Store(p + 64);
                (Int8Dot.TwoBits(d3, shift) | Int8Dot.MoveBit(m3, bit, 2)).Store(p + 96);
                (Int8Dot.TwoBits(d4, shift) | Int8Dot.MoveBit(m4, bit, 2)).Store(p + 128);
                (Int8Dot.TwoBits(d5, shift) | Int8Dot.MoveBit(m5, bit, 2)).Store(p + 160);
                (Int8Dot.TwoBits(d6, shift) | Int8Dot.MoveBit(m6, bit, 2)).Store(p + 192);
                (Int8Dot.TwoBits(d7, shift) | Int8Dot.MoveBit(m7, bit, 2)).Store(p + 224);
            }
        }
        var a0 = Int8Tile.Gather32(w + 96, offsets).AsUInt32();
        var a1 = Int8Tile.Gather32(w + 100, offsets).AsUInt32();
        var tmp = Int8Tile.Gather32(w + 104, offsets).AsUInt32();
        var low4 = Vector256.Create(0x0F0F0F0Fu);
        var low2 = Vector256.Create(0x03030303u);
        KQuant16.StoreScales(((a0 & low4) | ((tmp & low2) << 4)).AsByte(), 32, packed + KQuant16.Scales256, packed + KQuant16.Pairs256, 0);
        KQuant16.StoreScales(((a1 & low4) | (((tmp >>> 2) & low2) << 4)).AsByte(), 32, packed + KQuant16.Scales256, packed + KQuant16.Pairs256, 1);
        KQuant16.StoreScales((((a0 >>> 4) & low4) | (((tmp >>> 4) & low2) << 4)).AsByte(), 32, packed + KQuant16.Scales256, packed + KQuant16.Pairs256, 2);
        KQuant16.StoreScales((((a1 >>> 4) & low4) | (((tmp >>> 6) & low2) << 4)).AsByte(), 32, packed + KQuant16.Scales256, packed + KQuant16.Pairs256, 3);
        Int8Tile.GatherFp16High(w + 106, offsets).Store((float*)(packed + KQuant16.D256));
    }
}
