using System.Runtime.InteropServices;
using Cria.Model;
using Cria.Tensors;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Model;

/// <summary>A model run on its stored blocks gives the logits of the same model with every matrix dequantised to
/// float32 first, with float activations: the quantised matmul kernels are exact up to float rounding inside a whole
/// forward pass. (The default integer path on 8-bit activations is checked against llama.cpp's in LlamaCppDecodePathTests.)</summary>
public unsafe class QuantizedForwardTests
{
    [Theory]
    [InlineData("stories260K-gguf/stories260K-F16.gguf")]
    [InlineData("stories260K-gguf/stories260K-Q8_0.gguf")]
    [InlineData("stories260K-gguf/stories260K-Q4_0.gguf")]
    [InlineData("stories260K-gguf/stories260K-Q4_K_M-fallback.gguf")]
    [InlineData("synthetic-k256-gguf/synth-k256-F16.gguf")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q8_0.gguf")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q6_K.gguf")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q5_K.gguf")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q4_K.gguf")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q4_K_M.gguf")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q4_0.gguf")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q3_K.gguf")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q2_K.gguf")]
    [InlineData("llama2-tiny-random-gguf/llama-2-tiny-random.gguf")]
    public void Stored_blocks_give_the_logits_of_dequantised_weights(string file)
    {
        using var model = LlamaModel.Load(TestAssets.Path(file));
        using var dequantised = new Float32Copy(model);
        int[] ids = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315];
        int vocab = model.Config.VocabSize;
        var expected = new float[ids.Length * vocab];
        var actual = new float[ids.Length * vocab];
        using (var context = new LlamaContext(dequantised.Model)) context.ProcessAll(ids, expected);
        using (var context = new LlamaContext(model, FloatActivations)) context.ProcessAll(ids, actual);
        float scale = expected.Max(Math.Abs);
        Llama2cForwardTests.AssertClose(expected, actual, 5e-6f * scale + 1e-5f, file);
    }

    private static readonly ContextOptions FloatActivations = new() { QuantizeActivations = false };

    /// <summary>The model with every matrix dequantised into unmanaged float32 memory.</summary>
    private sealed class Float32Copy : IDisposable
    {
        private readonly List<nint> _blocks = [];
        public LlamaModel Model { get; }

        public Float32Copy(LlamaModel source)
        {
            var w = source.Weights;
            WeightMatrix Copy(WeightMatrix m)
            {
                var data = (float*)NativeMemory.Alloc((nuint)m.Rows * (nuint)m.Cols, sizeof(float));
                _blocks.Add((nint)data);
                for (int r = 0; r < m.Rows; r++) m.DequantizeRow(r, new Span<float>(data + (long)r * m.Cols, m.Cols));
                return new WeightMatrix(m.Name, GgmlType.F32, m.Rows, m.Cols, (byte*)data);
            }
            var embedding = Copy(w.TokenEmbedding);
            var weights = new LlamaWeights
            {
                TokenEmbedding = embedding,
                Layers = w.Layers.Select(l => new LayerWeights
                {
                    AttentionNorm = l.AttentionNorm, Query = Copy(l.Query), Key = Copy(l.Key), Value = Copy(l.Value), Output = Copy(l.Output),
                    FeedForwardNorm = l.FeedForwardNorm, Gate = Copy(l.Gate), Down = Copy(l.Down), Up = Copy(l.Up),
                }).ToArray(),
                OutputNorm = w.OutputNorm,
                Output = ReferenceEquals(w.Output, w.TokenEmbedding) ? embedding : Copy(w.Output),
                RopeFrequencyFactors = w.RopeFrequencyFactors,
            };
            Model = new LlamaModel(source.Config, weights, source.Tokenizer, "dequantised copy");
        }

        public void Dispose()
        {
            foreach (var p in _blocks) NativeMemory.Free((void*)p);
        }
    }
}
