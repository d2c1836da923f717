using Cria.Model;
using Cria.Tensors;

namespace Cria.Conversion;

/// <summary>Plans the tensors of a checkpoint for writing as GGUF: norms stay F32, matrices take the requested type
/// (or keep theirs), Hugging Face q/k rows go back to adjacent-pair order, and Llama 3.1 scaling becomes the
/// <c>rope_freqs</c> tensor llama.cpp expects.</summary>
public static class CheckpointConverter
{
    /// <param name="matrixType">Type for 2-D tensors; null keeps each tensor's stored type.</param>
    public static List<TensorPlan> PlanGguf(LlamaCheckpoint checkpoint, GgmlType? matrixType)
    {
        if (matrixType is GgmlType target && !RowEncoder.CanEncode(target))
            throw new CriaException($"cannot write {TensorTypeInfo.Get(target).Name} tensors");
        var c = checkpoint.Config;
        var plans = new List<TensorPlan>();
        foreach (var t in checkpoint.Tensors)
        {
            bool matrix = t.Dimensions.Length >= 2 && t.Rows > 1;
            GgmlType type = !matrix ? GgmlType.F32 : matrixType ?? t.Type;
            if (type != t.Type && !RowEncoder.CanEncode(type)) type = GgmlType.F32; // kept types copy; others need an encoder
            if (t.Cols % TensorTypeInfo.Get(type).BlockElements != 0) type = GgmlType.F16; // rows that are not whole blocks
            int[]? order = c.RopeStyle == RopeStyle.Halves ? AdjacentPairOrder(t.Name, c) : null;
            plans.Add(Plan(t, t.Name, type, order));
        }
        if (c.RopeScaling.Kind == RopeScalingKind.Llama3 && !checkpoint.TryGetTensor("rope_freqs.weight", out _))
            plans.Add(RopeFrequencies(c));
        return plans;
    }

    /// <summary>A plan reading <paramref name="t"/>'s rows (in <paramref name="order"/> if given) and writing them as <paramref name="type"/>.</summary>
    public static TensorPlan Plan(TensorData t, string name, GgmlType type, int[]? order = null)
    {
        BlockKernels.Get(t.Type, t.SourceName); // a type we cannot read fails here, naming the tensor
        FloatRowSource rows = (row, destination) => t.DequantizeRow(order?[row] ?? row, destination);
        RawRowSource? raw = type == t.Type ? (row, destination) => t.ReadRow(order?[row] ?? row, destination) : null;
        return new TensorPlan(name, t.Dimensions, type, rows, raw);
    }

    // Hugging Face stores each q/k head as [first halves; second halves] for rotate_half; GGUF and Meta interleave the
    // pairs. Output row (h, i, j) comes from input row (h, j, i) — llama.cpp convert_hf_to_gguf's permute, undone.
    private static int[]? AdjacentPairOrder(string name, LlamaConfig c)
    {
        int heads;
        if (name.EndsWith(".attn_q.weight", StringComparison.Ordinal)) heads = c.HeadCount;
        else if (name.EndsWith(".attn_k.weight", StringComparison.Ordinal)) heads = c.KvHeadCount;
        else return null;
        return HalvesToPairs(heads, c.HeadDim);
    }

    /// <summary>The row order that turns rotate-half layout into adjacent pairs: result[out] = in.</summary>
    public static int[] HalvesToPairs(int heads, int headDim)
    {
        int half = headDim / 2;
        var order = new int[heads * headDim];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < half; i++)
                for (int j = 0; j < 2; j++)
                    order[h * headDim + 2 * i + j] = h * headDim + j * half + i;
        return order;
    }

    // llama.cpp stores Llama 3.1 scaling as per-pair divisors: original frequency / scaled frequency.
    private static TensorPlan RopeFrequencies(LlamaConfig c)
    {
        int pairs = c.RopeDim / 2;
        var factors = new float[pairs];
        for (int i = 0; i < pairs; i++)
        {
            double f = Math.Pow(c.RopeTheta, -2.0 * i / c.RopeDim);
            factors[i] = (float)(f / c.RopeScaling.ScaleLlama3(f));
        }
        return new TensorPlan("rope_freqs.weight", [pairs], GgmlType.F32, (row, destination) => factors.CopyTo(destination));
    }

    /// <summary>The type most matrices of <paramref name="plans"/> have, for <c>general.file_type</c>.</summary>
    public static GgmlType PredominantMatrixType(IEnumerable<TensorPlan> plans) =>
        plans.Where(p => p.Dimensions.Length >= 2).GroupBy(p => p.Type).OrderByDescending(g => g.Sum(p => p.ByteSize)).Select(g => g.Key).DefaultIfEmpty(GgmlType.F32).First();
}
