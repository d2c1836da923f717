using System.Text.Json;

namespace Cria.Tests.Tokenization;

/// <summary>sentencepiece's <c>remove_extra_whitespaces</c>, on in stories260K's tok512.model and off in Llama 2's
/// tokenizer.model: 200 texts with runs of spaces, tabs, newlines and literal '▁' encoded and decoded by the real
/// sentencepiece (Data/tok512-whitespace-cases.json, made by Data/make_tok512_whitespace_cases.py).</summary>
public class TokenizerWhitespaceTests
{
    private static readonly Lazy<JsonElement> Fixture = new(() => TestJson.Local("tok512-whitespace-cases.json"));

    [Fact]
    public void TheTwoModelsDifferInTheSwitch()
    {
        Assert.True(Fixture.Value.GetProperty("tok512_normalizer").GetProperty("remove_extra_whitespaces").GetBoolean());
        Assert.False(Fixture.Value.GetProperty("llama2_normalizer").GetProperty("remove_extra_whitespaces").GetBoolean());
        Assert.True(TestTokenizers.Get(TestTokenizers.Tok512Model).RemoveExtraWhitespaces);
        Assert.False(TestTokenizers.Get(TestTokenizers.Llama2Model).RemoveExtraWhitespaces);
        Assert.False(TestTokenizers.Get(TestTokenizers.Tok512Gguf).RemoveExtraWhitespaces); // GGUF has no such switch; llama.cpp never does it
    }

    [Fact]
    public void Tok512ModelEncodesLikeSentencePiece() =>
        AssertAll(TestTokenizers.Tok512Model, c => (c.GetProperty("tok512_ids").Ids(), Encode(TestTokenizers.Tok512Model, c)));

    [Fact]
    public void Tok512ModelDecodesLikeSentencePiece() =>
        AssertAll(TestTokenizers.Tok512Model, c => (c.GetProperty("tok512_decoded").GetString()!,
            TestTokenizers.Get(TestTokenizers.Tok512Model).Decode(c.GetProperty("tok512_ids").Ids())));

    /// <summary>Llama 2 keeps every space, through each of its loaders.</summary>
    [Theory]
    [InlineData(TestTokenizers.Llama2Model)]
    [InlineData(TestTokenizers.Llama2Gguf)]
    [InlineData(TestTokenizers.Llama2HfJson)]
    public void Llama2KeepsEverySpace(string loader) =>
        AssertAll(loader, c => (c.GetProperty("llama2_ids").Ids(), Encode(loader, c)));

    /// <summary>Under remove_extra_whitespaces sentencepiece drops the '▁' of every piece until text appears, not only the first.</summary>
    [Fact]
    public void DecodingDropsEveryLeadingSpaceUntilText()
    {
        var t = TestTokenizers.Get(TestTokenizers.Tok512Model);
        Assert.Equal(("\u2581", "\u2581a"), (t.TokenText(410), t.TokenText(261)));
        Assert.Equal("a", t.Decode([410, 261]));
        Assert.Equal("a a", t.Decode([410, 261, 261]));
        Assert.Equal(" a", TestTokenizers.Get(TestTokenizers.Tok512Gguf).Decode([410, 261])); // only the first '▁' without the switch
    }

    private static int[] Encode(string loader, JsonElement c) => TestTokenizers.Get(loader).Encode(c.GetProperty("text").GetString()!, addBos: false);

    private static void AssertAll<T>(string loader, Func<JsonElement, (T Expected, T Actual)> check)
    {
        var failures = new List<string>();
        int count = 0;
        foreach (JsonElement c in Fixture.Value.GetProperty("cases").EnumerateArray())
        {
            var (expected, actual) = check(c);
            bool same = actual is int[] x && expected is int[] y ? x.SequenceEqual(y) : Equals(actual, expected);
            if (!same) failures.Add($"#{count} {c.GetProperty("text").GetRawText()}: got {JsonSerializer.Serialize(actual)}, sentencepiece {JsonSerializer.Serialize(expected)}");
            count++;
        }
        Assert.Equal(200, count);
        Assert.True(failures.Count == 0, $"{loader}: {failures.Count} of {count} differ:\n" + string.Join("\n", failures.Take(10)));
    }
}
