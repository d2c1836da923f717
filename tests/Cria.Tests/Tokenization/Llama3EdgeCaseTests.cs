using System.Text;
using System.Text.RegularExpressions;
using Cria.Tokenization;

namespace Cria.Tests.Tokenization;

/// <summary>Round trips, lone surrogates, decoding broken UTF-8, special tokens and Meta's chunks, and the pieces of
/// the scanner against .NET's Regex for every BMP character.</summary>
public class Llama3EdgeCaseTests
{
    private static TiktokenTokenizer Llama3 => Llama3TestTokenizers.Get(Llama3TestTokenizers.Model);

    /// <summary>decode(encode(s)) == s for any valid string: 20,000 generated strings, with and without special-token parsing.</summary>
    [Fact]
    public void DecodeOfEncodeGivesTheTextBack()
    {
        var generator = new Llama3TextGenerator(seed: 11);
        for (int i = 0; i < 20_000; i++)
        {
            string text = generator.Next(i % 100 == 0 ? 400 : 16);
            Assert.Equal(text, Llama3.Decode(Llama3.Encode(text, addBos: true, addEos: true)));
            Assert.Equal(text, Llama3.Decode(Llama3.Encode(text, addBos: false, parseSpecial: true), showSpecial: true));
        }
    }

    /// <summary>Every code point of every plane (in strings of 64), surrogates excepted, survives the round trip.</summary>
    [Fact]
    public void EveryCodePointRoundTrips()
    {
        var text = new StringBuilder();
        for (int c = 0; c <= 0x10FFFF; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF) continue;
            text.Append(char.ConvertFromUtf32(c));
            if (text.Length < 128 && c != 0x10FFFF) continue;
            string s = text.ToString();
            Assert.Equal(s, Llama3.Decode(Llama3.Encode(s, addBos: false)));
            text.Clear();
        }
    }

    /// <summary>A lone surrogate is not text: it is encoded as U+FFFD, as tiktoken does (Python: surrogatepass, then
    /// decode with errors="replace"), and decodes as U+FFFD. A valid pair is one character. (A fact, not inline data:
    /// attributes store strings as UTF-8, which cannot hold a lone surrogate.)</summary>
    [Fact]
    public void LoneSurrogatesBecomeTheReplacementCharacter()
    {
        (string Text, string AsEncoded)[] cases =
        [
            ("a\ud800b", "a\ufffdb"), ("\udfff", "\ufffd"), ("\udc00\ud800", "\ufffd\ufffd"), ("x\ud83e", "x\ufffd"),
            ("\ud83e\udd99\ud83e", "🦙\ufffd"), ("'\ud800s", "'\ufffds"), ("\ud800 \ud800", "\ufffd \ufffd"),
        ];
        foreach (var (text, asEncoded) in cases)
        {
            Assert.True(text.Length == asEncoded.Length || text.Contains('\ud83e'), "the cases hold lone surrogates");
            int[] ids = Llama3.Encode(text, addBos: false);
            Assert.Equal(Llama3.Encode(asEncoded, addBos: false), ids);
            Assert.Equal(asEncoded, Llama3.Decode(ids));
        }
        Assert.Equal([5809], Llama3.Encode("\ud800", addBos: false)); // U+FFFD's token, as tiktoken gives (llama3-tiktoken-cases.json)
    }

    /// <summary>Bytes that form no character decode as U+FFFD per maximal invalid subpart, as Python's
    /// <c>bytes.decode("utf-8", "replace")</c> (tiktoken's decode) does; expected strings from CPython 3.11.</summary>
    [Theory]
    [InlineData(new[] { 9468 }, "\ufffd")]                 // F0 9F: the start of 🦙
    [InlineData(new[] { 9468, 99 }, "\ufffd")]             // F0 9F A6
    [InlineData(new[] { 9468, 99, 247 }, "🦙")]
    [InlineData(new[] { 99, 247, 9468 }, "\ufffd\ufffd\ufffd")] // A6 99 F0 9F
    [InlineData(new[] { 64, 187, 65 }, "a\ufffdb")]        // a, FF, b
    [InlineData(new[] { 129, 123, 87 }, "ſx")]
    public void BrokenUtf8DecodesAsPythonDoes(int[] ids, string expected) => Assert.Equal(expected, Llama3.Decode(ids));

    [Fact]
    public void EmptyTextAndBosEos()
    {
        Assert.Empty(Llama3.Encode("", addBos: false));
        Assert.Equal([128000], Llama3.Encode("", addBos: true));
        Assert.Equal([128000, 128001], Llama3.Encode("", addBos: true, addEos: true));
        Assert.Equal([128000, 40], Llama3.Encode("I")); // the tokenizer's own rule: BOS, no EOS
        Assert.Equal("", Llama3.Decode([128000, 128001]));
        Assert.Equal("<|begin_of_text|><|end_of_text|>", Llama3.Decode([128000, 128001], showSpecial: true));
        Assert.True(Llama3.DecodeBytes(128009).IsEmpty);
        Assert.Equal("<|eot_id|>", Encoding.UTF8.GetString(Llama3.DecodeBytes(128009, showSpecial: true)));
        Assert.Equal("Ġthe", Llama3.TokenText(279));
        Assert.Equal(" the", Encoding.UTF8.GetString(Llama3.DecodeBytes(279)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Llama3.Decode([128256]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Llama3.TokenText(-1));
    }

    /// <summary>Only the vocabulary's special tokens are parsed; look-alikes stay text, and so do the 3.0-only names under 3.1's.</summary>
    [Fact]
    public void UnknownSpecialLookingTextStaysText()
    {
        foreach (string text in (string[])["<|foo|>", "<|eot_id", "<|reserved_special_token_248|>", "<|begin_of_text|", "<<|eot_id|>>"])
        {
            int[] ids = Llama3.Encode(text, addBos: false, parseSpecial: true);
            Assert.Equal(text.Contains("<|eot_id|>") ? 1 : 0, ids.Count(id => id >= 128000));
            Assert.Equal(text, Llama3.Decode(ids, showSpecial: true));
        }
        Assert.Equal(-1, Llama3.SpecialTokenId("<|reserved_special_token_248|>"));
        Assert.Equal(128255, Llama3.SpecialTokenId("<|reserved_special_token_247|>"));
    }

    /// <summary>As in Meta's encode, the text is cut into chunks before special tokens are looked for: a special token
    /// that ends a run of over 25,000 non-space characters is cut in two and stays text.</summary>
    [Fact]
    public void SpecialTokensAreFoundWithinMetasChunks()
    {
        string inside = new string('a', 24_000) + "<|eot_id|>";
        Assert.Contains(128009, Llama3.Encode(inside, addBos: false, parseSpecial: true));
        string across = new string('a', 24_995) + "<|eot_id|>";
        int[] ids = Llama3.Encode(across, addBos: false, parseSpecial: true);
        Assert.DoesNotContain(128009, ids);
        Assert.Equal(across, Llama3.Decode(ids, showSpecial: true));
    }

    /// <summary>The heap merge of long pieces makes the same merges as tiktoken's scan, on random bytes and UTF-8 text.</summary>
    [Fact]
    public void HeapMergeEqualsTiktokensLoop()
    {
        var random = new Random(5);
        var generator = new Llama3TextGenerator(seed: 6);
        for (int i = 0; i < 5000; i++)
        {
            byte[] piece = i % 2 == 0 ? RandomBytes(random, random.Next(2, 65)) : Encoding.UTF8.GetBytes(generator.Next(6).PadRight(2, 'x'));
            if (piece.Length > 64) piece = piece[..64];
            var scan = new List<int>();
            var heap = new List<int>();
            Llama3.Merger.MergeShort(piece, scan);
            Llama3.Merger.MergeLong(piece, heap);
            Assert.Equal(scan, heap);
        }
    }

    /// <summary>For text without characters outside the BMP, the scanner's pieces are the matches of .NET's Regex for
    /// the same pattern, for every BMP character in a set of contexts (the tables are the same, so this checks the
    /// scanner's logic: each alternative and its backtracking). Both fold 'ſ' (U+017F) to 's' in (?i:'s), as Unicode
    /// simple case folding does in tiktoken's Rust regex.</summary>
    [Fact]
    public void PiecesAreTheRegexMatchesForEveryBmpCharacter()
    {
        var regex = new Regex(Llama3PreTokenizer.Pattern, RegexOptions.CultureInvariant);
        string[] contexts = ["{0}", "a{0}", "{0}a", " {0}", "{0} ", "1{0}1", "'{0}", "{0}{0}{0}{0}", " {0}{0}x", "\n{0}\n", "{0}\r\n", "  {0}  b", "!{0}!"];
        var differences = new List<string>();
        for (int c = 0; c < 0x10000; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF) continue;
            string ch = ((char)c).ToString();
            foreach (string context in contexts)
            {
                string text = string.Format(context, ch);
                var ours = Llama3PreTokenizer.Split(text);
                var theirs = regex.Matches(text).Select(m => m.Value).ToList();
                if (!ours.SequenceEqual(theirs)) differences.Add($"U+{c:X4} in '{context}'");
            }
        }
        Assert.Empty(differences);
        Assert.Equal(["'ſ", "x"], Llama3PreTokenizer.Split("'ſx"));
    }

    /// <summary>One tokenizer on many threads (its merge cache is shared) gives each thread the ids it gives alone.</summary>
    [Fact]
    public void ConcurrentEncodingGivesTheSameIds()
    {
        var tokenizer = TiktokenTokenizer.FromTiktokenFile(Llama3TestTokenizers.ModelPath); // a fresh, empty cache
        string[] texts = [.. Enumerable.Range(0, 8).Select(i => new Llama3TextGenerator(seed: 100 + i).Next(3000))];
        int[][] expected = [.. texts.Select(t => Llama3TestTokenizers.Get(Llama3TestTokenizers.Json).Encode(t, addBos: false))];
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            Assert.Equal(expected[i % 8], tokenizer.Encode(texts[i % 8], addBos: false)));
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
