using Cria.Formats.Gguf;
using Cria.Tokenization;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Tokenization;

public class GgufTokenizerExportTests
{
    [Theory]
    [InlineData("llamacpp-vocab/ggml-vocab-llama-spm.gguf")]
    [InlineData("stories260K-gguf/stories260K-f32.gguf")]
    public void SentencePiece_exported_to_gguf_metadata_reloads_identically(string file)
    {
        using var gguf = GgufFile.Open(TestAssets.Path(file));
        var original = TokenizerLoader.FromGguf(gguf.Metadata, file);
        var exported = new GgufMetadata(original.ToGgufMetadata());
        var reloaded = TokenizerLoader.FromGguf(exported, "exported");
        Assert.Equal(original.VocabSize, reloaded.VocabSize);
        for (int id = 0; id < original.VocabSize; id++)
        {
            Assert.Equal(original.TokenText(id), reloaded.TokenText(id));
            Assert.Equal(original.GetTokenType(id), reloaded.GetTokenType(id));
        }
        Assert.Equal((original.BosId, original.EosId, original.UnknownId, original.AddBos), (reloaded.BosId, reloaded.EosId, reloaded.UnknownId, reloaded.AddBos));
        Assert.Equal(gguf.Metadata.GetArray<string>("tokenizer.ggml.tokens"), exported.GetArray<string>("tokenizer.ggml.tokens"));
        Assert.Equal(gguf.Metadata.GetArray<float>("tokenizer.ggml.scores"), exported.GetArray<float>("tokenizer.ggml.scores"));
        Assert.Equal(original.Encode("Hello world, 🦙 12345"), reloaded.Encode("Hello world, 🦙 12345"));
    }
}
