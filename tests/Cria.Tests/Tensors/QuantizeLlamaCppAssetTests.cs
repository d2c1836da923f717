using Cria.Formats.Gguf;
using Cria.Tensors;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Tensors;

/// <summary>Quantising each float32 tensor of the assets' source files gives exactly the blocks llama-quantize stored:
/// the synthetic-k256 files made with <c>--pure</c> (Q8_0, Q6_K, Q5_K, Q4_K, Q4_0, Q3_K, Q2_K), F16 and the Q4_K_M mix,
/// and stories260K's Q4_K_M fallback mix (Q5_0, Q8_0, F16) — llama.cpp c392e50, per the assets' PROVENANCE.md —
/// with the eight-lane K-quant searches and with the scalar ones.</summary>
[Collection(SimdTierCollection.Name)]
public sealed unsafe class QuantizeLlamaCppAssetTests
{
    public static TheoryData<string, string, string> Files() => new()
    {
        { "synthetic-k256-gguf", "synth-k256-f32.gguf", "synth-k256-Q8_0.gguf" },
        { "synthetic-k256-gguf", "synth-k256-f32.gguf", "synth-k256-Q6_K.gguf" },
        { "synthetic-k256-gguf", "synth-k256-f32.gguf", "synth-k256-Q5_K.gguf" },
        { "synthetic-k256-gguf", "synth-k256-f32.gguf", "synth-k256-Q4_K.gguf" },
        { "synthetic-k256-gguf", "synth-k256-f32.gguf", "synth-k256-Q4_K_M.gguf" },
        { "synthetic-k256-gguf", "synth-k256-f32.gguf", "synth-k256-Q4_0.gguf" },
        { "synthetic-k256-gguf", "synth-k256-f32.gguf", "synth-k256-Q3_K.gguf" },
        { "synthetic-k256-gguf", "synth-k256-f32.gguf", "synth-k256-Q2_K.gguf" },
        { "synthetic-k256-gguf", "synth-k256-f32.gguf", "synth-k256-F16.gguf" },
        { "stories260K-gguf", "stories260K-f32.gguf", "stories260K-Q4_K_M-fallback.gguf" },
        { "stories260K-gguf", "stories260K-f32.gguf", "stories260K-F16.gguf" },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_tensor_quantises_to_llama_quantize_blocks(string folder, string sourceFile, string quantizedFile)
    {
        using var source = GgufFile.Open(TestAssets.Path(Path.Combine(folder, sourceFile)));
        using var expected = GgufFile.Open(TestAssets.Path(Path.Combine(folder, quantizedFile)));
        var failures = new List<string>();
        int compared = 0;
        foreach (int tier in QuantizeGgmlVectorTests.QuantizeTiers)
        {
            using var _ = SimdTiers.Use(tier);
            foreach (var target in expected.Tensors)
            {
                Assert.True(source.TryGetTensor(target.Name, out var input), $"{sourceFile} has no tensor '{target.Name}'");
                Assert.Equal(GgmlType.F32, input.Type);
                Assert.Equal(input.ElementCount, target.ElementCount);
                byte[] actual = new byte[target.ByteSize];
                var kernels = BlockKernels.Get(target.Type, target.Name);
                long rowLength = target.Dimensions[0];
                fixed (byte* dst = actual)
                    for (long row = 0; row < target.ElementCount / rowLength; row++) // row by row, as cria quantize streams it
                        kernels.Quantize((float*)source.TensorData(input) + row * rowLength, dst + row * TensorTypeInfo.Get(target.Type).RowBytes(rowLength), rowLength);
                var stored = expected.TensorBytes(target);
                compared++;
                if (stored.SequenceEqual(actual)) continue;
                int at = stored.CommonPrefixLength(actual);
                int blockBytes = TensorTypeInfo.Get(target.Type).BlockBytes;
                failures.Add($"tier {tier}: {target.Name} ({target.Type}): first difference at byte {at} (block {at / blockBytes}, offset {at % blockBytes}): " +
                             $"llama-quantize {stored[at]:x2}, Cria {actual[at]:x2}");
            }
        }
        Assert.True(failures.Count == 0, $"{quantizedFile}: {failures.Count} of {compared} tensors differ:\n" + string.Join("\n", failures));
    }
}
