using Cria.Formats.Gguf;
using Cria.Tensors;
using Cria.Tests.Formats.Gguf.Support;
using static Cria.Tests.Formats.Gguf.Support.GgufBytes;

namespace Cria.Tests.Formats.Gguf;

/// <summary>Malformed and hostile GGUF files, each built byte by byte: every one must fail with a
/// <see cref="ModelFormatException"/> that names the problem and the file, in well under a second, without
/// allocating more than a few MB (so a header that claims 2^63 of something costs nothing).</summary>
public class GgufHostileFileTests
{
    private const ulong TwoTo40 = 1UL << 40, TwoTo62 = 1UL << 62, TwoTo63 = 1UL << 63;

    private static GgufBytes OneKv(string key, GgufValueType type) => Header(0, 1).Key(key, type);
    private static GgufBytes OneTensor(ulong[] dims, uint type, ulong offset = 0) => Header(1, 0).Tensor("t", dims, type, offset);

    /// <summary>A well-formed file the cases below are variations of.</summary>
    private static byte[] Valid() =>
        Header(1, 1).KvString("general.architecture", "llama").Tensor("t", [4], GgmlType.F32, 0).Pad().Zeros(16).ToArray();

    private static readonly Dictionary<string, (Func<byte[]> Build, string[] Says)> Cases = new()
    {
        ["empty file"] = (() => [], ["empty"]),
        ["three bytes"] = (() => "GGU"u8.ToArray(), ["not a GGUF file"]),
        ["wrong magic"] = (() => new GgufBytes().Raw("GGML"u8).U32(3).U64(0).U64(0).ToArray(), ["not a GGUF file"]),
        ["magic only"] = (() => "GGUF"u8.ToArray(), ["truncated", "version"]),
        ["version 0"] = (() => Header(0, 0, version: 0).ToArray(), ["unsupported GGUF version 0"]),
        ["version 1"] = (() => Header(0, 0, version: 1).ToArray(), ["version 1", "obsolete"]),
        ["version 4"] = (() => Header(0, 0, version: 4).ToArray(), ["unsupported GGUF version 4"]),
        ["big-endian version 3"] = (() => new GgufBytes().Raw("GGUF"u8).Raw([0, 0, 0, 3]).Zeros(16).ToArray(), ["big-endian"]),
        ["big-endian version 2"] = (() => new GgufBytes().Raw("GGUF"u8).Raw([0, 0, 0, 2]).Zeros(16).ToArray(), ["big-endian"]),
        ["header cut in tensor count"] = (() => new GgufBytes().Raw("GGUF"u8).U32(3).U32(0).ToArray(), ["truncated", "tensor count"]),

        ["tensor count 2^63"] = (() => Header(TwoTo63, 0).ToArray(), ["tensor count is 9223372036854775808"]),
        ["tensor count 2^64-1"] = (() => Header(ulong.MaxValue, 0).ToArray(), ["tensor count is 18446744073709551615"]),
        ["tensor count 2^40"] = (() => Header(TwoTo40, 0).ToArray(), ["tensor count is 1099511627776"]),
        ["kv count 2^63"] = (() => Header(0, TwoTo63).ToArray(), ["metadata count is 9223372036854775808"]),
        ["kv count 2^40"] = (() => Header(0, TwoTo40).ToArray(), ["metadata count is 1099511627776"]),
        ["kv count above entries"] = (() => Header(0, 2).KvString("a", new string('x', 40)).ToArray(), ["truncated", "metadata key #1"]),
        ["kv count above remaining bytes"] = (() => Header(0, 2).KvU32("a", 1).ToArray(), ["metadata count is 2", "17 remaining bytes"]),
        ["tensor count above entries"] = (() => Header(2, 0).Tensor(new string('t', 40), [4], GgmlType.F32, 0).ToArray(), ["truncated", "name of tensor #1"]),

        ["key length 2^62"] = (() => Header(0, 1).U64(TwoTo62).Zeros(64).ToArray(), ["metadata key #0 length is 4611686018427387904"]),
        ["key length 2^64-1"] = (() => Header(0, 1).U64(ulong.MaxValue).Zeros(64).ToArray(), ["metadata key #0 length is 18446744073709551615"]),
        ["string length 2^62"] = (() => OneKv("k", GgufValueType.String).U64(TwoTo62).Zeros(8).ToArray(), ["'k'", "length is 4611686018427387904"]),
        ["string longer than file"] = (() => OneKv("k", GgufValueType.String).U64(1000).Zeros(10).ToArray(), ["length is 1000", "remaining bytes"]),
        ["tensor name length 2^62"] = (() => Header(1, 0).U64(TwoTo62).Zeros(64).ToArray(), ["name of tensor #0 length is 4611686018427387904"]),

        ["key not UTF-8"] = (() => Header(0, 1).StrBytes([0x66, 0xFF, 0x67]).U32(4).U32(1).ToArray(), ["metadata key #0", "not valid UTF-8"]),
        ["string overlong UTF-8"] = (() => OneKv("k", GgufValueType.String).StrBytes([0xC0, 0x80]).ToArray(), ["'k'", "not valid UTF-8"]),
        ["string encoded surrogate"] = (() => OneKv("k", GgufValueType.String).StrBytes([0xED, 0xA0, 0x80]).ToArray(), ["not valid UTF-8"]),
        ["string cut mid-character"] = (() => OneKv("k", GgufValueType.String).StrBytes([0x41, 0xE4, 0xB8]).ToArray(), ["not valid UTF-8"]),
        ["string array item not UTF-8"] = (() => OneKv("k", GgufValueType.Array).U32(8).U64(2).Str("ok").StrBytes([0xFF]).ToArray(), ["'k'", "not valid UTF-8"]),
        ["tensor name not UTF-8"] = (() => Header(1, 0).StrBytes([0xFE]).U32(1).U64(4).U32(0).U64(0).Pad().Zeros(16).ToArray(), ["name of tensor #0", "not valid UTF-8"]),

        ["unknown value type 13"] = (() => OneKv("k", (GgufValueType)13).U32(0).ToArray(), ["'k'", "unknown value type 13"]),
        ["unknown value type 2^32-1"] = (() => OneKv("k", (GgufValueType)uint.MaxValue).U32(0).ToArray(), ["unknown value type 4294967295"]),
        ["unknown array element type"] = (() => OneKv("k", GgufValueType.Array).U32(99).U64(0).ToArray(), ["'k'", "array of unknown type 99"]),
        ["bool byte 2"] = (() => OneKv("k", GgufValueType.Bool).U8(2).ToArray(), ["'k'", "boolean byte is 2"]),
        ["bool byte 255 in array"] = (() => OneKv("k", GgufValueType.Array).U32(7).U64(2).U8(1).U8(255).ToArray(), ["boolean byte is 255"]),
        ["array length 2^62"] = (() => OneKv("k", GgufValueType.Array).U32(4).U64(TwoTo62).Zeros(64).ToArray(), ["length of array 'k' is 4611686018427387904"]),
        ["array length 2^64-1"] = (() => OneKv("k", GgufValueType.Array).U32(0).U64(ulong.MaxValue).ToArray(), ["length of array 'k' is 18446744073709551615"]),
        ["string array length 2^40"] = (() => OneKv("k", GgufValueType.Array).U32(8).U64(TwoTo40).Zeros(64).ToArray(), ["length of array 'k' is 1099511627776"]),
        ["nested array length 2^40"] = (() => OneKv("k", GgufValueType.Array).U32(9).U64(TwoTo40).Zeros(64).ToArray(), ["length of array 'k' is 1099511627776"]),
        ["inner array length 2^62"] = (() => OneKv("k", GgufValueType.Array).U32(9).U64(1).U32(8).U64(TwoTo62).ToArray(), ["length of array 'k' is 4611686018427387904"]),
        ["arrays nested 9 deep"] = (() => OneKv("k", GgufValueType.Array).Repeat(8, b => b.U32(9).U64(1)).U32(4).U64(0).ToArray(), ["nests arrays more than 8 deep"]),
        ["arrays nested 100000 deep"] = (() => OneKv("k", GgufValueType.Array).Repeat(100_000, b => b.U32(9).U64(1)).ToArray(), ["nests arrays more than 8 deep"]),

        ["alignment 0"] = (() => Header(0, 1).KvU32("general.alignment", 0).ToArray(), ["general.alignment", "got 0"]),
        ["alignment 3"] = (() => Header(0, 1).KvU32("general.alignment", 3).ToArray(), ["general.alignment", "got 3"]),
        ["alignment 2^31"] = (() => Header(0, 1).KvU32("general.alignment", 1u << 31).ToArray(), ["general.alignment", "got 2147483648"]),
        ["alignment as uint64"] = (() => OneKv("general.alignment", GgufValueType.UInt64).U64(32).ToArray(), ["general.alignment", "UInt64"]),
        ["alignment as int32"] = (() => OneKv("general.alignment", GgufValueType.Int32).U32(32).ToArray(), ["general.alignment", "Int32"]),
        ["alignment as string"] = (() => Header(0, 1).KvString("general.alignment", "32").ToArray(), ["general.alignment", "String"]),

        ["duplicate key"] = (() => Header(0, 2).KvU32("a", 1).KvU32("a", 2).ToArray(), ["duplicate metadata key 'a'"]),
        ["duplicate tensor name"] = (() => Header(2, 0).Tensor("t", [4], GgmlType.F32, 0).Tensor("t", [4], GgmlType.F32, 32).Pad().Zeros(64).ToArray(), ["duplicate tensor name 't'"]),

        ["0 dimensions"] = (() => Header(1, 0).Str("t").U32(0).U32(0).U64(0).Pad().ToArray(), ["'t'", "0 dimensions"]),
        ["5 dimensions"] = (() => OneTensor([1, 1, 1, 1, 1], 0).Pad().Zeros(4).ToArray(), ["'t'", "5 dimensions"]),
        ["2^32-1 dimensions"] = (() => Header(1, 0).Str("t").U32(uint.MaxValue).Zeros(64).ToArray(), ["4294967295 dimensions"]),
        ["dimension 2^63"] = (() => OneTensor([TwoTo63], 0).ToArray(), ["'t'", "9223372036854775808", "absurd"]),
        ["dimension 2^64-1"] = (() => OneTensor([4, ulong.MaxValue], 0).ToArray(), ["dimension 1 is 18446744073709551615"]),
        ["element count overflow"] = (() => OneTensor([1UL << 36, 1UL << 36], 0).ToArray(), ["'t'", "element count overflows"]),
        ["element count overflow, 4 dims"] = (() => OneTensor([1 << 20, 1 << 20, 1 << 20, 1 << 20], 0).ToArray(), ["element count overflows"]),
        ["byte size overflow"] = (() => OneTensor([1UL << 36, 1UL << 26], (uint)GgmlType.F64).Pad().Zeros(32).ToArray(), ["'t'", "byte size overflows"]),
        ["unknown tensor type 4"] = (() => OneTensor([4], 4).Pad().Zeros(16).ToArray(), ["'t'", "unknown type id 4"]),
        ["unknown tensor type 2^32-1"] = (() => OneTensor([4], uint.MaxValue).Pad().Zeros(16).ToArray(), ["unknown type id 4294967295"]),
        ["row not whole blocks"] = (() => OneTensor([33], (uint)GgmlType.Q4_0).Pad().Zeros(64).ToArray(), ["'t'", "not a whole number of Q4_0 blocks"]),

        ["offset past the end"] = (() => OneTensor([4], 0, 1 << 20).Pad().Zeros(16).ToArray(), ["'t'", "runs past the end"]),
        ["offset 2^63"] = (() => OneTensor([4], 0, TwoTo63).Pad().Zeros(16).ToArray(), ["'t'", "past the end"]),
        ["offset 2^64-32"] = (() => OneTensor([4], 0, ulong.MaxValue - 31).Pad().Zeros(16).ToArray(), ["'t'", "past the end"]),
        ["offset + size past the end"] = (() => OneTensor([8], 0, 32).Pad().Zeros(48).ToArray(), ["'t'", "runs past the end"]),
        ["size past the end"] = (() => OneTensor([1024], 0).Pad().Zeros(16).ToArray(), ["'t'", "runs past the end", "truncated"]),
        ["data section missing"] = (() => OneTensor([4], 0).ToArray(), ["'t'", "runs past the end"]),
        ["misaligned offset"] = (() => Header(2, 0).Tensor("a", [4], GgmlType.F32, 0).Tensor("b", [4], GgmlType.F32, 16).Pad().Zeros(32).ToArray(), ["'b'", "offset 16", "alignment 32"]),
        ["misaligned for alignment 64"] = (() => Header(1, 1).KvU32("general.alignment", 64).Tensor("t", [4], GgmlType.F32, 32).Pad(64).Zeros(64).ToArray(), ["'t'", "offset 32", "alignment 64"]),
        ["overlapping tensors"] = (() => Header(2, 0).Tensor("a", [16], GgmlType.F32, 0).Tensor("b", [16], GgmlType.F32, 32).Pad().Zeros(96).ToArray(), ["'a'", "'b'", "overlap"]),
        ["tensors at the same offset"] = (() => Header(2, 0).Tensor("a", [8], GgmlType.F32, 0).Tensor("b", [8], GgmlType.F32, 0).Pad().Zeros(32).ToArray(), ["overlap"]),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Fact]
    public void TheBaseFileIsValid()
    {
        using var dir = new TempDir();
        using var f = GgufFile.Open(dir.Write("valid.gguf", Valid()));
        Assert.Equal("llama", f.Metadata.GetString("general.architecture"));
        Assert.Equal([4L], f.Tensors.Single().Dimensions);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void IsRejected(string name)
    {
        var (build, says) = Cases[name];
        using var dir = new TempDir();
        string path = dir.Write("hostile.gguf", build());
        var e = GgufAssert.RejectsCheaply<ModelFormatException>(() => GgufFile.Open(path).Dispose(), says);
        Assert.Contains(path, e.Message); // the message names the file
    }

    [Fact]
    public void MissingFileIsACriaException()
    {
        using var dir = new TempDir();
        GgufAssert.RejectsCheaply<CriaException>(() => GgufFile.Open(dir.File("nope.gguf")), "not found", "nope.gguf");
    }

    [Fact]
    public void DirectoryIsACriaException()
    {
        using var dir = new TempDir();
        GgufAssert.RejectsCheaply<CriaException>(() => GgufFile.Open(dir.Path), "is a directory");
        Assert.False(GgufFile.HasMagic(dir.Path));
    }
}
