using Cria.Formats.Gguf;
using Cria.Tensors;
using Cria.Tests.Formats.Gguf.Support;
using static Cria.Tests.Formats.Gguf.Support.GgufBytes;

namespace Cria.Tests.Formats.Gguf;

/// <summary>GgufFile reads the header through a buffer, not the map: 1 MiB first, then more each time the parser
/// goes past what was read (a Llama 3 vocabulary makes ~8 MB). A header of 6 MB must come out whole, and
/// one cut or broken past the first read must fail as any other would, naming the key.</summary>
public class GgufLargeHeaderTests
{
    private const int Items = 400_000; // "token 0" … "token 399999": ~6 MB with their lengths

    private static string Item(int i) => i == Items - 1 ? "🦙 last" : $"token {i}";

    private static GgufBytes Large(Func<int, GgufBytes, GgufBytes>? item = null)
    {
        var b = Header(1, 2).KvString("general.architecture", "llama").Key("tokens", GgufValueType.Array).U32((uint)GgufValueType.String).U64(Items);
        for (int i = 0; i < Items; i++) b = item?.Invoke(i, b) ?? b.Str(Item(i));
        return b;
    }

    private static byte[] WithTensor(GgufBytes b) =>
        b.Tensor("t", [4], GgmlType.F32, 0).Pad().Raw(BitConverter.GetBytes(1.5f)).Raw(BitConverter.GetBytes(-2f)).Zeros(8).ToArray();

    [Fact]
    public void A_header_longer_than_the_first_read_is_read_whole()
    {
        byte[] bytes = WithTensor(Large());
        Assert.True(bytes.Length > 5 << 20, "the header should take several reads");
        using var dir = new TempDir();
        using var f = GgufFile.Open(dir.Write("large.gguf", bytes));
        Assert.Equal("llama", f.Metadata.GetString("general.architecture"));
        var tokens = f.Metadata.GetArray<string>("tokens")!;
        Assert.Equal(Enumerable.Range(0, Items).Select(Item), tokens);
        var t = f.Tensors.Single();
        Assert.Equal(bytes.Length - 16, f.DataOffset + t.Offset);
        Assert.Equal([1.5f, -2f, 0f, 0f], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(f.TensorBytes(t)).ToArray());
    }

    [Fact]
    public void A_header_cut_past_the_first_read_says_where()
    {
        byte[] bytes = Large().ToArray();
        using var dir = new TempDir();
        string path = dir.Write("cut.gguf", bytes[..^3]);
        var e = Assert.Throws<ModelFormatException>(() => GgufFile.Open(path).Dispose());
        Assert.Contains("remaining bytes", e.Message); // the last item's length says more than the file has
        Assert.Contains("'tokens'", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void An_item_that_is_not_utf8_past_the_first_read_is_named()
    {
        byte[] bytes = WithTensor(Large((i, b) => i == Items - 2 ? b.StrBytes([0x41, 0xFF]) : b.Str(Item(i))));
        using var dir = new TempDir();
        var e = Assert.Throws<ModelFormatException>(() => GgufFile.Open(dir.Write("bad.gguf", bytes)).Dispose());
        Assert.Contains("'tokens'", e.Message);
        Assert.Contains("not valid UTF-8", e.Message);
    }
}
