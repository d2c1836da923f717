using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cria.Tensors.Formats;

public readonly unsafe partial struct Q2_KFormat
{
    /// <summary><see cref="DotQ8"/> of <paramref name="rows"/> weight rows with <paramref name="tokens"/> activation rows:
    /// <c>y[t·yStride + r] = DotQ8(w + r·wRowBytes, a + t·aRowBytes, n)</c> up to float rounding. Groups of 16 rows (8 with
    /// AVX2) are decoded once per 64 tokens into an L1 panel, multiplied by register tiles of 8 tokens (2)
    /// (<see cref="KQuant16Tile512{TL}"/>).</summary>
    public static void DotQ8Tile(byte* w, long wRowBytes, int rows, byte* a, long aRowBytes, int tokens, int n, float* y, long yStride)
    {
        Int8Tile.Validate(GgmlType.Q2_K, 256, 84, new(256, 292), w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride);
        Fp16.EnsureTable();
        int bits = SimdTier.MaxVectorBits;
        if (bits >= 512 && SimdTier.Has512) Int8TileDriver<KQuant16Tile512<Q2_KLayout>>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
        else if (bits >= 256 && SimdTier.Has256) Int8TileDriver<KQuant16Tile256<Q2_KLayout>>.Run(w, wRowBytes, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
        else Int8Tile.RowDots(w, wRowBytes, 0, rows, a, aRowBytes, tokens, n, y, yStride, &DotQ8);
    }
}

/// <summary>Q2_K (scales[16] as scale | min &lt;&lt; 4, qs[64], d, dmin): element 128h + 32j + l is bits 2j of
/// qs[32h + l], in sub-block 8h + 2j + l / 16; weight d·scale·q − dmin·min.</summary>
internal unsafe struct Q2_KLayout : IKQuant16Layout
{
    public static int BlockBytes => 84;
    public static bool SplitSums => false;
    public static bool HasMin => true;
    public static int OffsetShift => 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PackBlock512(byte* w, long s, Vector512<int> offsets, byte* packed)
    {
        for (int h = 0; h < 2; h++)
        {
            Int8Tile.Transpose16(w + 16 + 32 * h, s, out var d0, out var d1, out var d2, out var d3);
            Int8Tile.Transpose16(w + 32 + 32 * h, s, out var d4, out var d5, out var d6, out var d7);
            for (int j = 0; j < 4; j++)
            {
                byte* p = packed + 64 * 4 * (8 * h + 2 * j);
                Int8Dot.TwoBits(d0, 2 * j).Store(p); Int8Dot.TwoBits(d1, 2 * j).Store(p + 64);
                Int8Dot.TwoBits(d2, 2 * j).Store(p + 128); Int8Dot.TwoBits(d3, 2 * j).Store(p + 192);
                Int8Dot.TwoBits(d4, 2 * j).Store(p + 256); Int8Dot.TwoBits(d5, 2 * j).Store(p + 320);
                Int8Dot.TwoBits(d6, 2 * j).Store(p + 384); Int8Dot.TwoBits(d7, 2 * j).Store(p + 448);
            }
        }
        Int8Tile.Transpose16(w, s, out var s0, out var s1, out var s2, out var s3);
        StoreScalesMins(s0, packed, 0); StoreScalesMins(s1, packed, 1); StoreScalesMins(s2, packed, 2); StoreScalesMins(s3, packed, 3);
        Int8Tile.GatherFp16(w + 80, offsets).Store((float*)(packed + KQuant16.D512));
        Int8Tile.GatherFp16High(w + 80, offsets).Store((float*)(packed + KQuant16.DMin512));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PackBlock256(byte* w, long s, Vector256<int> offsets, byte* packed)
    {
        for (int h = 0; h < 2; h++)
        {
            Int8Tile.Transpose8(w + 16 + 32 * h, s, out var d0, out var d1, out var d2, out var d3);
            Int8Tile.Transpose8(w + 32 + 32 * h, s, out var d4, out var d5, out var d6, out var d7);
            for (int j = 0; j < 4; j++)
            {
                byte* p = packed + 32 * 4 * (8 * h + 2 * j);
                Int8Dot.TwoBits(d0, 2 * j).Store(p); Int8Dot.TwoBits(d1, 2 * j).Store(p + 32);
                Int8Dot.TwoBits(d2, 2 * j).Store(p + 64); Int8Dot.TwoBits(d3, 2 * j).Store(p + 96);
                Int8Dot.TwoBits(d4, 2 * j).Store(p + 128); Int8Dot.TwoBits(d5, 2 * j).Store(p + 160);
                Int8Dot.TwoBits(d6, 2 * j).Store(p + 192); Int8Dot.TwoBits(d7, 2 * j).Store(p + 224);
            }
        }
        Int8Tile.Transpose8(w, s, out var s0, out var s1, out var s2, out var s3);
        StoreScalesMins(s0, packed, 0); StoreScalesMins(s1, packed, 1); StoreScalesMins(s2, packed, 2); StoreScalesMins(s3, packed, 3);
        Int8Tile.GatherFp16(w + 80, offsets).Store((float*)(packed + KQuant16.D256));
        Int8Tile.GatherFp16High(w + 80, offsets).Store((float*)(packed + KQuant16.DMin256));
    }

    /// <summary>Bytes 4m…4m+3: low nibbles are the scales, high nibbles the minimums (stored as the pairs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreScalesMins(Vector512<byte> words, byte* packed, int m)
    {
        var low = Vector512.Create((byte)0x0F);
        KQuant16.StoreScales(words & low, 0, packed + KQuant16.Scales512, packed + KQuant16.Pairs512, m);
        KQuant16.StoreScales((words.AsUInt16() >>> 4).AsByte() & low, 0, null, packed + KQuant16.Pairs512, m);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreScalesMins(Vector256<byte> words, byte* packed, int m)
    {
        var low = Vector256.Create((byte)0x0F);
        KQuant16.StoreScales(words & low, 0, packed + KQuant16.Scales256, packed + KQuant16.Pairs256, m);
        KQuant16.StoreScales((words.AsUInt16() >>> 4).AsByte() & low, 0, null, packed + KQuant16.Pairs256, m);
    }
}
