using Cria.Generation;
using Cria.Model;
using Cria.Tensors;
using Cria.Tokenization;

namespace Cria.Conversion;

/// <summary>Random weights for a configuration, produced row by row (never the model in float32): uniform values
/// with the variance of a 1/√fan-in initialisation so activations stay finite, norms of one. Every row has its own
/// seed, so the file is the same whatever the thread count. For benchmarks: speed does not depend on the values.</summary>
public static class RandomModel
{
    /// <summary>Tensors with every matrix in <paramref name="matrixType"/> (F16 where rows are not whole blocks).</summary>
    public static List<TensorPlan> Plan(LlamaConfig c, GgmlType matrixType, ulong seed) =>
        Plan(c, (name, dims) => dims[0] % TensorTypeInfo.Get(matrixType).BlockElements == 0 ? matrixType : GgmlType.F16, seed);

    /// <summary>Tensors whose matrix types <paramref name="chooseType"/> picks by name and dimensions (ggml order), in
    /// llama.cpp's per-layer order, so a quantisation mix's layer counting sees what llama-quantize would.</summary>
    public static List<TensorPlan> Plan(LlamaConfig c, Func<string, long[], GgmlType> chooseType, ulong seed)
    {
        var plans = new List<TensorPlan>();
        int index = 0;
        void Matrix(string name, int rows, int cols)
        {
            var type = chooseType(name, [cols, rows]);
            ulong tensorSeed = seed * 0x9E3779B97F4A7C15UL + (ulong)index++;
            double bound = Math.Sqrt(3.0 / cols);
            plans.Add(new TensorPlan(name, [cols, rows], type, (row, destination) =>
            {
                var random = new Xoshiro256(tensorSeed ^ ((ulong)row * 0xD1B54A32D192ED03UL));
                for (int i = 0; i < destination.Length; i++) destination[i] = (float)((random.NextDouble() * 2 - 1) * bound);
            }));
        }
        void Norm(string name) => plans.Add(new TensorPlan(name, [c.Dim], GgmlType.F32, (row, destination) => destination.Fill(1f)));

        Matrix("token_embd.weight", c.VocabSize, c.Dim);
        for (int l = 0; l < c.LayerCount; l++)
        {
            string b = $"blk.{l}.";
            Norm(b + "attn_norm.weight");
            Matrix(b + "attn_q.weight", c.QueryDim, c.Dim);
            Matrix(b + "attn_k.weight", c.KvDim, c.Dim);
            Matrix(b + "attn_v.weight", c.KvDim, c.Dim);
            Matrix(b + "attn_output.weight", c.Dim, c.QueryDim);
            Norm(b + "ffn_norm.weight");
            Matrix(b + "ffn_gate.weight", c.HiddenDim, c.Dim);
            Matrix(b + "ffn_up.weight", c.HiddenDim, c.Dim);
            Matrix(b + "ffn_down.weight", c.Dim, c.HiddenDim);
        }
        Norm("output_norm.weight");
        if (!c.TiedOutput) Matrix("output.weight", c.VocabSize, c.Dim);
        if (c.RopeScaling.Kind == RopeScalingKind.Llama3)
        {
            int pairs = c.RopeDim / 2;
            var factors = new float[pairs];
            for (int i = 0; i < pairs; i++)
            {
                double f = Math.Pow(c.RopeTheta, -2.0 * i / c.RopeDim);
                factors[i] = (float)(f / c.RopeScaling.ScaleLlama3(f));
            }
            plans.Add(new TensorPlan("rope_freqs.weight", [pairs], GgmlType.F32, (row, destination) => factors.CopyTo(destination)));
        }
        return plans;
    }

    /// <summary>A stand-in SentencePiece vocabulary of <paramref name="size"/> tokens (control tokens, the 256 byte
    /// tokens, then made-up pieces) for a random model made without a real tokenizer.</summary>
    public static Tokenizer PlaceholderTokenizer(int size)
    {
        if (size < 259) throw new CriaException($"a placeholder vocabulary needs at least 259 tokens, not {size}");
        var pieces = new string[size];
        var scores = new float[size];
        var types = new TokenType[size];
        (pieces[0], types[0]) = ("<unk>", TokenType.Unknown);
        (pieces[1], types[1]) = ("<s>", TokenType.Control);
        (pieces[2], types[2]) = ("</s>", TokenType.Control);
        for (int b = 0; b < 256; b++) (pieces[3 + b], types[3 + b]) = ($"<0x{b:X2}>", TokenType.Byte);
        for (int i = 259; i < size; i++)
        {
            pieces[i] = $"▁t{i}";
            scores[i] = -i;
            types[i] = TokenType.Normal;
        }
        return new SentencePieceTokenizer(pieces, scores, types, new SentencePieceOptions { Source = "placeholder vocabulary" });
    }
}
