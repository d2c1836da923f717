using System.Text.Json;
using Cria.Tokenization;

namespace Cria.Tests.Tokenization;

/// <summary>The built-in tests of npm llama-tokenizer-js 1.2.2: encode with BOS, and decode under its
/// <c>add_bos_token</c> / <c>add_preceding_space</c> flags.</summary>
public class LlamaTokenizerJsCasesTests
{
    private static readonly Lazy<JsonElement> File = new(() => TestJson.Asset("llama2-tokenizer/llama-tokenizer-js-1.2.2-cases.json"));

    public static TheoryData<string, int> EncodeCases() => Rows("encode");

    public static TheoryData<string, int> DecodeCases() => Rows("decode");

    [Fact]
    public void FileHas12EncodeAnd8DecodeCases()
    {
        Assert.Equal(12, File.Value.GetProperty("encode").GetArrayLength());
        Assert.Equal(8, File.Value.GetProperty("decode").GetArrayLength());
    }

    [Theory]
    [MemberData(nameof(EncodeCases))]
    public void EncodesWithBos(string loader, int index)
    {
        JsonElement c = File.Value.GetProperty("encode")[index];
        var tokenizer = TestTokenizers.Get(loader);
        Assert.True(tokenizer.AddBos);
        Assert.Equal(c.GetProperty("ids").Ids(), tokenizer.Encode(c.GetProperty("text").GetString()!));
    }

    /// <summary>add_bos_token: a leading BOS is dropped, else rendered as "&lt;s&gt;"; add_preceding_space: the
    /// leading space of the first visible piece is dropped.</summary>
    [Theory]
    [MemberData(nameof(DecodeCases))]
    public void DecodesWithFlags(string loader, int index)
    {
        JsonElement c = File.Value.GetProperty("decode")[index];
        bool addBos = c.GetProperty("add_bos_token").GetBoolean();
        var options = new SentencePieceDecodeOptions(
            RemoveLeadingSpace: c.GetProperty("add_preceding_space").GetBoolean(),
            SkipLeadingBos: addBos,
            RenderSpecialTokens: !addBos);
        Assert.Equal(c.GetProperty("text").GetString(), TestTokenizers.Get(loader).Decode(c.GetProperty("ids").Ids(), options));
    }

    private static TheoryData<string, int> Rows(string kind)
    {
        var data = new TheoryData<string, int>();
        foreach (string loader in TestTokenizers.Llama2Loaders)
            for (int i = 0; i < File.Value.GetProperty(kind).GetArrayLength(); i++) data.Add(loader, i);
        return data;
    }
}
