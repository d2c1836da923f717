using System.Text.Json;
using Cria.Tests.Infrastructure;
using Cria.Tokenization;

namespace Cria.Tests.Tokenization;

/// <summary>Every Llama 3 vector in the shared assets through every loader: the 65 cases two independent
/// implementations agree on (<c>llama3-tokenizer-cases.json</c>), llama.cpp's 46 <c>llama-bpe</c> strings, npm
/// llama3-tokenizer-js 1.2.0's built-in tests (BOS/EOS options, special tokens with the 3.1 names) and Meta's
/// <c>llama-models</c> tokenizer tests.</summary>
public class Llama3CasesTests
{
    private static readonly Lazy<JsonElement> Cases = new(() => TestJson.Asset("llama3-tokenizer/llama3-tokenizer-cases.json"));
    private static readonly Lazy<JsonElement> JsCases = new(() => TestJson.Asset("llama3-tokenizer/llama3-tokenizer-js-1.2.0-cases.json"));
    private static readonly Lazy<JsonElement> MetaCases = new(() => TestJson.Asset("llama3-tokenizer/meta-llama-models-test-cases.json"));
    private static readonly Lazy<(string Text, int[] Ids)[]> LlamaCpp = new(LoadLlamaCppVectors);

    public static TheoryData<string, int> CaseRows() => Rows(Llama3TestTokenizers.All, Cases.Value.GetProperty("cases").GetArrayLength());

    public static TheoryData<string, int> LlamaCppRows() => Rows(Llama3TestTokenizers.All, LlamaCpp.Value.Length);

    public static TheoryData<string, int> JsEncodeRows() => Rows(Llama3TestTokenizers.WithLlama31Names, JsCases.Value.GetProperty("encode").GetArrayLength());

    public static TheoryData<string, int> JsDecodeRows() => Rows(Llama3TestTokenizers.WithLlama31Names, JsCases.Value.GetProperty("decode").GetArrayLength());

    public static TheoryData<string> Loaders()
    {
        var data = new TheoryData<string>();
        foreach (string loader in Llama3TestTokenizers.All) data.Add(loader);
        return data;
    }

    [Fact]
    public void FilesHoldTheExpectedNumberOfVectors()
    {
        Assert.Equal(65, Cases.Value.GetProperty("cases").GetArrayLength());
        Assert.Equal(46, LlamaCpp.Value.Length);
        Assert.Equal(21, JsCases.Value.GetProperty("encode").GetArrayLength());
        Assert.Equal(21, JsCases.Value.GetProperty("decode").GetArrayLength());
    }

    [Fact]
    public void PatternIsTheOneTheCasesWereMadeWith() =>
        Assert.Equal(Llama3PreTokenizer.Pattern, Cases.Value.GetProperty("pattern").GetString());

    [Theory]
    [MemberData(nameof(CaseRows))]
    public void EncodesAndDecodesTheCases(string loader, int index)
    {
        JsonElement c = Cases.Value.GetProperty("cases")[index];
        string text = c.GetProperty("text").GetString()!;
        int[] ids = c.GetProperty("ids").Ids();
        var tokenizer = Llama3TestTokenizers.Get(loader);
        Assert.Equal(ids, tokenizer.Encode(text, addBos: false));
        Assert.Equal(ids, tokenizer.Encode(text, addBos: false, parseSpecial: true)); // no special-token text in them
        Assert.Equal(text, tokenizer.Decode(ids));
    }

    [Theory]
    [MemberData(nameof(LlamaCppRows))]
    public void EncodesLikeLlamaCpp(string loader, int index)
    {
        var (text, ids) = LlamaCpp.Value[index];
        var tokenizer = Llama3TestTokenizers.Get(loader);
        Assert.Equal(ids, tokenizer.Encode(text, addBos: false));
        Assert.Equal(text, tokenizer.Decode(ids));
    }

    /// <summary>llama3-tokenizer-js encodes with BOS and EOS unless told otherwise, and parses special-token text.</summary>
    [Theory]
    [MemberData(nameof(JsEncodeRows))]
    public void EncodesLikeLlama3TokenizerJs(string loader, int index)
    {
        JsonElement c = JsCases.Value.GetProperty("encode")[index];
        JsonElement options = c.GetProperty("options");
        bool bos = options.ValueKind == JsonValueKind.Null || options.GetProperty("bos").GetBoolean();
        bool eos = options.ValueKind == JsonValueKind.Null || options.GetProperty("eos").GetBoolean();
        Assert.Equal(c.GetProperty("ids").Ids(), Llama3TestTokenizers.Get(loader).Encode(c.GetProperty("text").GetString()!, bos, eos, parseSpecial: true));
    }

    /// <summary>llama3-tokenizer-js decodes special tokens as their text.</summary>
    [Theory]
    [MemberData(nameof(JsDecodeRows))]
    public void DecodesLikeLlama3TokenizerJs(string loader, int index)
    {
        JsonElement c = JsCases.Value.GetProperty("decode")[index];
        Assert.Equal(c.GetProperty("text").GetString(), Llama3TestTokenizers.Get(loader).Decode(c.GetProperty("ids").Ids(), showSpecial: true));
    }

    /// <summary>The js cases without special-token text hold for the Llama 3.0 names too.</summary>
    [Theory]
    [MemberData(nameof(Loaders))]
    public void OrdinaryJsCasesHoldForEveryLoader(string loader)
    {
        var tokenizer = Llama3TestTokenizers.Get(loader);
        int checkedCases = 0;
        foreach (JsonElement c in JsCases.Value.GetProperty("encode").EnumerateArray())
        {
            string text = c.GetProperty("text").GetString()!;
            if (text.Contains("<|")) continue;
            JsonElement options = c.GetProperty("options");
            bool bos = options.ValueKind == JsonValueKind.Null || options.GetProperty("bos").GetBoolean();
            bool eos = options.ValueKind == JsonValueKind.Null || options.GetProperty("eos").GetBoolean();
            Assert.Equal(c.GetProperty("ids").Ids(), tokenizer.Encode(text, bos, eos));
            checkedCases++;
        }
        Assert.Equal(19, checkedCases);
    }

    /// <summary>Special-token text is ordinary text unless parsing is asked for.</summary>
    [Theory]
    [MemberData(nameof(Loaders))]
    public void SpecialTokenTextIsOrdinaryTextByDefault(string loader)
    {
        var tokenizer = Llama3TestTokenizers.Get(loader);
        const string text = "<|start_header_id|>user<|end_header_id|>";
        int[] plain = tokenizer.Encode(text, addBos: false);
        Assert.DoesNotContain(plain, id => id >= 128000);
        Assert.Equal(text, tokenizer.Decode(plain));
        Assert.Equal([128006, 882, 128007], tokenizer.Encode(text, addBos: false, parseSpecial: true));
        Assert.Equal("user", tokenizer.Decode([128006, 882, 128007]));
        Assert.Equal(text, tokenizer.Decode([128006, 882, 128007], showSpecial: true));
    }

    [Theory]
    [MemberData(nameof(Loaders))]
    public void MatchesMetaLlamaModelsTests(string loader)
    {
        var tokenizer = Llama3TestTokenizers.Get(loader);
        JsonElement meta = MetaCases.Value;
        foreach (JsonElement c in meta.GetProperty("encode_bos_eos").EnumerateArray())
            Assert.Equal(c.GetProperty("ids").Ids(), tokenizer.Encode(c.GetProperty("text").GetString()!, addBos: true, addEos: true));
        foreach (JsonElement c in meta.GetProperty("decode").EnumerateArray())
            Assert.Equal(c.GetProperty("text").GetString(), tokenizer.Decode(c.GetProperty("ids").Ids(), showSpecial: true));

        // ChatFormat.encode_message / encode_dialog_prompt, built from the tokenizer's encode as Meta's chat_format.py does.
        int Special(string name) => tokenizer.SpecialTokenId(name);
        List<int> Header(string role) =>
            [Special("<|start_header_id|>"), .. tokenizer.Encode(role, addBos: false), Special("<|end_header_id|>"), .. tokenizer.Encode("\n\n", addBos: false)];
        List<int> Message(JsonElement m) =>
            [.. Header(m.GetProperty("role").GetString()!), .. tokenizer.Encode(m.GetProperty("content").GetString()!.Trim(), addBos: false), Special(Llama3SpecialTokens.EndOfTurn)];
        JsonElement user = meta.GetProperty("encode_message_user");
        Assert.Equal(user.GetProperty("ids").Ids(), Message(user));
        JsonElement dialog = meta.GetProperty("encode_dialog_prompt");
        List<int> prompt = [tokenizer.BosId];
        foreach (JsonElement m in dialog.GetProperty("messages").EnumerateArray()) prompt.AddRange(Message(m));
        prompt.AddRange(Header("assistant"));
        Assert.Equal(dialog.GetProperty("ids").Ids(), prompt);
    }

    [Fact]
    public void SpecialTokenNameTablesAreTheReleases()
    {
        JsonElement tables = Cases.Value.GetProperty("special_tokens");
        Assert.Equal(Strings(tables.GetProperty("llama3_0")), Llama3SpecialTokens.Names(Llama3SpecialTokenNames.Llama3));
        Assert.Equal(Strings(tables.GetProperty("llama3_1")), Llama3SpecialTokens.Names(Llama3SpecialTokenNames.Llama3_1));
        Assert.Equal(Strings(tables.GetProperty("llama3_2")), Llama3SpecialTokens.Names(Llama3SpecialTokenNames.Llama3_2));
    }

    [Theory]
    [InlineData(Llama3TestTokenizers.Model, "llama3_1")]
    [InlineData(Llama3TestTokenizers.Gguf, "llama3_1")]
    [InlineData(Llama3TestTokenizers.Json31, "llama3_1")]
    [InlineData(Llama3TestTokenizers.Json, "llama3_0")]
    [InlineData(Llama3TestTokenizers.GgufFromJson, "llama3_0")]
    public void LoadersNameTheSpecialTokens(string loader, string table)
    {
        var tokenizer = Llama3TestTokenizers.Get(loader);
        string[] expected = Strings(Cases.Value.GetProperty("special_tokens").GetProperty(table));
        for (int i = 0; i < 256; i++)
        {
            Assert.Equal(expected[i], tokenizer.TokenText(128000 + i));
            Assert.Equal(TokenType.Control, tokenizer.GetTokenType(128000 + i));
        }
    }

    private static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    private static TheoryData<string, int> Rows(string[] loaders, int count)
    {
        var data = new TheoryData<string, int>();
        foreach (string loader in loaders)
            for (int i = 0; i < count; i++) data.Add(loader, i);
        return data;
    }

    private static (string, int[])[] LoadLlamaCppVectors()
    {
        string inp = File.ReadAllText(TestAssets.Path("llamacpp-vocab/ggml-vocab-llama-bpe.gguf.inp"));
        string[] outLines = File.ReadAllText(TestAssets.Path("llamacpp-vocab/ggml-vocab-llama-bpe.gguf.out")).Split('\n');
        string[] texts = inp.Split("\n__ggml_vocab_test__\n");
        if (texts[^1].Length == 0) texts = texts[..^1];
        var result = new (string, int[])[texts.Length];
        for (int i = 0; i < texts.Length; i++)
        {
            string line = outLines[i].Trim();
            result[i] = (texts[i], line.Length == 0 ? [] : line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray());
        }
        return result;
    }
}
