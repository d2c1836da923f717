using System.Diagnostics;
using Cria.Formats.Gguf;
using Cria.Tests.Infrastructure;
using Cria.Tokenization;

namespace Cria.Tests.Tokenization;

/// <summary>sentencepiece tokenizer.model through Cria's own protobuf reader: the real models load exactly as their GGUF
/// and llama2.c forms do; what Cria cannot tokenise exactly is refused by name; truncated and hostile files fail fast
/// with a <see cref="ModelFormatException"/> naming the file, in bounded memory.</summary>
public sealed class SentencePieceModelReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-spm-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ReadsMetasLlama2Model()
    {
        var proto = TestTokenizers.Llama2ModelProto;
        Assert.Equal(32000, proto.Pieces.Length);
        Assert.Equal((2, true, "identity", 0, true, false, true), (proto.ModelType, proto.ByteFallback, proto.NormalizerName,
            proto.PrecompiledCharsmapBytes, proto.AddDummyPrefix, proto.RemoveExtraWhitespaces, proto.EscapeWhitespaces));
        var t = TestTokenizers.Get(TestTokenizers.Llama2Model);
        Assert.Equal((0, 1, 2, -1), (t.UnknownId, t.BosId, t.EosId, t.PadId));
        Assert.True(t.AddBos && !t.AddEos && t.AddSpacePrefix && t.HasByteFallback && !t.RemoveExtraWhitespaces);
    }

    /// <summary>Every piece, score and type of the protobuf equals llama.cpp's GGUF of the same vocabulary, and so does the
    /// tokenizer metadata the protobuf-loaded tokenizer exports.</summary>
    [Fact]
    public void Llama2ModelExportsTheGgufVocabularyExactly()
    {
        using var gguf = GgufFile.Open(TestAssets.Path("llamacpp-vocab/ggml-vocab-llama-spm.gguf"));
        var exported = new GgufMetadata(TestTokenizers.Get(TestTokenizers.Llama2Model).ToGgufMetadata());
        Assert.Equal(gguf.Metadata.GetArray<string>("tokenizer.ggml.tokens"), exported.GetArray<string>("tokenizer.ggml.tokens"));
        Assert.Equal(gguf.Metadata.GetArray<float>("tokenizer.ggml.scores"), exported.GetArray<float>("tokenizer.ggml.scores"));
        Assert.Equal(gguf.Metadata.GetIntArray("tokenizer.ggml.token_type"), exported.GetIntArray("tokenizer.ggml.token_type"));
        Assert.Equal("llama", exported.GetString("tokenizer.ggml.model"));
        foreach (string key in (string[])["tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id"])
            Assert.Equal(gguf.Metadata.GetInt(key), exported.GetInt(key));
        foreach (string key in (string[])["tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token"])
            Assert.Equal(gguf.Metadata.GetBool(key), exported.GetBool(key));
        Assert.Equal(32000, exported.GetArray<string>("tokenizer.ggml.tokens")!.Length);
    }

    [Fact]
    public void Tok512ModelHasTok512BinsVocabularyAndRemovesExtraSpaces()
    {
        var model = TestTokenizers.Get(TestTokenizers.Tok512Model);
        var bin = TestTokenizers.Get(TestTokenizers.Tok512Bin);
        Assert.Equal(512, model.VocabSize);
        for (int id = 0; id < 512; id++)
            Assert.Equal((bin.TokenText(id), bin.GetScore(id), bin.GetTokenType(id)), (model.TokenText(id), model.GetScore(id), model.GetTokenType(id)));
        Assert.True(model.RemoveExtraWhitespaces);
        Assert.Equal([1, 403, 407, 261, 378], model.Encode("Once upon a time"));
        Assert.Equal([1, 403, 407, 261, 378], model.Encode("  Once   upon a  time "));
    }

    [Fact]
    public void LoadsThroughTokenizerLoaderByContent()
    {
        // Named neither .model nor anything else: the content decides.
        string path = Path.Combine(_dir, "vocab.bin");
        File.Copy(TestAssets.Path("stories260K/tok512.model"), path);
        var t = Assert.IsType<SentencePieceTokenizer>(TokenizerLoader.FromFile(path, expectedVocabSize: 512));
        Assert.True(t.RemoveExtraWhitespaces);
        var e = Assert.Throws<ModelFormatException>(() => TokenizerLoader.FromFile(path, expectedVocabSize: 32000));
        Assert.Contains("512 pieces but the model's vocabulary size is 32000", e.Message);
        // Meta's layout: a folder with params.json, weights and tokenizer.model.
        Assert.True(((SentencePieceTokenizer)TokenizerLoader.FromFile(TestAssets.Path("stories260K-meta"))).RemoveExtraWhitespaces);
        Assert.Equal(32000, TokenizerLoader.FromFile(TestAssets.Path("llama2-tokenizer/tokenizer.model")).VocabSize);
        Assert.Equal(512, TokenizerLoader.FromFile(TestAssets.Path("stories260K/tok512.bin")).VocabSize); // llama2.c still
        Assert.Equal(32000, TokenizerLoader.FromFile(TestAssets.Path("llama2-tokenizer/tokenizer.bin")).VocabSize);
    }

    /// <summary>A tokenizer.bin whose max_token_length is 10 starts with 0x0A like a ModelProto; the next bytes tell them apart.</summary>
    [Theory]
    [InlineData(new byte[] { 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00 }, false)]
    [InlineData(new byte[] { 0x0A, 0x0E, 0x0A, 0x05, 0x3C }, true)]
    [InlineData(new byte[] { 0x0A, 0x80, 0x01, 0x0A, 0x05 }, true)]   // a first piece of 128 bytes
    [InlineData(new byte[] { 0x49, 0x51, 0x3D, 0x3D, 0x20, 0x30 }, false)] // "IQ== 0", tiktoken's first line
    [InlineData(new byte[] { 0x0A }, false)]
    public void ModelProtoIsRecognisedByItsFirstBytes(byte[] head, bool expected) =>
        Assert.Equal(expected, SentencePieceFiles.LooksLikeModelProto(head));

    [Fact]
    public void SmallModelLoads()
    {
        var t = Load(ProtoWriter.SmallModel());
        Assert.Equal(8, t.VocabSize);
        Assert.Equal([1, 6, 5], t.Encode("ab"));
        Assert.False(t.HasByteFallback);
    }

    public static TheoryData<string, string> Refused() => new()
    {
        { "unigram", "a sentencepiece Unigram model (trainer_spec.model_type 1); only BPE models" },
        { "no model_type", "a sentencepiece Unigram model" },
        { "charsmap", "the normalizer 'nmt_nfkc' applies a precompiled character map (3 bytes" },
        { "denormalizer", "denormalizer character map" },
        { "escape off", "escape_whitespaces is off" },
        { "suffix", "treat_whitespace_as_suffix is on" },
        { "byte fallback without bytes", "byte_fallback is on but the vocabulary has no byte pieces" },
        { "byte pieces without fallback", "has 1 byte pieces but trainer_spec.byte_fallback is off" },
        { "no unk", "exactly one UNKNOWN piece, '<unknown>' (trainer_spec.unk_piece)" },
        { "duplicate", "piece 'a' appears twice (ids 4 and 8)" },
        { "empty piece", "piece 8 is empty" },
        { "NaN", "piece 'x' has score NaN" },
        { "bad type", "piece 'x' has type 9, not a sentencepiece type" },
        { "bad byte piece", "has type BYTE but its text 'xy' is not <0xNN>" },
        { "no pieces", "has no pieces" },
        { "piece without text", "the piece has no text" },
        { "invalid UTF-8", "piece is not valid UTF-8" },
        { "score as varint", "score has wire type Varint, expected Fixed32" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void RefusesWhatItCannotTokeniseExactly(string what, string expected)
    {
        byte[] file = what switch
        {
            "unigram" => ProtoWriter.SmallModel((_, t, _) => t.Int(3, 1)),
            "no model_type" => new ProtoWriter().Message(1, ProtoWriter.Piece("<unk>", 0, 2)).ToArray(),
            "charsmap" => ProtoWriter.SmallModel((_, _, n) => n.String(1, "nmt_nfkc").Bytes(2, [1, 2, 3])),
            "denormalizer" => [.. ProtoWriter.SmallModel(), .. new ProtoWriter().Message(5, new ProtoWriter().Bytes(2, [1])).ToArray()],
            "escape off" => ProtoWriter.SmallModel((_, _, n) => n.Int(5, 0)),
            "suffix" => ProtoWriter.SmallModel((_, t, _) => t.Int(24, 1)),
            "byte fallback without bytes" => ProtoWriter.SmallModel((_, t, _) => t.Int(35, 1)),
            "byte pieces without fallback" => ProtoWriter.SmallModel((m, _, _) => m.Message(1, ProtoWriter.Piece("<0x41>", 0, 6))),
            "no unk" => ProtoWriter.SmallModel((_, t, _) => t.String(45, "<unknown>")),
            "duplicate" => ProtoWriter.SmallModel((m, _, _) => m.Message(1, ProtoWriter.Piece("a", 0))),
            "empty piece" => ProtoWriter.SmallModel((m, _, _) => m.Message(1, ProtoWriter.Piece("", 0))),
            "NaN" => ProtoWriter.SmallModel((m, _, _) => m.Message(1, ProtoWriter.Piece("x", float.NaN))),
            "bad type" => ProtoWriter.SmallModel((m, _, _) => m.Message(1, ProtoWriter.Piece("x", 0, 9))),
            "bad byte piece" => ProtoWriter.SmallModel((m, _, _) => m.Message(1, ProtoWriter.Piece("xy", 0, 6))),
            "no pieces" => new ProtoWriter().Message(2, new ProtoWriter().Int(3, 2)).ToArray(),
            "piece without text" => ProtoWriter.SmallModel((m, _, _) => m.Message(1, new ProtoWriter().Float(2, 0))),
            "invalid UTF-8" => ProtoWriter.SmallModel((m, _, _) => m.Message(1, new ProtoWriter().Bytes(1, [0xC3, 0x28]))),
            "score as varint" => ProtoWriter.SmallModel((m, _, _) => m.Message(1, new ProtoWriter().String(1, "x").Int(2, 1))),
            _ => throw new ArgumentException(what),
        };
        var e = Assert.Throws<ModelFormatException>(() => Load(file));
        Assert.StartsWith(Path.Combine(_dir, "tokenizer.model") + ": ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    public static TheoryData<string, string> Hostile() => new()
    {
        { "varint of 11 bytes", "varint is longer than" },
        { "varint over 64 bits", "varint is longer than 64 bits" },
        { "varint cut", "varint runs past the end" },
        { "length past the end", "has length 100, past the end of the ModelProto" },
        { "huge length", "has length 18446744073709551615, past the end" },
        { "huge length inside a piece", "pieces[0] at byte 3: piece has length 2147483647, past the end of the pieces[0]" },
        { "field 0", "field number 0 is not valid" },
        { "wire type 7", "has wire type 7, which does not exist" },
        { "fixed32 cut", "needs 4 bytes, 2 remain" },
        { "deep groups", "groups nested deeper than 64 levels" },
        { "unclosed group", "is not closed before the end" },
        { "stray end group", "end of group 9 without a start" },
        { "mismatched group", "group 9 is closed as group 10" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void HostileFilesFailFastInBoundedMemory(string what, string expected)
    {
        byte[] good = ProtoWriter.SmallModel();
        byte[] file = what switch
        {
            "varint of 11 bytes" => [0x78, .. Enumerable.Repeat((byte)0xFF, 10), 0x01], // an unknown varint field (15)
            "varint over 64 bits" => [0x78, .. Enumerable.Repeat((byte)0xFF, 9), 0x7F],
            "varint cut" => [0x78, 0xFF, 0xFF],
            "length past the end" => new ProtoWriter().Tag(1, 2).Varint(100).Raw(1, 2, 3).ToArray(),
            "huge length" => new ProtoWriter().Tag(1, 2).Varint(ulong.MaxValue).ToArray(),
            "huge length inside a piece" => new ProtoWriter().Bytes(1, new ProtoWriter().Tag(1, 2).Varint(int.MaxValue).Raw(0x41).ToArray()).ToArray(),
            "field 0" => [.. good, 0x00, 0x00],
            "wire type 7" => [.. good, 0x4F],
            "fixed32 cut" => [.. good, 0x4D, 0x01, 0x02],
            "deep groups" => [.. good, .. Enumerable.Repeat((byte)0x4B, 100_000)], // field 9, start group, 100000 times
            "unclosed group" => [.. good, 0x4B, 0x48, 0x01],
            "stray end group" => [.. good, 0x4C],
            "mismatched group" => [.. good, 0x4B, 0x54],
            _ => throw new ArgumentException(what),
        };
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<ModelFormatException>(() => SentencePieceModelReader.ParseProto(file, "hostile.model"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "allocated more than 1 MB");
        Assert.StartsWith("hostile.model: ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    /// <summary>Unknown fields of every wire type, a nested group included, are skipped as protobuf requires.</summary>
    [Fact]
    public void UnknownFieldsAreSkipped()
    {
        byte[] file = ProtoWriter.SmallModel((m, t, n) =>
        {
            m.Int(99, -5).Raw(0x99, 0x06, 1, 2, 3, 4, 5, 6, 7, 8).Bytes(100, [1, 2, 3]).Raw(0x4B, 0x53, 0x58, 0x01, 0x54, 0x4C); // varint, fixed64, bytes, groups
            t.Int(100, 1).Float(101, 2.5f);
            n.String(6, "rules.tsv");
        });
        Assert.Equal([1, 6, 5], Load(file).Encode("ab"));
    }

    /// <summary>tok512.model cut after every byte: an error naming the file, except at the one top-level boundary
    /// where the rest is a complete, shorter model (without its normalizer_spec, so sentencepiece's defaults).</summary>
    [Fact]
    public void EveryTruncationIsReported()
    {
        byte[] good = File.ReadAllBytes(TestAssets.Path("stories260K/tok512.model"));
        const int withoutNormalizer = 7508;
        Assert.Equal(0x1A, good[withoutNormalizer]); // normalizer_spec's tag
        for (int length = 0; length < good.Length; length++)
        {
            byte[] cut = good[..length];
            if (length == withoutNormalizer)
            {
                Assert.Equal(512, SentencePieceModelReader.ToTokenizer(SentencePieceModelReader.ParseProto(cut, "cut.model"), "cut.model", 512).VocabSize);
                continue;
            }
            var e = Assert.Throws<ModelFormatException>(() =>
                SentencePieceModelReader.ToTokenizer(SentencePieceModelReader.ParseProto(cut, "cut.model"), "cut.model", null));
            Assert.StartsWith("cut.model: ", e.Message);
        }
    }

    [Fact]
    public void TooLargeFileIsRefusedBeforeReading()
    {
        string path = Path.Combine(_dir, "big.model");
        using (var stream = File.Create(path)) stream.SetLength((256L << 20) + 1);
        var e = Assert.Throws<ModelFormatException>(() => SentencePieceTokenizer.FromSentencePieceModel(path));
        Assert.Contains("too large", e.Message);
    }

    private SentencePieceTokenizer Load(byte[] file)
    {
        string path = Path.Combine(_dir, "tokenizer.model");
        File.WriteAllBytes(path, file);
        return SentencePieceTokenizer.FromSentencePieceModel(path);
    }
}
