using Cria.Tests.Infrastructure;

namespace Cria.Tests.Tokenization;

/// <summary>llama.cpp's own tokenizer test vectors for the Llama SPM vocab (<c>ggml-vocab-llama-spm.gguf.inp/.out</c>,
/// ids without BOS), through both Llama 2 loaders.</summary>
public class LlamaCppVocabTests
{
    private const string Separator = "\n__ggml_vocab_test__\n";

    private static readonly Lazy<(string Text, int[] Ids)[]> Vectors = new(Load);

    public static TheoryData<string, int> EveryVector()
    {
        var data = new TheoryData<string, int>();
        foreach (string loader in TestTokenizers.Llama2Loaders)
            for (int i = 0; i < Vectors.Value.Length; i++) data.Add(loader, i);
        return data;
    }

    [Fact]
    public void FilesHold46Vectors() => Assert.Equal(46, Vectors.Value.Length);

    [Theory]
    [MemberData(nameof(EveryVector))]
    public void EncodesLikeLlamaCpp(string loader, int index)
    {
        var (text, ids) = Vectors.Value[index];
        Assert.Equal(ids, TestTokenizers.Get(loader).Encode(text, addBos: false));
    }

    [Theory]
    [MemberData(nameof(EveryVector))]
    public void DecodesBackToText(string loader, int index)
    {
        var (text, ids) = Vectors.Value[index];
        Assert.Equal(text, TestTokenizers.Get(loader).Decode(ids));
    }

    private static (string, int[])[] Load()
    {
        string inp = File.ReadAllText(TestAssets.Path("llamacpp-vocab/ggml-vocab-llama-spm.gguf.inp"));
        string[] outLines = File.ReadAllText(TestAssets.Path("llamacpp-vocab/ggml-vocab-llama-spm.gguf.out")).Split('\n');
        string[] texts = inp.Split(Separator);
        if (texts[^1].Length == 0) texts = texts[..^1]; // every string, the last too, is followed by the separator
        var result = new (string, int[])[texts.Length];
        for (int i = 0; i < texts.Length; i++)
        {
            string line = outLines[i].Trim();
            int[] ids = line.Length == 0 ? [] : line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            result[i] = (texts[i], ids);
        }
        return result;
    }
}
