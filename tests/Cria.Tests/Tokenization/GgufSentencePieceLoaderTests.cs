using Cria.Formats.Gguf;
using Cria.Tokenization;

namespace Cria.Tests.Tokenization;

/// <summary>GGUF tokenizer metadata: what is read, what is defaulted, and clear errors for what is not supported.</summary>
public class GgufSentencePieceLoaderTests
{
    private static readonly string[] Pieces = ["<unk>", "<s>", "</s>", "▁", "a", "b", "▁a", "ab"];

    [Fact]
    public void Gpt2TokenizerIsSentToTheByteLevelBpeLoader()
    {
        var e = Assert.Throws<ModelFormatException>(() => SentencePieceTokenizer.FromGguf(Metadata(("tokenizer.ggml.model", Str("gpt2"))), "model.gguf"));
        Assert.StartsWith("model.gguf: ", e.Message);
        Assert.Contains("TiktokenTokenizer.FromGguf", e.Message);
    }

    [Theory]
    [InlineData(null, "'tokenizer.ggml.model' is missing")]
    [InlineData("bert", "'bert' is not supported")]
    public void OtherModelsAreRejected(string? model, string expected)
    {
        var entries = model == null ? Metadata() : Metadata(("tokenizer.ggml.model", Str(model)));
        var e = Assert.Throws<ModelFormatException>(() => SentencePieceTokenizer.FromGguf(entries, "x.gguf"));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void MinimalMetadataGetsLlamaDefaults()
    {
        var t = SentencePieceTokenizer.FromGguf(Metadata(("tokenizer.ggml.model", Str("llama")), ("tokenizer.ggml.tokens", Strings(Pieces))));
        Assert.Equal((0, 1, 2, -1), (t.UnknownId, t.BosId, t.EosId, t.PadId));
        Assert.True(t.AddBos && !t.AddEos && t.AddSpacePrefix && !t.HasByteFallback);
        Assert.Equal([TokenType.Unknown, TokenType.Control, TokenType.Control, TokenType.Normal], Enumerable.Range(0, 4).Select(t.GetTokenType));
        Assert.Equal([1, 6, 5], t.Encode("ab")); // all scores 0: the leftmost pair "▁a" merges first
    }

    [Fact]
    public void ReadsFlagsSpecialIdsAndEndOfGeneration()
    {
        var t = SentencePieceTokenizer.FromGguf(Metadata(
            ("tokenizer.ggml.model", Str("llama")),
            ("tokenizer.ggml.tokens", Strings(Pieces)),
            ("tokenizer.ggml.scores", Floats(0, 0, 0, -1, -1, -1, -3, -2)),
            ("tokenizer.ggml.token_type", Ints(2, 3, 3, 1, 1, 1, 1, 1)),
            ("tokenizer.ggml.bos_token_id", U32(1)),
            ("tokenizer.ggml.eos_token_id", U32(2)),
            ("tokenizer.ggml.padding_token_id", U32(uint.MaxValue)),
            ("tokenizer.ggml.eot_token_id", U32(7)),
            ("tokenizer.ggml.add_bos_token", Bool(false)),
            ("tokenizer.ggml.add_eos_token", Bool(true)),
            ("tokenizer.ggml.add_space_prefix", Bool(false))));
        Assert.Equal(-1, t.PadId);
        Assert.Equal([2, 7], t.EndOfGenerationIds);
        Assert.Equal([7, 2], t.Encode("ab")); // no BOS, EOS added, no '▁' prefix; "ab" outscores "▁a"
        Assert.Equal([3, 7, 2], t.Encode(" ab"));
        Assert.Equal(" ab", t.Decode([3, 7])); // without a space prefix no space is removed
    }

    [Theory]
    [InlineData("tokenizer.ggml.scores", "has 2 entries for 8 tokens")]
    [InlineData("tokenizer.ggml.token_type", "has 2 entries for 8 tokens")]
    [InlineData("tokenizer.ggml.bos_token_id", "BOS id 99 is outside the vocabulary")]
    [InlineData("bad type", "token 1 is 9, not a SentencePiece type")]
    [InlineData("tokens not strings", "should be an array of String")]
    public void InconsistentMetadataFailsClearly(string what, string expected)
    {
        var entries = new List<(string, GgufValue)> { ("tokenizer.ggml.model", Str("llama")), ("tokenizer.ggml.tokens", Strings(Pieces)) };
        switch (what)
        {
            case "tokenizer.ggml.scores": entries.Add((what, Floats(0, 0))); break;
            case "tokenizer.ggml.token_type": entries.Add((what, Ints(2, 3))); break;
            case "tokenizer.ggml.bos_token_id": entries.Add((what, U32(99))); break;
            case "bad type": entries.Add(("tokenizer.ggml.token_type", Ints(2, 9, 3, 1, 1, 1, 1, 1))); break;
            case "tokens not strings": entries[1] = ("tokenizer.ggml.tokens", Floats(1, 2)); break;
        }
        var e = Assert.Throws<ModelFormatException>(() => SentencePieceTokenizer.FromGguf(Metadata([.. entries]), "v.gguf"));
        Assert.StartsWith("v.gguf: ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    private static GgufMetadata Metadata(params (string Key, GgufValue Value)[] entries) =>
        new(entries.Select(e => new KeyValuePair<string, GgufValue>(e.Key, e.Value)).ToList());

    private static GgufValue Str(string s) => new(GgufValueType.String, s);
    private static GgufValue U32(uint v) => new(GgufValueType.UInt32, v);
    private static GgufValue Bool(bool v) => new(GgufValueType.Bool, v);
    private static GgufValue Strings(string[] items) => new(GgufValueType.Array, new GgufArray(GgufValueType.String, items));
    private static GgufValue Floats(params float[] items) => new(GgufValueType.Array, new GgufArray(GgufValueType.Float32, items));
    private static GgufValue Ints(params int[] items) => new(GgufValueType.Array, new GgufArray(GgufValueType.Int32, items));
}
