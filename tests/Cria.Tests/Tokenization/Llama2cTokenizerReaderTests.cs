using System.Buffers.Binary;
using System.Diagnostics;
using Cria.Tests.Infrastructure;
using Cria.Tokenization;

namespace Cria.Tests.Tokenization;

/// <summary>llama2.c tokenizer.bin: the real files load; truncated or hostile files fail fast with a
/// <see cref="ModelFormatException"/> that names the file.</summary>
public sealed class Llama2cTokenizerReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-tok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ReadsTheLlama2Vocabulary()
    {
        var t = TestTokenizers.Get(TestTokenizers.Llama2Bin);
        Assert.Equal(32000, t.VocabSize);
        Assert.Equal(("<unk>", TokenType.Unknown), (t.TokenText(0), t.GetTokenType(0)));
        Assert.Equal(("<s>", TokenType.Control), (t.TokenText(1), t.GetTokenType(1)));
        Assert.Equal(("</s>", TokenType.Control), (t.TokenText(2), t.GetTokenType(2)));
        Assert.Equal(("<0x0A>", TokenType.Byte), (t.TokenText(13), t.GetTokenType(13)));
        Assert.Equal(("▁▁", TokenType.Normal), (t.TokenText(259), t.GetTokenType(259))); // stored as two spaces
        Assert.Equal(-1e9f, t.GetScore(259));
    }

    [Fact]
    public void ChecksTheVocabSizeAgainstTheModel()
    {
        string path = TestAssets.Path("stories260K/tok512.bin");
        Assert.Equal(512, SentencePieceTokenizer.FromLlama2cFile(path, expectedVocabSize: 512).VocabSize);
        var e = Assert.Throws<ModelFormatException>(() => SentencePieceTokenizer.FromLlama2cFile(path, expectedVocabSize: 32000));
        Assert.Contains(path, e.Message);
        Assert.Contains("512 tokens", e.Message);
    }

    /// <summary>Cut after every byte: with the model's vocab size known, every cut is an error. Without it, a cut on a
    /// token boundary is a smaller vocabulary, valid if it has unk/BOS/EOS and none or all of the 256 byte pieces
    /// (ids 3..258); any other cut is an error.</summary>
    [Fact]
    public void EveryTruncationIsReportedQuickly()
    {
        byte[] good = File.ReadAllBytes(TestAssets.Path("stories260K/tok512.bin"));
        var boundaries = TokenBoundaries(good);
        const string name = "cut.bin";
        var clock = Stopwatch.StartNew();
        for (int length = 0; length < good.Length; length++)
        {
            byte[] cut = good[..length]; // parsed in memory: writing 6227 files would dominate the test
            var e = Assert.Throws<ModelFormatException>(() => Llama2cTokenizerReader.Parse(cut, name, expectedVocabSize: 512));
            Assert.StartsWith(name + ": ", e.Message);
            if (boundaries.IndexOf(length) is 3 or >= 259)
                Assert.Equal(boundaries.IndexOf(length), Llama2cTokenizerReader.Parse(cut, name, null).VocabSize);
            else
                Assert.Throws<ModelFormatException>(() => Llama2cTokenizerReader.Parse(cut, name, null));
        }
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"{good.Length} truncations took {clock.Elapsed}");
    }

    [Theory]
    [InlineData(2, "file is 2 bytes")]
    [InlineData(101, "truncated at token 7")]
    [InlineData(6001, "truncated in token 487")]
    public void TruncatedFilesOnDiskNameThePath(int length, string expected)
    {
        string path = Path.Combine(_dir, "cut.bin");
        File.WriteAllBytes(path, File.ReadAllBytes(TestAssets.Path("stories260K/tok512.bin"))[..length]);
        var e = Assert.Throws<ModelFormatException>(() => SentencePieceTokenizer.FromLlama2cFile(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    public static TheoryData<string, string> HostileFiles() => new()
    {
        { "empty", "0 bytes" },
        { "max_token_length -1", "max_token_length is -1" },
        { "max_token_length huge", "max_token_length is 2147483647" },
        { "length negative", "has length -5" },
        { "length huge", "has length 2147483647" },
        { "length over max_token_length", "has length 9" },
        { "length past the end", "run past the end" },
        { "NaN score", "score NaN" },
        { "invalid UTF-8", "not valid UTF-8" },
        { "two tokens", "at least unk, BOS and EOS" },
        { "byte token twice", "appears twice" },
    };

    [Theory]
    [MemberData(nameof(HostileFiles))]
    public void HostileFilesFailClearly(string name, string expectedMessage)
    {
        string path = Path.Combine(_dir, "hostile.bin");
        File.WriteAllBytes(path, Hostile(name));
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<ModelFormatException>(() => SentencePieceTokenizer.FromLlama2cFile(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(expectedMessage, e.Message);
        Assert.True(clock.ElapsedMilliseconds < 1000);
    }

    [Fact]
    public void MissingFileIsFileNotFound() =>
        Assert.Throws<FileNotFoundException>(() => SentencePieceTokenizer.FromLlama2cFile(Path.Combine(_dir, "none.bin")));

    private static byte[] Hostile(string name)
    {
        var tokens = new List<(float Score, byte[] Bytes)> { (0, "<unk>"u8.ToArray()), (0, "\n<s>\n"u8.ToArray()), (0, "\n</s>\n"u8.ToArray()), (-1, " a"u8.ToArray()) };
        int maxLength = 8;
        switch (name)
        {
            case "empty": return [];
            case "max_token_length -1": maxLength = -1; break;
            case "max_token_length huge": maxLength = int.MaxValue; break;
            case "NaN score": tokens[3] = (float.NaN, tokens[3].Bytes); break;
            case "invalid UTF-8": tokens[3] = (0, [0xE2, 0x28, 0xA1]); break;
            case "two tokens": tokens.RemoveRange(2, 2); break;
            case "byte token twice": tokens.Add((0, "<0x41>"u8.ToArray())); tokens.Add((0, "<0x41>"u8.ToArray())); break;
        }
        byte[] file = Write(maxLength, tokens);
        int lengthOffset = file.Length - tokens[^1].Bytes.Length - 4; // the last token's length field
        switch (name)
        {
            case "length negative": BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(lengthOffset), -5); break;
            case "length huge": BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(lengthOffset), int.MaxValue); break;
            case "length over max_token_length": BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(lengthOffset), 9); break;
            case "length past the end": BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(lengthOffset), 5); break;
        }
        return file;
    }

    private static byte[] Write(int maxTokenLength, List<(float Score, byte[] Bytes)> tokens)
    {
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        writer.Write(maxTokenLength);
        foreach (var (score, bytes) in tokens)
        {
            writer.Write(score);
            writer.Write(bytes.Length);
            writer.Write(bytes);
        }
        writer.Flush();
        return stream.ToArray();
    }

    /// <summary>File lengths at which a whole number of tokens ends: index i holds the end of token i-1 (0 → header only).</summary>
    private static List<int> TokenBoundaries(byte[] file)
    {
        var ends = new List<int> { 4 };
        for (int offset = 4; offset < file.Length;)
        {
            offset += 8 + BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(offset + 4));
            ends.Add(offset);
        }
        return ends;
    }
}
