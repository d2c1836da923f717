using System.Security.Cryptography;
using System.Text.Json;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Tokenization;

/// <summary>llama.cpp reads the GGUF that <c>ToGgufMetadata</c> writes and tokenizes as we do
/// (<c>Data/llamacpp-llama3-gguf-ids.json</c>, made by tools/llama3-vocab-fixtures with shared/tools/llamacpp-ref).</summary>
public class Llama3LlamaCppGgufTests
{
    private static readonly Lazy<JsonElement> Fixture = new(() => TestJson.Local("llamacpp-llama3-gguf-ids.json"));

    /// <summary>The file llama.cpp read is byte for byte the one we write today, so its ids apply to our GGUF.</summary>
    [Fact]
    public void WeStillWriteTheFileLlamaCppRead()
    {
        string path = VocabOnlyGguf.Write(Llama3TestTokenizers.Get(Llama3TestTokenizers.Model), Llama3TestTokenizers.ScratchPath("llamacpp-check.gguf"));
        Assert.Equal(Fixture.Value.GetProperty("gguf_sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
    }

    [Theory]
    [InlineData("llama_bpe_vectors", 46, false)]
    [InlineData("llama3_tokenizer_cases", 65, false)]
    [InlineData("special_tokens_parsed", 4, true)]
    public void EncodesAsLlamaCppDoes(string set, int count, bool parseSpecial)
    {
        JsonElement cases = Fixture.Value.GetProperty("sets").GetProperty(set);
        Assert.Equal(count, cases.GetArrayLength());
        foreach (string loader in (string[])[Llama3TestTokenizers.Gguf, Llama3TestTokenizers.Model])
        {
            var tokenizer = Llama3TestTokenizers.Get(loader);
            foreach (JsonElement c in cases.EnumerateArray())
                Assert.Equal(c.GetProperty("ids").Ids(), tokenizer.Encode(c.GetProperty("text").GetString()!, addBos: false, parseSpecial: parseSpecial));
        }
    }

    /// <summary>llama.cpp with our GGUF also gave tiktoken's ids for every tiktoken reference string a UTF-8 file can carry.</summary>
    [Fact]
    public void LlamaCppAgreedWithTiktokenOnTheReferenceStrings()
    {
        Assert.Equal(1793, Fixture.Value.GetProperty("tiktoken_cases_compared").GetInt32());
        Assert.Equal(0, Fixture.Value.GetProperty("tiktoken_cases_disagreeing").GetArrayLength());
    }
}
