using System.Text.Json;

namespace Cria.Tests.Tokenization;

/// <summary>The same vocabulary loaded from llama2.c's tokenizer.bin, from GGUF and from sentencepiece's tokenizer.model must be the same tokenizer.</summary>
public class LoaderAgreementTests
{
    [Theory]
    [InlineData(TestTokenizers.Llama2Bin, TestTokenizers.Llama2Gguf, 32000)]
    [InlineData(TestTokenizers.Llama2Bin, TestTokenizers.Llama2ModelGguf, 32000)]
    [InlineData(TestTokenizers.Tok512Bin, TestTokenizers.Tok512Gguf, 512)]
    [InlineData(TestTokenizers.Llama2Bin, TestTokenizers.Llama2Model, 32000)]
    [InlineData(TestTokenizers.Tok512Bin, TestTokenizers.Tok512Model, 512)]
    public void VocabulariesAreIdentical(string a, string b, int vocabSize)
    {
        var x = TestTokenizers.Get(a);
        var y = TestTokenizers.Get(b);
        Assert.Equal(vocabSize, x.VocabSize);
        Assert.Equal(vocabSize, y.VocabSize);
        for (int id = 0; id < vocabSize; id++)
        {
            Assert.Equal(x.TokenText(id), y.TokenText(id));
            Assert.Equal(x.GetScore(id), y.GetScore(id));
            Assert.Equal(x.GetTokenType(id), y.GetTokenType(id));
            Assert.True(x.DecodeBytes(id).SequenceEqual(y.DecodeBytes(id)), $"decode bytes of {id}");
        }
        Assert.Equal((0, 1, 2, -1), (x.UnknownId, x.BosId, x.EosId, x.PadId));
        Assert.Equal((0, 1, 2, -1), (y.UnknownId, y.BosId, y.EosId, y.PadId));
        Assert.True(x.AddBos && y.AddBos && !x.AddEos && !y.AddEos && x.AddSpacePrefix && y.AddSpacePrefix);
        Assert.True(x.HasByteFallback && y.HasByteFallback);
    }

    [Fact]
    public void Tok512LoadersGiveIdenticalIds()
    {
        var bin = TestTokenizers.Get(TestTokenizers.Tok512Bin);
        var gguf = TestTokenizers.Get(TestTokenizers.Tok512Gguf);
        string story = ExpectedStory().GetProperty("generated_text").GetString()!;
        foreach (string text in new[] { "Once upon a time", story, " leading space", "unicode: é 日本 🦙", "" })
            Assert.Equal(bin.Encode(text), gguf.Encode(text));
        Assert.Equal([1, 403, 407, 261, 378], bin.Encode("Once upon a time")); // the prompt of stories260K's references
    }

    /// <summary>run.c prints the generated ids after BOS, dropping the first piece's leading space: the same text
    /// as sentencepiece's decode, with or without the BOS in front.</summary>
    [Theory]
    [InlineData(TestTokenizers.Tok512Bin)]
    [InlineData(TestTokenizers.Tok512Gguf)]
    public void DecodesTheStories260KGreedyStory(string loader)
    {
        var tokenizer = TestTokenizers.Get(loader);
        JsonElement greedy = ExpectedStory();
        int[] ids = greedy.GetProperty("generated_ids").Ids();
        string text = greedy.GetProperty("generated_text").GetString()!;
        Assert.Equal(256, ids.Length);
        Assert.Equal(text, tokenizer.Decode(ids));
        Assert.Equal(text, tokenizer.Decode([1, .. ids]));
        Assert.Equal(" ", System.Text.Encoding.UTF8.GetString(tokenizer.DecodeBytes(ids[0]))[..1]); // the space is in the piece
        Assert.Equal(ids, tokenizer.Encode(text, addBos: false)); // greedy text re-encodes to the same ids
    }

    [Fact]
    public void Llama2cVocabEndsGenerationOnBosLikeRunC()
    {
        Assert.Equal([2, 1], TestTokenizers.Get(TestTokenizers.Tok512Bin).EndOfGenerationIds);
        Assert.Equal([2], TestTokenizers.Get(TestTokenizers.Tok512Gguf).EndOfGenerationIds);
        Assert.True(TestTokenizers.Get(TestTokenizers.Llama2Gguf).IsEndOfGeneration(2));
    }

    private static JsonElement ExpectedStory() => TestJson.Asset("stories260K/stories260K.expected.json").GetProperty("greedy_from_bos");
}
