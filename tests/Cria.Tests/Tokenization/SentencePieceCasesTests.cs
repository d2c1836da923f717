using System.Text.Json;

namespace Cria.Tests.Tokenization;

/// <summary>The 66 cases generated with sentencepiece 0.1.97 from Meta's tokenizer.model (ids without BOS),
/// run through both Llama 2 loaders.</summary>
public class SentencePieceCasesTests
{
    private static readonly Lazy<JsonElement[]> Cases = new(() =>
        TestJson.Asset("llama2-tokenizer/tokenizer.model.sentencepiece-cases.json").GetProperty("cases").EnumerateArray().ToArray());

    public static TheoryData<string, int> EveryCase()
    {
        var data = new TheoryData<string, int>();
        foreach (string loader in TestTokenizers.Llama2Loaders)
            for (int i = 0; i < Cases.Value.Length; i++) data.Add(loader, i);
        return data;
    }

    [Fact]
    public void FileHas66Cases() => Assert.Equal(66, Cases.Value.Length);

    [Theory]
    [MemberData(nameof(EveryCase))]
    public void EncodesToSentencePieceIds(string loader, int index)
    {
        JsonElement c = Cases.Value[index];
        var tokenizer = TestTokenizers.Get(loader);
        Assert.Equal(c.GetProperty("ids").Ids(), tokenizer.Encode(c.GetProperty("text").GetString()!, addBos: false));
    }

    [Theory]
    [MemberData(nameof(EveryCase))]
    public void PiecesMatch(string loader, int index)
    {
        JsonElement c = Cases.Value[index];
        var tokenizer = TestTokenizers.Get(loader);
        string[] expected = c.GetProperty("pieces").EnumerateArray().Select(p => p.GetString()!).ToArray();
        Assert.Equal(expected, c.GetProperty("ids").Ids().Select(tokenizer.TokenText).ToArray());
    }

    [Theory]
    [MemberData(nameof(EveryCase))]
    public void DecodesBackToText(string loader, int index)
    {
        JsonElement c = Cases.Value[index];
        var tokenizer = TestTokenizers.Get(loader);
        int[] ids = c.GetProperty("ids").Ids();
        string decoded = c.GetProperty("decoded").GetString()!;
        Assert.Equal(decoded, tokenizer.Decode(ids));
        Assert.Equal(decoded, tokenizer.Decode([tokenizer.BosId, .. ids])); // a leading BOS changes nothing
        Assert.Equal(c.GetProperty("text").GetString(), decoded);
    }
}
