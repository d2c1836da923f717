using System.Text;
using System.Text.Json;
using Cria.Tokenization;

namespace Cria.Tests.Tokenization;

/// <summary>Special-token parsing and rendering against llama.cpp (Data/llamacpp-spm-special-cases.json, made by
/// tools/llamacpp-spm-special): 250 texts with &lt;s&gt;, &lt;/s&gt;, &lt;unk&gt;, near misses and whitespace around them, on
/// both SentencePiece GGUF vocabularies, through every loader of each vocabulary.</summary>
public class SpecialTokenParsingTests
{
    private const string LlamaVocab = "llamacpp-vocab/ggml-vocab-llama-spm.gguf";
    private const string StoriesVocab = "stories260K-gguf/stories260K-f32.gguf";

    private static readonly Lazy<JsonElement> Fixture = new(() => TestJson.Local("llamacpp-spm-special-cases.json").GetProperty("vocabs"));

    // tok512.model is left out: its remove_extra_whitespaces changes texts with extra spaces, which llama.cpp never does.
    public static TheoryData<string, string> Loaders() => new()
    {
        { LlamaVocab, TestTokenizers.Llama2Gguf },
        { LlamaVocab, TestTokenizers.Llama2Bin },
        { LlamaVocab, TestTokenizers.Llama2Model },
        { LlamaVocab, TestTokenizers.Llama2HfJson },
        { StoriesVocab, TestTokenizers.Tok512Gguf },
        { StoriesVocab, TestTokenizers.Tok512Bin },
    };

    [Fact]
    public void FixtureHas250TextsPerVocabulary()
    {
        Assert.Equal(250, Fixture.Value.GetProperty(LlamaVocab).GetProperty("cases").GetArrayLength());
        Assert.Equal(250, Fixture.Value.GetProperty(StoriesVocab).GetProperty("cases").GetArrayLength());
    }

    [Theory]
    [MemberData(nameof(Loaders))]
    public void ParsesSpecialTokensLikeLlamaCpp(string vocab, string loader) =>
        AssertAll(vocab, loader, (t, c) => (t.Encode(Text(c), addBos: true, parseSpecial: true), c.GetProperty("ids").Ids()));

    [Theory]
    [MemberData(nameof(Loaders))]
    public void ParsesSpecialTokensWithoutBos(string vocab, string loader) =>
        AssertAll(vocab, loader, (t, c) => (t.Encode(Text(c), addBos: false, parseSpecial: true), c.GetProperty("ids_no_bos").Ids()));

    [Theory]
    [MemberData(nameof(Loaders))]
    public void SpecialTextIsOrdinaryTextUnlessParsed(string vocab, string loader) =>
        AssertAll(vocab, loader, (t, c) => (t.Encode(Text(c), addBos: true), c.GetProperty("ids_not_parsed").Ids()));

    /// <summary>Decoding with special tokens shown equals llama_detokenize(remove_special false, unparse_special true).</summary>
    [Theory]
    [MemberData(nameof(Loaders))]
    public void DecodesWithSpecialTokensShownLikeLlamaCpp(string vocab, string loader) =>
        AssertAll(vocab, loader, (t, c) => (t.Decode(c.GetProperty("ids").Ids(), showSpecial: true), c.GetProperty("detokenized_unparse_special").GetString()!));

    /// <summary>Each token's bytes equal llama_token_to_piece: with special on, always; with it off, too, except the unknown
    /// token, which Cria renders as '▅' where llama.cpp now renders nothing (see <see cref="SentencePieceTokenizer.UnknownTokenText"/>).</summary>
    [Theory]
    [MemberData(nameof(Loaders))]
    public void TokenBytesMatchLlamaCppPieces(string vocab, string loader)
    {
        var t = TestTokenizers.Get(loader);
        int checkedPieces = 0;
        foreach (JsonElement p in Fixture.Value.GetProperty(vocab).GetProperty("pieces").EnumerateArray())
        {
            int id = p.GetProperty("id").GetInt32();
            Assert.Equal(p.GetProperty("special_hex").GetString(), Convert.ToHexString(t.DecodeBytes(id, showSpecial: true)));
            string plain = Convert.ToHexString(t.DecodeBytes(id, showSpecial: false));
            if (t.GetTokenType(id) == TokenType.Unknown) Assert.Equal(Convert.ToHexString(Encoding.UTF8.GetBytes(SentencePieceTokenizer.UnknownTokenText)), plain);
            else Assert.Equal(p.GetProperty("plain_hex").GetString(), plain);
            checkedPieces++;
        }
        Assert.True(checkedPieces >= 300);
    }

    /// <summary>Hugging Face's non-legacy Llama tokenizer.json (Metaspace, prepend_scheme "first") puts '▁' only before
    /// text at the very start: after a special token the text is encoded without it. The legacy one (and llama.cpp)
    /// prefixes every fragment.</summary>
    [Fact]
    public void MetaspaceFirstPrefixesOnlyTheStartOfTheText()
    {
        var first = TestTokenizers.FromHfJson(TestTokenizers.Llama2HfTokenizerJson(legacy: false), HfLlamaConverter.TokenizerConfig(legacy: false));
        var legacy = TestTokenizers.Get(TestTokenizers.Llama2HfJson);
        Assert.False(first.AddSpacePrefixAfterSpecialTokens);
        Assert.Equal(("world", "\u2581world"), (first.TokenText(11526), first.TokenText(3186)));
        Assert.Equal([1, 15043, 1, 11526], first.Encode("Hello<s>world", addBos: true, parseSpecial: true));
        Assert.Equal([1, 15043, 1, 3186], legacy.Encode("Hello<s>world", addBos: true, parseSpecial: true));
        Assert.Equal([1, 1, 10994], first.Encode("<s>Hello", addBos: true, parseSpecial: true));              // "Hello"
        Assert.Equal([1, 1, 15043], legacy.Encode("<s>Hello", addBos: true, parseSpecial: true));             // "▁Hello"
        Assert.Equal(legacy.Encode("Hello world"), first.Encode("Hello world"));
    }

    /// <summary>llama.cpp's order: longer special texts first, equal lengths by id; a match is never reused.</summary>
    [Fact]
    public void LongestSpecialTextWinsThenLowerId()
    {
        string[] pieces = ["<unk>", "<s>", "</s>", "\u2581", "a", "b", "c", "d", "ab", "bcd", "abc"];
        TokenType[] types = [TokenType.Unknown, TokenType.Control, TokenType.Control, .. Enumerable.Repeat(TokenType.Normal, 5),
                             TokenType.UserDefined, TokenType.UserDefined, TokenType.UserDefined];
        var t = new SentencePieceTokenizer(pieces, new float[pieces.Length], types, new SentencePieceOptions());
        Assert.Equal([9, 3, 4], t.Encode("bcda", addBos: false, parseSpecial: true));        // "bcd", then "▁a"
        Assert.Equal([3, 4, 9], t.Encode("abcd", addBos: false, parseSpecial: true));        // "bcd" (id 9) outranks "abc" (id 10)
        Assert.Equal([3, 10, 7], t.Encode("abcd", addBos: false));                           // unparsed: sentencepiece's leftmost longest
    }

    [Fact]
    public void ManySpecialTokensStayLinear()
    {
        var t = TestTokenizers.Get(TestTokenizers.Llama2Gguf);
        string text = string.Concat(Enumerable.Repeat("<s>a</s>", 50_000));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int[] ids = t.Encode(text, addBos: false, parseSpecial: true);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"{text.Length} chars took {clock.Elapsed}");
        Assert.Equal(150_000, ids.Length);
        Assert.Equal([1, 263, 2], ids[..3]);
    }

    private static string Text(JsonElement c) => c.GetProperty("text").GetString()!;

    private static void AssertAll<T>(string vocab, string loader, Func<SentencePieceTokenizer, JsonElement, (T Actual, T Expected)> check)
    {
        var tokenizer = TestTokenizers.Get(loader);
        var failures = new List<string>();
        int count = 0;
        foreach (JsonElement c in Fixture.Value.GetProperty(vocab).GetProperty("cases").EnumerateArray())
        {
            var (actual, expected) = check(tokenizer, c);
            bool same = actual is int[] x && expected is int[] y ? x.SequenceEqual(y) : Equals(actual, expected);
            if (!same) failures.Add($"#{count} {JsonSerializer.Serialize(Text(c))}: got {JsonSerializer.Serialize(actual)}, llama.cpp {JsonSerializer.Serialize(expected)}");
            count++;
        }
        Assert.Equal(250, count);
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} differ:\n" + string.Join("\n", failures.Take(10)));
    }
}
