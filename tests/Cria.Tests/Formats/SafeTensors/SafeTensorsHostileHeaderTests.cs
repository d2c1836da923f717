using Cria.Formats.SafeTensors;
using Cria.Tests.Formats.Gguf.Support;
using static Cria.Tests.Formats.SafeTensors.SafeTensorsBytes;

namespace Cria.Tests.Formats.SafeTensors;

/// <summary>Malformed and hostile safetensors files, each built byte by byte: every one must fail with a
/// <see cref="ModelFormatException"/> naming the file and the problem, in well under a second, without allocating more
/// than a few MB (a header that claims 2^64 of something costs nothing).</summary>
public class SafeTensorsHostileHeaderTests
{
    private static readonly string A16 = Tensor("a", "F32", "4", 0, 16);

    private static readonly Dictionary<string, (Func<byte[]> Build, string[] Says)> Cases = new()
    {
        ["empty file"] = (() => [], ["0 bytes is too short"]),
        ["7 bytes"] = (() => new byte[7], ["too short"]),
        ["header length 2^64-1"] = (() => File("{}", 0, ulong.MaxValue), ["header length 18446744073709551615", "limit"]),
        ["header length 2^63"] = (() => File("{}", 0, 1UL << 63), ["exceeds the format's limit"]),
        ["header length 100 MB + 1"] = (() => File("{}", 0, 100_000_001), ["header length 100000001 exceeds"]),
        ["header length past the end"] = (() => File("{}", 0, 1000), ["header length 1000 is beyond the end", "truncated"]),
        ["header length 0"] = (() => File("", 16), ["does not start with '{'"]),
        ["header not UTF-8"] = (() => File([(byte)'{', 0xFF, (byte)'}'], 0), ["not valid UTF-8"]),
        ["header overlong UTF-8"] = (() => File([(byte)'{', 0xC0, 0x80, (byte)'}'], 0), ["not valid UTF-8"]),
        ["header starts with a space"] = (() => File(" {}", 0), ["does not start with '{'"]),
        ["header is an array"] = (() => File("[]", 0), ["does not start with '{'"]),
        ["JSON cut short"] = (() => File("{\"a\":", 0), ["not valid JSON"]),
        ["JSON with a comment"] = (() => File("{/* x */}", 0), ["not valid JSON"]),
        ["JSON trailing comma"] = (() => File($"{{{A16},}}", 16), ["not valid JSON"]),
        ["content after the object"] = (() => File("{} {}", 0), ["not valid JSON"]),
        ["tensor is a number"] = (() => File("{\"a\":1}", 0), ["tensor 'a' is Number, not an object"]),
        ["unknown dtype"] = (() => File("{\"a\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,16]}}", 16), ["'a'", "unknown dtype 'F128'"]),
        ["lower-case dtype"] = (() => File("{\"a\":{\"dtype\":\"f32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16), ["unknown dtype 'f32'"]),
        ["dtype a number"] = (() => File("{\"a\":{\"dtype\":3,\"shape\":[4],\"data_offsets\":[0,16]}}", 16), ["dtype is Number"]),
        ["no dtype"] = (() => File("{\"a\":{\"shape\":[4],\"data_offsets\":[0,16]}}", 16), ["'a' has no dtype"]),
        ["no shape"] = (() => File("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,16]}}", 16), ["'a' has no shape"]),
        ["no data_offsets"] = (() => File("{\"a\":{\"dtype\":\"F32\",\"shape\":[4]}}", 16), ["'a' has no data_offsets"]),
        ["two dtypes"] = (() => File("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16), ["two dtypes"]),
        ["shape not an array"] = (() => File("{\"a\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}", 16), ["shape is Number, not an array"]),
        ["negative dimension"] = (() => File(Tensor("a", "F32", "-4", 0, 16).Wrap(), 16), ["shape holds '-4'", "non-negative integer"]),
        ["fractional dimension"] = (() => File(Tensor("a", "F32", "1.5", 0, 16).Wrap(), 16), ["shape holds '1.5'"]),
        ["dimension 1e30"] = (() => File(Tensor("a", "F32", "1e30", 0, 16).Wrap(), 16), ["shape holds '1e30'"]),
        ["dimension 2^64"] = (() => File(Tensor("a", "F32", "18446744073709551616", 0, 16).Wrap(), 16), ["shape holds '18446744073709551616'"]),
        ["dimension a string"] = (() => File(Tensor("a", "F32", "\"4\"", 0, 16).Wrap(), 16), ["shape holds '4'"]),
        ["shape overflows 64 bits"] = (() => File(Tensor("a", "F32", "4294967296,4294967296", 0, 16).Wrap(), 16), ["overflows 64 bits"]),
        ["bytes overflow 64 bits"] = (() => File(Tensor("a", "F64", "4611686018427387904", 0, 16).Wrap(), 16), ["overflows 64 bits"]),
        ["huge shape, small range"] = (() => File(Tensor("a", "F32", "1000000,1000000", 0, 16).Wrap(), 16), ["takes 4000000000000 bytes", "hold 16"]),
        ["range smaller than the shape"] = (() => File(Tensor("a", "F32", "4", 0, 8).Wrap(), 8), ["takes 16 bytes but data_offsets [0, 8] hold 8"]),
        ["sub-byte tensor"] = (() => File(Tensor("a", "F4", "3", 0, 2).Wrap(), 2), ["not a whole number of bytes"]),
        ["offsets out of range"] = (() => File(Tensor("a", "F32", "4", 0, 1L << 40).Wrap(), 16), ["lie outside the 16 bytes of data"]),
        ["offsets past a long"] = (() => File(Tensor("a", "F32", "4", 0, -1).Wrap().Replace("-1", "18446744073709551615"), 16), ["data_offsets holds '18446744073709551615'"]),
        ["offsets reversed"] = (() => File(Tensor("a", "F32", "4", 16, 0).Wrap(), 16), ["end before they begin"]),
        ["three offsets"] = (() => File("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16,32]}}", 16), ["3 numbers, not 2"]),
        ["overlapping tensors"] = (() => File($"{{{Tensor("a", "F32", "4", 0, 16)},{Tensor("b", "F32", "4", 8, 24)}}}", 24), ["'a' [0, 16] and 'b' [8, 24] overlap"]),
        ["same range twice"] = (() => File($"{{{Tensor("a", "F32", "4", 0, 16)},{Tensor("b", "F32", "4", 0, 16)}}}", 16), ["overlap"]),
        ["gap between tensors"] = (() => File($"{{{Tensor("a", "F32", "4", 0, 16)},{Tensor("b", "F32", "4", 20, 36)}}}", 36), ["4 bytes before tensor 'b' belong to no tensor"]),
        ["trailing bytes"] = (() => File(A16.Wrap(), 20), ["end at byte 16", "holds 20"]),
        ["data but no tensors"] = (() => File("{}", 8), ["end at byte 0", "holds 8"]),
        ["duplicate tensor name"] = (() => File($"{{{Tensor("a", "F32", "4", 0, 16)},{Tensor("a", "F32", "4", 16, 32)}}}", 32), ["'a' appears twice"]),
        ["duplicate __metadata__"] = (() => File("{\"__metadata__\":{},\"__metadata__\":{}}", 0), ["'__metadata__' appears twice"]),
        ["__metadata__ not an object"] = (() => File("{\"__metadata__\":[]}", 0), ["__metadata__ is not an object of strings"]),
        ["__metadata__ value a number"] = (() => File("{\"__metadata__\":{\"format\":1}}", 0), ["__metadata__ value of 'format' is Number"]),
        ["__metadata__ duplicate key"] = (() => File("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0), ["key 'k' appears twice"]),
        ["deep nesting in an unknown field"] = (() => File("{\"a\":{\"x\":" + new string('[', 10_000) + new string(']', 10_000) + "}}", 0), ["not valid JSON"]),
        ["a 256 kB name twice"] = (() => File($"{{{Tensor(new string('n', 1 << 18), "F32", "4", 0, 16)},{Tensor(new string('n', 1 << 18), "F32", "4", 16, 32)}}}", 32),
            ["appears twice", "…"]),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Hostile_file_is_refused_clearly_quickly_and_cheaply(string name)
    {
        using var dir = new TempDir();
        string path = dir.Write("hostile.safetensors", Cases[name].Build());
        SafeTensorsFile.Open(dir.Write("warm.safetensors", File(A16.Wrap(), 16))).Dispose(); // JIT outside the measured call
        var e = GgufAssert.RejectsCheaply<ModelFormatException>(() => SafeTensorsFile.Open(path).Dispose(), Cases[name].Says);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Message_names_are_clipped_so_a_hostile_name_cannot_flood_the_error()
    {
        using var dir = new TempDir();
        string path = dir.Write("m.safetensors", Cases["a 256 kB name twice"].Build());
        var e = Assert.Throws<ModelFormatException>(() => SafeTensorsFile.Open(path));
        Assert.True(e.Message.Length < 1000, $"message of {e.Message.Length} characters");
    }

    [Fact]
    public void Unknown_fields_are_ignored_as_the_reference_does()
    {
        using var dir = new TempDir();
        string path = dir.Write("x.safetensors", File("{\"a\":{\"note\":{\"k\":[1,2]},\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16));
        using var file = SafeTensorsFile.Open(path);
        Assert.Equal([4L], file.Tensor("a").Shape);
    }
}

internal static class HeaderText
{
    /// <summary>One tensor entry as a whole header object.</summary>
    public static string Wrap(this string entry) => "{" + entry + "}";
}
