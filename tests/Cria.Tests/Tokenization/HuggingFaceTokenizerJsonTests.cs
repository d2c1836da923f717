using System.Diagnostics;
using System.Text.Json.Nodes;
using Cria.Tests.Infrastructure;
using Cria.Tokenization;

namespace Cria.Tests.Tokenization;

/// <summary>Llama-2-style Hugging Face tokenizer.json: the file transformers' LlamaConverter would make from Meta's
/// tokenizer.model (see <see cref="HfLlamaConverter"/>) is the same tokenizer as the GGUF one — pieces, types, ids on
/// every Llama 2 vector (those run through <see cref="TestTokenizers.Llama2Loaders"/>) — and bad files fail clearly.</summary>
public sealed class HuggingFaceTokenizerJsonTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-hf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ConvertedVocabularyEqualsTheGgufOne()
    {
        var json = TestTokenizers.Get(TestTokenizers.Llama2HfJson);
        var gguf = TestTokenizers.Get(TestTokenizers.Llama2Gguf);
        Assert.Equal(32000, json.VocabSize);
        for (int id = 0; id < 32000; id++)
        {
            Assert.Equal(gguf.TokenText(id), json.TokenText(id));
            Assert.Equal(gguf.GetTokenType(id), json.GetTokenType(id));
            Assert.True(gguf.DecodeBytes(id, showSpecial: true).SequenceEqual(json.DecodeBytes(id, showSpecial: true)), $"bytes of {id}");
        }
        Assert.Equal((0, 1, 2, -1), (json.UnknownId, json.BosId, json.EosId, json.PadId));
        Assert.True(json.AddBos && !json.AddEos && json.AddSpacePrefix && json.AddSpacePrefixAfterSpecialTokens && json.HasByteFallback);
    }

    /// <summary>The real Llama 2 / TinyLlama tokenizer.json has 61249 merges beginning "▁ t", "e r", "i n", "▁ a", "e n"
    /// (llama.cpp's load log of GGUFs converted from it prints tokenizer.ggml.merges arr[str,61249] = ["▁ t", "e r", "i n",
    /// "▁ a", "e n...): the converter helper reproduces both.</summary>
    [Fact]
    public void ConverterMakesTheMergesOfTheRealFile()
    {
        var proto = TestTokenizers.Llama2ModelProto;
        var merges = HfLlamaConverter.GenerateMerges(proto.Pieces, proto.Scores);
        Assert.Equal(61249, merges.Count);
        Assert.Equal([("\u2581", "t"), ("e", "r"), ("i", "n"), ("\u2581", "a"), ("e", "n")], merges.Take(5));
    }

    /// <summary>Scores are −(merge rank): not sentencepiece's numbers, but the same order on every piece a merge makes.</summary>
    [Fact]
    public void MergeRankScoresKeepSentencePiecesOrder()
    {
        var json = TestTokenizers.Get(TestTokenizers.Llama2HfJson);
        var gguf = TestTokenizers.Get(TestTokenizers.Llama2Gguf);
        int[] merged = Enumerable.Range(0, 32000).Where(id => json.GetScore(id) < 0).OrderByDescending(json.GetScore).ToArray();
        Assert.True(merged.Length > 29000, $"{merged.Length} merged pieces"); // all but rank 0 (score 0) and the single characters
        Assert.Equal(merged.Length, merged.Select(json.GetScore).Distinct().Count()); // one rank per piece
        for (int i = 1; i < merged.Length; i++)
            Assert.True(gguf.GetScore(merged[i - 1]) >= gguf.GetScore(merged[i]), $"{json.TokenText(merged[i - 1])} before {json.TokenText(merged[i])}");
    }

    /// <summary>The other forms a Llama tokenizer.json takes: merges as pairs (tokenizers ≥ 0.20), and the non-legacy
    /// Metaspace pre-tokenizer; both give sentencepiece's ids on all 66 cases and llama.cpp's 46.</summary>
    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void OtherLayoutsGiveTheSameIds(bool legacy, bool mergesAsPairs)
    {
        var t = TestTokenizers.FromHfJson(TestTokenizers.Llama2HfTokenizerJson(legacy, mergesAsPairs), HfLlamaConverter.TokenizerConfig(legacy));
        var gguf = TestTokenizers.Get(TestTokenizers.Llama2Gguf);
        var cases = TestJson.Asset("llama2-tokenizer/tokenizer.model.sentencepiece-cases.json").GetProperty("cases");
        int count = 0;
        foreach (var c in cases.EnumerateArray())
        {
            Assert.Equal(c.GetProperty("ids").Ids(), t.Encode(c.GetProperty("text").GetString()!, addBos: false));
            count++;
        }
        foreach (string text in File.ReadAllText(TestAssets.Path("llamacpp-vocab/ggml-vocab-llama-spm.gguf.inp")).Split("\n__ggml_vocab_test__\n"))
        {
            Assert.Equal(gguf.Encode(text), t.Encode(text));
            count++;
        }
        Assert.Equal(66 + 47, count);
    }

    [Fact]
    public void TokenizerConfigSetsFlagsAndSpecialTokens()
    {
        var config = HfLlamaConverter.TokenizerConfig(addBos: false, addEos: true);
        config["pad_token"] = "<unk>";
        var t = TestTokenizers.FromHfJson(TestTokenizers.Llama2HfTokenizerJson(), config);
        Assert.Equal([15043, 2], t.Encode("Hello"));
        Assert.Equal(0, t.PadId);
        // Without a config, the post-processor's template says BOS first.
        var bare = TestTokenizers.FromHfJson(TestTokenizers.Llama2HfTokenizerJson(), null);
        Assert.Equal([1, 15043], bare.Encode("Hello"));
    }

    /// <summary>Added tokens past the vocabulary (a fine-tune's &lt;pad&gt;) extend it; non-special ones are user-defined.</summary>
    [Fact]
    public void AddedTokensExtendTheVocabulary()
    {
        var json = TestTokenizers.Llama2HfTokenizerJson();
        json["added_tokens"]!.AsArray().Add(new JsonObject { ["id"] = 32000, ["content"] = "<pad>", ["special"] = true });
        json["added_tokens"]!.AsArray().Add(new JsonObject { ["id"] = 32001, ["content"] = "<tool>", ["special"] = false });
        var config = HfLlamaConverter.TokenizerConfig();
        config["pad_token"] = "<pad>";
        var t = TestTokenizers.FromHfJson(json, config);
        Assert.Equal((32002, 32000), (t.VocabSize, t.PadId));
        Assert.Equal((TokenType.Control, TokenType.UserDefined), (t.GetTokenType(32000), t.GetTokenType(32001)));
        Assert.Equal([1, 15043, 32001, 32000], t.Encode("Hello<tool><pad>", addBos: true, parseSpecial: true));
        Assert.Equal([1, 15043, 32001, 29966, 8305, 29958], t.Encode("Hello<tool><pad>")); // unparsed: sentencepiece's rule, a user-defined piece matches whole and adds no '▁' after it
    }

    [Fact]
    public void LoadsFromAFolderAndByFileName()
    {
        HfLlamaConverter.Write(_dir, TestTokenizers.Llama2HfTokenizerJson(), HfLlamaConverter.TokenizerConfig(addEos: true));
        File.Copy(TestAssets.Path("llama2-tokenizer/tokenizer.model"), Path.Combine(_dir, "tokenizer.model"));
        var fromFolder = Assert.IsType<SentencePieceTokenizer>(TokenizerLoader.FromFile(_dir, expectedVocabSize: 32000));
        Assert.True(fromFolder.AddEos);                      // tokenizer.json (with its config) is preferred in a folder
        Assert.Equal(-1f, fromFolder.GetScore(259) is < 0 and > -1e8f ? -1f : 0f); // a merge-rank score, not sentencepiece's -1e9
        Assert.Equal([1, 15043, 2], fromFolder.Encode("Hello"));
        var fromModel = Assert.IsType<SentencePieceTokenizer>(TokenizerLoader.FromFile(Path.Combine(_dir, "tokenizer.model")));
        Assert.Equal(-1e9f, fromModel.GetScore(259));
        var e = Assert.Throws<ModelFormatException>(() => TokenizerLoader.FromFile(Path.Combine(_dir, "tokenizer.json"), expectedVocabSize: 512));
        Assert.Contains("has 32000 tokens but the model's vocabulary size is 512", e.Message);
        Directory.CreateDirectory(Path.Combine(_dir, "empty"));
        var none = Assert.Throws<CriaException>(() => TokenizerLoader.FromFile(Path.Combine(_dir, "empty")));
        Assert.Contains("holds none of tokenizer.json, tokenizer.model", none.Message);
    }

    /// <summary>Llama 3's files share the names but not the content: they are not taken for SentencePiece ones.</summary>
    [Theory]
    [InlineData("llama3-tokenizer/hf/tokenizer.json")]
    [InlineData("llama3-tokenizer/tokenizer.model")]
    public void Llama3FilesAreLeftToTheirOwnLoader(string file) =>
        Assert.Null(SentencePieceFiles.TryLoad(TestAssets.Path(file), null));

    public static TheoryData<string, string> BadFiles() => new()
    {
        { "truncated JSON", "malformed JSON (line 1" },
        { "not an object", "the top level is not a JSON object" },
        { "no model", "'model' is missing" },
        { "unigram", "model type 'Unigram' is not supported" },
        { "no merges", "'merges' is missing" },
        { "merge outside the vocabulary", "merge 0 ('\u2581' 'zzz') uses a piece that is not in the vocabulary" },
        { "merge result outside the vocabulary", "merge 0 ('\u2581' '\u2581t') makes '\u2581\u2581t', which is not in the vocabulary" },
        { "malformed merge", "merge 0 is \"\u2581t\", not \"left right\"" },
        { "incomplete merges", "the merges are not those of a SentencePiece vocabulary" },
        { "id gap", "token ids are not 0..32000: id 2147483647 is used" },
        { "negative id", "is -3, not a token id" },
        { "two ids for a piece", "model.vocab gives id 5 to both" },
        { "NFKC", "normalizer {\"type\":\"NFKC\"} is not supported" },
        { "no space rule", "spaces are not turned into '\u2581'" },
        { "Metaspace split", "splits the text at spaces" },
        { "dropout", "model.dropout is set" },
        { "bad bos in config", "tokenizer_config.json: bos_token '<BOS>' is not in the vocabulary" },
        { "bad flag in config", "tokenizer_config.json: 'add_bos_token' is \"yes\", not true or false" },
        { "added token conflict", "added token 1 is '<S>' but model.vocab has '<s>' there" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void BadFilesFailClearly(string what, string expected)
    {
        JsonObject json = TestTokenizers.Llama2HfTokenizerJson();
        JsonObject config = HfLlamaConverter.TokenizerConfig();
        JsonObject model = json["model"]!.AsObject();
        string? raw = null;
        switch (what)
        {
            case "truncated JSON": raw = json.ToJsonString()[..1000]; break;
            case "not an object": raw = "[1, 2]"; break;
            case "no model": json.Remove("model"); break;
            case "unigram": model["type"] = "Unigram"; break;
            case "no merges": model.Remove("merges"); break;
            case "merge outside the vocabulary": model["merges"]!.AsArray().Insert(0, "\u2581 zzz"); break;
            case "merge result outside the vocabulary": model["merges"]!.AsArray().Insert(0, "\u2581 \u2581t"); break;
            case "malformed merge": model["merges"]!.AsArray().Insert(0, "\u2581t"); break;
            case "incomplete merges": // drop one of the several merges that make the same piece
                var merges = model["merges"]!.AsArray();
                int second = merges.Select((m, i) => (Piece: m!.GetValue<string>().Replace(" ", ""), i)).GroupBy(m => m.Piece).First(g => g.Count() > 1).Last().i;
                merges.RemoveAt(second);
                break;
            case "id gap": model["vocab"]!["zzz"] = int.MaxValue; break;
            case "negative id": model["vocab"]!["zzz"] = -3; break;
            case "two ids for a piece": model["vocab"]!["zzz"] = 5; break;
            case "NFKC": json["normalizer"] = new JsonObject { ["type"] = "NFKC" }; break;
            case "no space rule": json["normalizer"] = null; break;
            case "Metaspace split":
                json["normalizer"] = null;
                json["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "\u2581", ["prepend_scheme"] = "always" };
                break;
            case "dropout": model["dropout"] = 0.1; break;
            case "bad bos in config": config["bos_token"] = "<BOS>"; break;
            case "bad flag in config": config["add_bos_token"] = "yes"; break;
            case "added token conflict": json["added_tokens"]![1]!["content"] = "<S>"; break;
            default: throw new ArgumentException(what);
        }
        HfLlamaConverter.Write(_dir, json, config);
        string path = Path.Combine(_dir, "tokenizer.json");
        if (raw != null) File.WriteAllText(path, raw);
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<ModelFormatException>(() => SentencePieceTokenizer.FromHuggingFaceJson(path));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void DeeplyNestedJsonIsRefused()
    {
        string path = Path.Combine(_dir, "tokenizer.json");
        File.WriteAllText(path, "{\"model\":" + new string('[', 10_000) + new string(']', 10_000) + "}");
        var e = Assert.Throws<ModelFormatException>(() => TokenizerLoader.FromFile(path));
        Assert.Contains("malformed JSON", e.Message);
    }
}
