using System.Text.Json;
using Cria.Formats.Gguf;
using Cria.Tests.Infrastructure;
using Cria.Tokenization;

namespace Cria.Tests.Tokenization;

/// <summary>Meta's tokenizer.model, Hugging Face tokenizer.json (+ config) and GGUF give the same tokenizer, and
/// <see cref="TokenizerLoader.FromFile"/> tells the files apart by content.</summary>
public class Llama3LoaderTests
{
    [Fact]
    public void EveryLoaderGivesTheSameVocabulary()
    {
        var reference = Llama3TestTokenizers.Get(Llama3TestTokenizers.Model);
        Assert.Equal(128256, reference.VocabSize);
        Assert.Equal(128000, reference.RankCount);
        foreach (string loader in Llama3TestTokenizers.All)
        {
            var t = Llama3TestTokenizers.Get(loader);
            Assert.Equal((128256, 128000, 128000, 128001, -1), (t.VocabSize, t.RankCount, t.BosId, t.EosId, t.PadId));
            Assert.True(t.AddBos && !t.AddEos && t.IgnoreMerges, loader);
            for (int id = 0; id < 128000; id++)
            {
                if (!reference.DecodeBytes(id).SequenceEqual(t.DecodeBytes(id))) Assert.Fail($"{loader}: token {id} has other bytes");
                if (t.GetTokenType(id) != TokenType.Normal) Assert.Fail($"{loader}: token {id} is {t.GetTokenType(id)}");
            }
            Assert.Equal(reference.TokenText(128000), t.TokenText(128000));
        }
    }

    [Fact]
    public void EndOfGenerationFollowsTheNames()
    {
        Assert.Equal([128001, 128008, 128009], Llama3TestTokenizers.Get(Llama3TestTokenizers.Model).EndOfGenerationIds); // Meta: eos, eom, eot
        Assert.Equal([128001, 128008, 128009], Llama3TestTokenizers.Get(Llama3TestTokenizers.Gguf).EndOfGenerationIds);
        Assert.Equal([128001, 128009], Llama3TestTokenizers.Get(Llama3TestTokenizers.Json).EndOfGenerationIds); // 3.0: no eom
        Assert.Equal([128001, 128009], Llama3TestTokenizers.Get(Llama3TestTokenizers.GgufFromJson).EndOfGenerationIds);
        var llama30 = TiktokenTokenizer.FromTiktokenFile(Llama3TestTokenizers.ModelPath, Llama3SpecialTokenNames.Llama3);
        Assert.Equal([128001, 128009], llama30.EndOfGenerationIds);
        Assert.Equal("<|reserved_special_token_4|>", llama30.TokenText(128008));
        var llama32 = TiktokenTokenizer.FromTiktokenFile(Llama3TestTokenizers.ModelPath, Llama3SpecialTokenNames.Llama3_2);
        Assert.Equal(("<|step_id|>", "<|image|>", "<|reserved_special_token_245|>"), (llama32.TokenText(128005), llama32.TokenText(128011), llama32.TokenText(128255)));
        Assert.Equal([128001, 128008, 128009], llama32.EndOfGenerationIds);
    }

    /// <summary>The Llama 3.1 instruct config makes <c>&lt;|eot_id|&gt;</c> the EOS and brings its chat template, which GGUF carries on.</summary>
    [Fact]
    public void ConfigGivesEosAndChatTemplate()
    {
        var instruct = TiktokenTokenizer.FromHuggingFace(Llama3TestTokenizers.JsonPath, TestAssets.Path("llama3-tokenizer/hf-llama3_1/tokenizer_config.json"));
        Assert.Equal((128000, 128009), (instruct.BosId, instruct.EosId));
        Assert.Equal([128009, 128001], instruct.EndOfGenerationIds);
        Assert.Contains("add_generation_prompt", instruct.ChatTemplate);
        var reloaded = Llama3TestTokenizers.ReloadGguf(instruct, "instruct.gguf");
        Assert.Equal((instruct.EosId, instruct.ChatTemplate), (reloaded.EosId, reloaded.ChatTemplate));
        Assert.Equal(instruct.EndOfGenerationIds, reloaded.EndOfGenerationIds);
        Assert.StartsWith("{% set loop_messages", Llama3TestTokenizers.Get(Llama3TestTokenizers.Json).ChatTemplate);
        Assert.Null(Llama3TestTokenizers.Get(Llama3TestTokenizers.Model).ChatTemplate); // tokenizer.model holds none
    }

    /// <summary>The merges we derive from the ranks are exactly Meta's tokenizer.json merges, in order, and GGUF gets them.</summary>
    [Fact]
    public void DerivedMergesAreTheHuggingFaceMerges()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Llama3TestTokenizers.JsonPath));
        string[] expected = [.. doc.RootElement.GetProperty("model").GetProperty("merges").EnumerateArray().Select(m => m.GetString()!)];
        var metadata = new GgufMetadata(Llama3TestTokenizers.Get(Llama3TestTokenizers.Model).ToGgufMetadata());
        Assert.Equal(280147, expected.Length);
        Assert.Equal(expected, metadata.GetArray<string>("tokenizer.ggml.merges"));
        Assert.Equal("gpt2", metadata.GetString("tokenizer.ggml.model"));
        Assert.Equal("llama-bpe", metadata.GetString("tokenizer.ggml.pre"));
        Assert.Equal((128000L, 128001L, 128009L, 128008L), (metadata.GetInt("tokenizer.ggml.bos_token_id"), metadata.GetInt("tokenizer.ggml.eos_token_id"),
            metadata.GetInt("tokenizer.ggml.eot_token_id"), metadata.GetInt("tokenizer.ggml.eom_token_id")));
        Assert.Equal(true, metadata.GetBool("tokenizer.ggml.add_bos_token"));
        string[] tokens = metadata.GetArray<string>("tokenizer.ggml.tokens")!;
        long[] types = metadata.GetIntArray("tokenizer.ggml.token_type")!;
        Assert.Equal((128256, "Ġthe", "<|begin_of_text|>"), (tokens.Length, tokens[279], tokens[128000]));
        Assert.Equal((128000, 256), (types.Count(t => t == 1), types.Count(t => t == 3)));
        // the vocab of tokenizer.json, spelled the same way
        foreach (JsonProperty entry in doc.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject())
            if (tokens[entry.Value.GetInt32()] != entry.Name) Assert.Fail($"token {entry.Value.GetInt32()}: '{tokens[entry.Value.GetInt32()]}', tokenizer.json '{entry.Name}'");
    }

    [Fact]
    public void FromFileTellsTheFilesApartByContent()
    {
        var model = Assert.IsType<TiktokenTokenizer>(TokenizerLoader.FromFile(Llama3TestTokenizers.ModelPath, expectedVocabSize: 128256));
        Assert.Equal("<|eom_id|>", model.TokenText(128008)); // the 3.1 names by default
        var json = Assert.IsType<TiktokenTokenizer>(TokenizerLoader.FromFile(Llama3TestTokenizers.JsonPath));
        Assert.NotNull(json.ChatTemplate); // tokenizer_config.json beside it was read
        string gguf = VocabOnlyGguf.Write(model, Llama3TestTokenizers.ScratchPath("fromfile.gguf"));
        Assert.IsType<TiktokenTokenizer>(TokenizerLoader.FromFile(gguf));
        // a tiktoken file under another name is still one; a SentencePiece protobuf tokenizer.model goes to its own loader
        string renamed = Llama3TestTokenizers.ScratchPath("vocab.txt");
        File.Copy(Llama3TestTokenizers.ModelPath, renamed, overwrite: true);
        Assert.IsType<TiktokenTokenizer>(TokenizerLoader.FromFile(renamed));
        Assert.IsType<SentencePieceTokenizer>(TokenizerLoader.FromFile(TestAssets.Path("llama2-tokenizer/tokenizer.model")));
        Assert.IsType<SentencePieceTokenizer>(TokenizerLoader.FromFile(TestAssets.Path("stories260K/tok512.bin"), 512));
        // a SentencePiece-style tokenizer.json (no ByteLevel) is left to other loaders
        string spJson = Llama3TestTokenizers.ScratchPath("sp-tokenizer.json");
        File.WriteAllText(spJson, """{"model": {"type": "BPE", "byte_fallback": true, "vocab": {}, "merges": []}, "pre_tokenizer": {"type": "Metaspace"}}""");
        Assert.IsNotType<TiktokenTokenizer>(Record.Exception(() => TokenizerLoader.FromFile(spJson)) is null ? TokenizerLoader.FromFile(spJson) : null);
        var tooSmall = Assert.Throws<ModelFormatException>(() => TokenizerLoader.FromFile(Llama3TestTokenizers.ModelPath, expectedVocabSize: 32000));
        Assert.Contains("128256 ids but the model's vocabulary only 32000", tooSmall.Message);
    }

    [Fact]
    public void GgufTokenizerOfAModelFileIsRoutedHere()
    {
        var metadata = new GgufMetadata(Llama3TestTokenizers.Get(Llama3TestTokenizers.Model).ToGgufMetadata());
        Assert.IsType<TiktokenTokenizer>(TokenizerLoader.FromGguf(metadata, "model.gguf"));
    }
}
