using System.Text;
using Cria.Tokenization;

namespace Cria.Tests.Tokenization;

/// <summary>The streaming decoder emits exactly the complete characters seen so far, whatever the split, and ends
/// with the same text as <see cref="SentencePieceTokenizer.Decode(ReadOnlySpan{int})"/>.</summary>
public class Utf8StreamDecoderTests
{
    private const string Mixed = "a é € 🦙Ꙋ👍🏽 日本\n👨‍👩‍👧z";

    private static string Feed(Utf8StreamDecoder decoder, ReadOnlySpan<byte> bytes)
    {
        var chars = new char[Utf8StreamDecoder.GetMaxCharCount(bytes.Length)];
        return new string(chars, 0, decoder.Decode(bytes, chars));
    }

    private static string Flush(Utf8StreamDecoder decoder)
    {
        var chars = new char[3];
        return new string(chars, 0, decoder.Flush(chars));
    }

    /// <summary>The whole characters at the start of the first <paramref name="length"/> bytes of valid UTF-8.</summary>
    private static string CompletePrefix(byte[] bytes, int length)
    {
        int pos = 0;
        while (pos < length)
        {
            int n = bytes[pos] >= 0xF0 ? 4 : bytes[pos] >= 0xE0 ? 3 : bytes[pos] >= 0xC0 ? 2 : 1;
            if (pos + n > length) break;
            pos += n;
        }
        return Encoding.UTF8.GetString(bytes, 0, pos);
    }

    [Fact]
    public void SplitsAtEveryPointGiveTheSameText()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(Mixed);
        for (int split = 0; split <= bytes.Length; split++)
        {
            var decoder = new Utf8StreamDecoder();
            string first = Feed(decoder, bytes.AsSpan(0, split));
            Assert.Equal(CompletePrefix(bytes, split), first);
            string rest = Feed(decoder, bytes.AsSpan(split));
            Assert.Equal(0, decoder.PendingByteCount);
            Assert.Equal(Mixed, first + rest + Flush(decoder));
        }
    }

    [Fact]
    public void ByteByByteEmitsEachCharacterWhenItCompletes()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(Mixed);
        var decoder = new Utf8StreamDecoder();
        var text = new StringBuilder();
        for (int i = 0; i < bytes.Length; i++)
        {
            text.Append(Feed(decoder, bytes.AsSpan(i, 1)));
            Assert.Equal(CompletePrefix(bytes, i + 1), text.ToString());
        }
        Assert.Equal(Mixed, text.ToString());
    }

    /// <summary>🦙 is not in the Llama vocabulary: it is four byte tokens, and the decoder prints it after the fourth.</summary>
    [Fact]
    public void EmojiOverByteTokensStreamsLikeDecode()
    {
        var t = TestTokenizers.Get(TestTokenizers.Llama2Gguf);
        int[] ids = t.Encode("🦙Ꙋ and 👍🏽!", addBos: false);
        Assert.Equal([29871, 243, 162, 169, 156, 237, 156, 141], ids[..8]);
        var decoder = new Utf8StreamDecoder();
        var outputs = ids.Select(id => Feed(decoder, t.DecodeBytes(id))).ToList();
        Assert.Equal(["", "", "", "🦙", "", "", "Ꙋ"], outputs[1..8]);
        Assert.Equal(" " + t.Decode(ids), string.Concat(outputs) + Flush(decoder)); // Decode also drops the prefix space
    }

    [Theory]
    [InlineData(new byte[] { 0xF0, 0x9F, 0x41 }, new[] { "", "", "\uFFFD\uFFFDA" })]  // cut short by 'A'
    [InlineData(new byte[] { 0xE0, 0x80, 0x80 }, new[] { "", "\uFFFD\uFFFD", "\uFFFD" })] // overlong: known bad at 0x80
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 }, new[] { "", "\uFFFD\uFFFD", "\uFFFD" })] // a surrogate's encoding
    [InlineData(new byte[] { 0xF4, 0x90 }, new[] { "", "\uFFFD\uFFFD" })]                 // above U+10FFFF
    [InlineData(new byte[] { 0xC0 }, new[] { "\uFFFD" })]                                  // never a valid lead
    [InlineData(new byte[] { 0x80, 0x41 }, new[] { "\uFFFD", "A" })]                       // stray continuation
    [InlineData(new byte[] { 0xE2, 0x82, 0xAC }, new[] { "", "", "€" })]
    public void InvalidBytesBecomeReplacementAsSoonAsKnown(byte[] bytes, string[] afterEachByte)
    {
        var decoder = new Utf8StreamDecoder();
        for (int i = 0; i < bytes.Length; i++)
            Assert.Equal(afterEachByte[i], Feed(decoder, bytes.AsSpan(i, 1)));
        Assert.Equal("", Flush(decoder));
    }

    [Fact]
    public void FlushReplacesEachHeldBackByte()
    {
        var decoder = new Utf8StreamDecoder();
        Assert.Equal("x", Feed(decoder, [(byte)'x', 0xF0, 0x9F, 0xA6]));
        Assert.Equal(3, decoder.PendingByteCount);
        Assert.Equal("\uFFFD\uFFFD\uFFFD", Flush(decoder));
        Assert.Equal("ok", Feed(decoder, "ok"u8)); // ready for a new stream
    }

    /// <summary>Random bytes in random chunks: the stream equals <see cref="SentencePieceTokenizer.Decode(ReadOnlySpan{int})"/>
    /// of the same bytes as byte tokens (sentencepiece's rule: one U+FFFD per byte that starts no valid character).</summary>
    [Fact]
    public void RandomChunksMatchTokenizerDecode()
    {
        var t = TestTokenizers.Get(TestTokenizers.Llama2Gguf);
        var random = new Random(7);
        byte[] alphabet = [0x41, 0x20, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0xA6, 0x99, 0x80, 0xBF, 0xC0, 0xED, 0xA0, 0xF4, 0x90, 0xFF];
        for (int round = 0; round < 500; round++)
        {
            byte[] bytes = Enumerable.Range(0, random.Next(0, 24)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray();
            string expected = t.Decode(bytes.Select(b => 3 + b).ToArray());
            var decoder = new Utf8StreamDecoder();
            var text = new StringBuilder();
            for (int pos = 0; pos < bytes.Length;)
            {
                int take = Math.Min(random.Next(1, 6), bytes.Length - pos);
                text.Append(Feed(decoder, bytes.AsSpan(pos, take)));
                pos += take;
            }
            text.Append(Flush(decoder));
            Assert.Equal(expected, text.ToString());
        }
    }

    [Fact]
    public void WritesToATextWriterInChunks()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(Mixed, 40)));
        var writer = new StringWriter();
        var decoder = new Utf8StreamDecoder();
        decoder.Write(bytes.AsSpan(0, 1001), writer);
        decoder.Write(bytes.AsSpan(1001), writer);
        decoder.Flush(writer);
        Assert.Equal(Encoding.UTF8.GetString(bytes), writer.ToString());
    }

    [Fact]
    public void StreamingAllocatesNothingPerToken()
    {
        var t = TestTokenizers.Get(TestTokenizers.Llama2Gguf);
        int[] ids = t.Encode("Streaming 🦙 text, ünïcödé and 日本語 over byte tokens.");
        var decoder = new Utf8StreamDecoder();
        var writer = new CountingWriter();
        Span<char> chars = stackalloc char[64];
        foreach (int id in ids) decoder.Write(t.DecodeBytes(id), writer); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int round = 0; round < 200; round++)
        {
            foreach (int id in ids)
            {
                decoder.Write(t.DecodeBytes(id), writer);
                writer.Count += decoder.Decode(t.DecodeBytes(id), chars);
            }
            decoder.Flush(writer);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(writer.Count > 0);
    }

    private sealed class CountingWriter : TextWriter
    {
        public long Count;
        public override Encoding Encoding => Encoding.UTF8;
        public override void Write(char value) => Count++;
        public override void Write(ReadOnlySpan<char> buffer) => Count += buffer.Length;
    }
}
