using System.Diagnostics;
using Cria.Formats.Gguf;
using Cria.Formats.HuggingFace;
using Cria.Formats.SafeTensors;
using Cria.Tensors;
using Cria.Tests.Formats.Gguf.Support;
using Cria.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Cria.Tests.Formats.HuggingFace;

/// <summary>Times converting a 30 MB F16 GGUF to HF in each dtype (including the flush to disk) and opening the result,
/// and prints MB/s (dotnet test --filter HuggingFaceWriterThroughput --logger "console;verbosity=detailed").</summary>
public class HuggingFaceWriterThroughputTests(ITestOutputHelper output)
{
    [Fact]
    public void Converts_tens_of_megabytes_per_second_and_opens_in_place()
    {
        using var dir = new TempDir();
        string ggufPath = dir.File("model.gguf");
        using (var vocabulary = GgufFile.Open(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf")))
            SyntheticLlama.Write(new SyntheticLlamaSpec("throughput", Dim: 512, Hidden: 1536, Layers: 6, Heads: 8, KvHeads: 4, MatrixType: GgmlType.F16), ggufPath,
                vocabulary.Metadata);
        using var gguf = GgufCheckpointReader.Open(ggufPath);
        HuggingFaceWriter.Write(gguf, dir.File("warm"), new HuggingFaceWriteOptions { DType = SafeTensorsDType.BF16 });
        foreach (var dtype in new[] { SafeTensorsDType.F16, SafeTensorsDType.BF16, SafeTensorsDType.F32 })
        {
            string folder = dir.File(dtype.ToString());
            var clock = Stopwatch.StartNew();
            var result = HuggingFaceWriter.Write(gguf, folder, new HuggingFaceWriteOptions { DType = dtype });
            var write = clock.Elapsed;
            clock.Restart();
            using var hf = HuggingFaceCheckpointReader.Open(folder, withTokenizer: false);
            var open = clock.Elapsed;
            output.WriteLine($"F16 GGUF → HF {dtype}: {result.TensorBytes / 1e6:F1} MB in {write.TotalMilliseconds:F0} ms ({result.TensorBytes / 1e6 / write.TotalSeconds:F0} MB/s); " +
                             $"opened in {open.TotalMilliseconds:F1} ms");
            Assert.True(write < TimeSpan.FromSeconds(60), $"{dtype}: {write}");
        }
    }
}
