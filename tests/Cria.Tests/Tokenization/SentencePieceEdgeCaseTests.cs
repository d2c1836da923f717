using Cria.Tokenization;

namespace Cria.Tests.Tokenization;

/// <summary>Rules the Llama vocabulary never exercises, on small made-up vocabularies, plus input that is not
/// well-formed text.</summary>
public class SentencePieceEdgeCaseTests
{
    private static SentencePieceTokenizer Vocab(params (string Piece, float Score, TokenType Type)[] entries) =>
        new(entries.Select(e => e.Piece).ToList(), entries.Select(e => e.Score).ToList(), entries.Select(e => e.Type).ToList(), new SentencePieceOptions());

    private static readonly (string, float, TokenType)[] Specials =
        [("<unk>", 0, TokenType.Unknown), ("<s>", 0, TokenType.Control), ("</s>", 0, TokenType.Control)];

    [Fact]
    public void HigherScoreMergesFirstAndTiesGoLeft()
    {
        var t = Vocab([.. Specials, ("▁", -1, TokenType.Normal), ("a", -1, TokenType.Normal), ("b", -1, TokenType.Normal),
            ("c", -1, TokenType.Normal), ("ab", -3, TokenType.Normal), ("bc", -2, TokenType.Normal), ("aa", -4, TokenType.Normal)]);
        Assert.Equal([3, 4, 8], t.Encode("abc", addBos: false));       // "bc" outscores "ab"
        Assert.Equal([3, 9, 9, 4], t.Encode("aaaaa", addBos: false));  // equal pairs merge from the left
    }

    [Fact]
    public void WithoutByteFallbackAnUnknownRunIsOneUnknownId()
    {
        var t = Vocab([.. Specials, ("▁", -1, TokenType.Normal), ("a", -1, TokenType.Normal)]);
        Assert.False(t.HasByteFallback);
        Assert.Equal([3, 4, 0, 4, 0], t.Encode("a☃🦙xa€", addBos: false));
        Assert.Equal("a" + SentencePieceTokenizer.UnknownTokenText + "a" + SentencePieceTokenizer.UnknownTokenText, t.Decode([3, 4, 0, 4, 0]));
        Assert.Equal("<s>a<unk>", t.Decode([1, 4, 0], new SentencePieceDecodeOptions(RemoveLeadingSpace: true, RenderSpecialTokens: true)));
    }

    [Fact]
    public void UserDefinedPiecesAreMatchedWholeAndNeverMerged()
    {
        var t = Vocab([.. Specials, ("▁", -1, TokenType.Normal), ("a", -1, TokenType.Normal), ("<x>", 0, TokenType.UserDefined),
            ("▁a", -1, TokenType.Normal), ("a<x>", 5, TokenType.Normal), ("<", -1, TokenType.Normal), ("x", -1, TokenType.Normal), (">", -1, TokenType.Normal)]);
        Assert.Equal([6, 5, 4, 5], t.Encode("a<x>a<x>", addBos: false));
        Assert.Equal("a<x>a<x>", t.Decode([6, 5, 4, 5]));
    }

    /// <summary>sentencepiece lets an unused piece steer merges, then splits it back into the pieces it was made of.</summary>
    [Fact]
    public void UnusedPiecesAreResegmented()
    {
        var t = Vocab([.. Specials, ("▁", -1, TokenType.Normal), ("a", -1, TokenType.Normal), ("b", -1, TokenType.Normal),
            ("c", -1, TokenType.Normal), ("ab", 0, TokenType.Unused), ("abc", -5, TokenType.Normal)]);
        Assert.Equal([3, 4, 5], t.Encode("ab", addBos: false));
        Assert.Equal([3, 8], t.Encode("abc", addBos: false));
    }

    [Fact]
    public void PartialByteFallbackIsRejected()
    {
        var e = Assert.Throws<ModelFormatException>(() => Vocab([.. Specials, ("<0x41>", 0, TokenType.Byte)]));
        Assert.Contains("1 of the 256 byte pieces", e.Message);
    }

    [Fact]
    public void EmptyTextGivesOnlyTheRequestedSpecials()
    {
        var t = TestTokenizers.Get(TestTokenizers.Llama2Gguf);
        Assert.Empty(t.Encode("", addBos: false));
        Assert.Equal([1], t.Encode(""));
        Assert.Equal([1, 2], t.Encode("", addBos: true, addEos: true));
        Assert.Equal("", t.Decode([]));
        Assert.Equal("", t.Decode([1, 2]));
    }

    /// <summary>A lone surrogate is not a character: it is encoded as U+FFFD, as sentencepiece encodes a byte that is
    /// not valid UTF-8. Surrogate pairs are one character.</summary>
    [Theory]
    [MemberData(nameof(LoneSurrogates))]
    public void LoneSurrogatesEncodeAsReplacementCharacter(string text, string same)
    {
        var t = TestTokenizers.Get(TestTokenizers.Llama2Gguf);
        Assert.Equal(t.Encode(same), t.Encode(text));
        Assert.Equal(same, t.Decode(t.Encode(text)));
    }

    // Attribute arguments are stored as UTF-8, which cannot hold a lone surrogate: build these in code.
    public static TheoryData<string, string> LoneSurrogates() => new()
    {
        { "a\uD800b", "a\uFFFDb" },
        { "\uDC00", "\uFFFD" },
        { "x\uDBFF", "x\uFFFD" },
        { "\uDC00\uD800", "\uFFFD\uFFFD" },
        { "\uD83E\uDD99 \uD83E", "🦙 \uFFFD" },
    };

    [Fact]
    public void Utf8InputEncodesLikeTheString()
    {
        var t = TestTokenizers.Get(TestTokenizers.Llama2Gguf);
        const string text = "Hello, 世界! 🦙 Ünïcödé\n\tend";
        Assert.Equal(t.Encode(text), t.EncodeUtf8(System.Text.Encoding.UTF8.GetBytes(text), addBos: true));
        Assert.Equal(t.Encode("a\uFFFD\uFFFD\uFFFDb"), t.EncodeUtf8([(byte)'a', 0xFF, 0xE2, 0x82, (byte)'b'], addBos: true)); // one U+FFFD per bad byte
    }

    [Fact]
    public void DecodeBytesRendersEachKindOfToken()
    {
        var t = TestTokenizers.Get(TestTokenizers.Llama2Bin);
        Assert.Equal(" Hello"u8.ToArray(), t.DecodeBytes(15043).ToArray());
        Assert.Equal(new byte[] { 0x0A }, t.DecodeBytes(13).ToArray());
        Assert.Equal(new byte[] { 0xF0 }, t.DecodeBytes(3 + 0xF0).ToArray());
        Assert.True(t.DecodeBytes(1).IsEmpty && t.DecodeBytes(2).IsEmpty);
        Assert.Equal("\u2585"u8.ToArray(), t.DecodeBytes(0).ToArray());
        Assert.Equal("<s>"u8.ToArray(), t.DecodeBytes(1, showSpecial: true).ToArray());
        Assert.Equal("<unk>"u8.ToArray(), t.DecodeBytes(0, showSpecial: true).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => t.DecodeBytes(32000).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Decode([5, -1]));
    }

    /// <summary>sentencepiece drops the '▁' of the first visible piece only: control ids before it don't count, a
    /// byte or an unknown token before it does.</summary>
    [Theory]
    [InlineData(new[] { 1, 29871, 15043 }, " Hello")]
    [InlineData(new[] { 1, 2, 259, 15043 }, "  Hello")]
    [InlineData(new[] { 13, 15043 }, "\n Hello")]
    [InlineData(new[] { 0, 15043 }, "\u2585 Hello")]
    [InlineData(new[] { 3 + 0x20, 15043 }, "  Hello")]
    public void LeadingSpaceRule(int[] ids, string expected) =>
        Assert.Equal(expected, TestTokenizers.Get(TestTokenizers.Llama2Gguf).Decode(ids));

    [Fact]
    public void DecodingAllocatesNothingPerToken()
    {
        var t = TestTokenizers.Get(TestTokenizers.Llama2Gguf);
        int[] ids = t.Encode("The quick brown fox 🦙 jumps over the lazy dog.");
        long sum = 0;
        foreach (int id in ids) sum += t.DecodeBytes(id).Length;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int round = 0; round < 100; round++)
            foreach (int id in ids) sum += t.DecodeBytes(id).Length;
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(sum > 0);
    }
}
