using System.Text;
using BenchmarkDotNet.Attributes;
using Cria.Tokenization;
using Ml = Microsoft.ML.Tokenizers;

namespace Cria.Bench;

/// <summary>Llama 2 (SentencePiece BPE) encode throughput, Cria against Microsoft.ML.Tokenizers 2.0.1's
/// <c>LlamaTokenizer</c>, both from Meta's tokenizer.model, on the same 1 MB corpora as the Llama 3 benchmark.
/// <c>dotnet run -c Release --project bench/Cria.Bench -- --filter '*SentencePieceTokenizer*'</c></summary>
[MemoryDiagnoser]
[Config(typeof(MegabytesPerSecondConfig))]
public class SentencePieceTokenizerBenchmarks : IBytesPerOperation
{
    private Tokenizer _cria = null!;
    private Ml.LlamaTokenizer _microsoft = null!;
    private string _text = "";

    [Params("english", "mixed")]
    public string Corpus { get; set; } = "english";

    public long BytesPerOperation => Encoding.UTF8.GetByteCount(Llama3TokenizerBenchmarks.Text(Corpus));

    [GlobalSetup]
    public void Setup()
    {
        string model = Path.Combine(Llama3TokenizerBenchmarks.AssetsFolder(), "llama2-tokenizer", "tokenizer.model");
        _cria = TokenizerLoader.FromFile(model);
        using (var stream = File.OpenRead(model)) _microsoft = Ml.LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
        _text = Llama3TokenizerBenchmarks.Text(Corpus);
        int[] a = _cria.Encode(_text, addBos: false), b = [.. _microsoft.EncodeToIds(_text)];
        Console.WriteLine($"// {Corpus}: {Encoding.UTF8.GetByteCount(_text)} bytes, {a.Length} ids (Microsoft {b.Length})");
    }

    [Benchmark(Baseline = true)]
    public int MicrosoftMlTokenizers() => _microsoft.EncodeToIds(_text).Count;

    [Benchmark]
    public int Cria() => _cria.Encode(_text, addBos: false).Length;
}
