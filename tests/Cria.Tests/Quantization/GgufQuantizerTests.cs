using Cria.Quantization;
using Cria.Tests.Formats.Gguf.Support;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Quantization;

/// <summary>The streaming quantiser as a library: cancellation and the reports it gives.</summary>
public sealed class GgufQuantizerTests
{
    [Fact]
    public void Cancelling_midway_leaves_no_output_and_no_temporary_file()
    {
        using var dir = new TempDir();
        using var cancellation = new CancellationTokenSource();
        int written = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => GgufQuantizer.Quantize(
            TestAssets.Path("synthetic-k256-gguf/synth-k256-f32.gguf"), dir.File("out.gguf"),
            new QuantizeOptions { FileType = LlamaFileType.MostlyQ4_K_M, Threads = 2 },
            onTensor: _ => { if (++written == 3) cancellation.Cancel(); }, cancellationToken: cancellation.Token));
        Assert.Equal(3, written);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Reports_every_tensor_in_order_with_sizes()
    {
        using var dir = new TempDir();
        var reports = new List<QuantizedTensorReport>();
        QuantizationPlan? seen = null;
        var summary = GgufQuantizer.Quantize(TestAssets.Path("synthetic-k256-gguf/synth-k256-f32.gguf"), dir.File("out.gguf"),
            new QuantizeOptions { FileType = LlamaFileType.MostlyQ8_0 }, plan => seen = plan, reports.Add);
        Assert.Same(summary.Plan, seen);
        Assert.Equal(Enumerable.Range(1, 21), reports.Select(r => r.Index));
        Assert.All(reports, r => Assert.Equal(21, r.Count));
        Assert.Equal(summary.InputDataBytes, reports.Sum(r => r.SourceBytes));
        Assert.Equal(summary.OutputDataBytes, reports.Sum(r => r.OutputBytes));
        var q = reports.Single(r => r.Tensor.Source.Name == "blk.0.attn_q.weight");
        Assert.Equal((256L * 256 * 4, 256L * 256 / 32 * 34), (q.SourceBytes, q.OutputBytes));
        Assert.Equal(new FileInfo(dir.File("out.gguf")).Length, summary.OutputFileBytes);
    }
}
