using Cria.Formats.PyTorch;
using Cria.Tensors;

namespace Cria.Formats.Meta;

/// <summary>Joins one tensor's model-parallel pieces (one per <c>consolidated.NN.pth</c>, shard 0 first) into a
/// <see cref="TensorData"/> whose parts point into each shard's memory map: nothing is copied.</summary>
internal static unsafe class MetaShardMerger
{
    /// <param name="pieces">The tensor in each shard, in shard order.</param>
    /// <param name="shardNames">The shards' file names, for messages.</param>
    /// <param name="dim">params.json's <c>dim</c>, which tells how tok_embeddings is split.</param>
    public static TensorData Merge(string ggufName, string metaName, MetaSplit split, PyTorchTensor[] pieces, string[] shardNames, int dim, string source)
    {
        var first = pieces[0];
        var type = first.Dtype.GgmlType is GgmlType t && t is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16
            ? t
            : throw new ModelFormatException($"{source}: tensor '{metaName}' is {first.Dtype}; Cria reads Meta weights in bfloat16, float16 or float32");
        for (int s = 1; s < pieces.Length; s++)
            if (pieces[s].Dtype != first.Dtype)
                throw new ModelFormatException($"{source}: tensor '{metaName}' is {first.Dtype} in {shardNames[0]} but {pieces[s].Dtype} in {shardNames[s]}");
        int rank = split == MetaSplit.Replicated ? 1 : 2;
        for (int s = 0; s < pieces.Length; s++)
        {
            if (pieces[s].Shape.Length != rank)
                throw new ModelFormatException($"{source}: tensor '{metaName}' in {shardNames[s]} has shape [{string.Join(", ", pieces[s].Shape)}], expected {rank} dimensions");
            if (pieces[s].ElementCount == 0) throw new ModelFormatException($"{source}: tensor '{metaName}' in {shardNames[s]} is empty");
            _ = pieces[s].Data; // refuses a strided view, naming it
        }

        if (split == MetaSplit.Embedding)
        {
            // Llama 1/2 split the embedding dimension; Llama 3 splits the vocabulary. One shard is both.
            bool splitsDim = pieces.All(p => p.Shape[0] == first.Shape[0]) && pieces.Sum(p => p.Shape[1]) == dim;
            bool splitsVocab = pieces.All(p => p.Shape[1] == dim);
            if (pieces.Length == 1 || splitsVocab) split = MetaSplit.Rows;
            else if (splitsDim) split = MetaSplit.Columns;
            else throw new ModelFormatException($"{source}: the shards' '{metaName}' ({Shapes(pieces, shardNames)}) split neither the " +
                                                $"embedding dimension {dim} (Llama 1/2) nor the vocabulary (Llama 3)");
        }
        try
        {
            return Join(ggufName, metaName, split, type, pieces, shardNames, source);
        }
        catch (OverflowException)
        {
            throw new ModelFormatException($"{source}: tensor '{metaName}' ({Shapes(pieces, shardNames)}) is larger than Cria supports");
        }
    }

    private static TensorData Join(string ggufName, string metaName, MetaSplit split, GgmlType type, PyTorchTensor[] pieces, string[] shardNames, string source)
    {
        var first = pieces[0];
        var info = TensorTypeInfo.Get(type);
        switch (split)
        {
            case MetaSplit.Replicated:
                for (int s = 1; s < pieces.Length; s++)
                {
                    if (pieces[s].Shape[0] != first.Shape[0])
                        throw new ModelFormatException($"{source}: replicated tensor '{metaName}' differs in shape between shards ({Shapes(pieces, shardNames)})");
                    if (!pieces[s].Bytes.SequenceEqual(first.Bytes))
                        throw new ModelFormatException($"{source}: replicated tensor '{metaName}' differs between {shardNames[0]} and {shardNames[s]}; " +
                                                       "every model-parallel shard must hold the same norm weights");
                }
                return TensorData.Contiguous(ggufName, metaName, type, [first.Shape[0]], first.Data);
            case MetaSplit.Rows:
            {
                long cols = first.Shape[1], row = 0;
                var parts = new TensorPart[pieces.Length];
                for (int s = 0; s < pieces.Length; s++)
                {
                    if (pieces[s].Shape[1] != cols)
                        throw new ModelFormatException($"{source}: '{metaName}' is split by rows across shards, which must then agree on the " +
                                                       $"column count, but they have {Shapes(pieces, shardNames)}");
                    parts[s] = new TensorPart(checked((int)row), checked((int)pieces[s].Shape[0]), 0, checked((int)cols), pieces[s].Data, info.RowBytes(cols));
                    row += pieces[s].Shape[0];
                }
                return new TensorData(ggufName, metaName, type, [cols, row], parts);
            }
            case MetaSplit.Columns:
            {
                long rows = first.Shape[0], col = 0;
                var parts = new TensorPart[pieces.Length];
                for (int s = 0; s < pieces.Length; s++)
                {
                    if (pieces[s].Shape[0] != rows)
                        throw new ModelFormatException($"{source}: '{metaName}' is split by columns across shards, which must then agree on the " +
                                                       $"row count, but they have {Shapes(pieces, shardNames)}");
                    long cols = pieces[s].Shape[1];
                    parts[s] = new TensorPart(0, checked((int)rows), checked((int)col), checked((int)cols), pieces[s].Data, info.RowBytes(cols));
                    col += cols;
                }
                return new TensorData(ggufName, metaName, type, [col, rows], parts);
            }
            default:
                throw new InvalidOperationException($"split {split} is not merged");
        }
    }

    private static string Shapes(PyTorchTensor[] pieces, string[] shardNames) =>
        string.Join(", ", pieces.Select((p, s) => $"{p.ShapeText} in {shardNames[s]}"));
}
