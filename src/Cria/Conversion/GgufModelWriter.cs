using System.Diagnostics;
using Cria.Formats.Gguf;
using Cria.Model;
using Cria.Tensors;
using Cria.Tokenization;

namespace Cria.Conversion;

/// <summary>What a writer reports as each tensor goes out.</summary>
public readonly record struct TensorProgress(int Index, int Count, string Name, long[] Dimensions, GgmlType Type, long BytesWritten, long BytesTotal);

/// <summary>Writes a Llama model as GGUF, tensor by tensor and row by row (a row at a time in memory, rows of a tensor
/// encoded in parallel chunks), with the <c>llama.*</c> hyper-parameters, the tokenizer and extra metadata.</summary>
public static class GgufModelWriter
{
    private const int RowsPerChunk = 64;

    public static void Write(string path, LlamaConfig config, Tokenizer? tokenizer, IEnumerable<KeyValuePair<string, GgufValue>> extraMetadata,
        IReadOnlyList<TensorPlan> tensors, GgmlType fileType, Action<TensorProgress>? progress = null) =>
        Write(path, config, tokenizer, extraMetadata, tensors, FileType(fileType), TensorTypeInfo.Get(fileType).BlockElements > 1, progress);

    /// <param name="fileType">llama.cpp's <c>llama_ftype</c> number for <c>general.file_type</c>.</param>
    /// <param name="quantized">Whether to write <c>general.quantization_version</c>.</param>
    public static void Write(string path, LlamaConfig config, Tokenizer? tokenizer, IEnumerable<KeyValuePair<string, GgufValue>> extraMetadata,
        IReadOnlyList<TensorPlan> tensors, int fileType, bool quantized, Action<TensorProgress>? progress = null)
    {
        using var writer = new GgufWriter(path);
        var keys = new HashSet<string>();
        void Add(string key, GgufValue value)
        {
            if (keys.Add(key)) writer.AddMetadata(key, value);
        }
        foreach (var (key, value) in ConfigMetadata(config, fileType, quantized)) Add(key, value);
        if (tokenizer != null) foreach (var (key, value) in tokenizer.ToGgufMetadata()) Add(key, value);
        foreach (var (key, value) in extraMetadata)
            if (!key.StartsWith("llama.", StringComparison.Ordinal) && !key.StartsWith("tokenizer.ggml.", StringComparison.Ordinal)) Add(key, value);

        foreach (var t in tensors) writer.AddTensor(t.Name, t.Dimensions, t.Type);
        long total = tensors.Sum(t => t.ByteSize), written = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            progress?.Invoke(new TensorProgress(i, tensors.Count, t.Name, t.Dimensions, t.Type, written, total));
            using (var stream = writer.BeginTensor(t.Name)) WriteRows(t, stream);
            written += t.ByteSize;
        }
        progress?.Invoke(new TensorProgress(tensors.Count, tensors.Count, "", [], GgmlType.F32, written, total));
        writer.Complete();
    }

    // Chunks of rows are encoded in parallel (quantising is the slow part) and written in order.
    private static void WriteRows(TensorPlan t, Stream output)
    {
        int rowBytes = checked((int)TensorTypeInfo.Get(t.Type).RowBytes(t.Cols));
        int rows = t.RowCount;
        int chunkRows = Math.Max(1, Math.Min(RowsPerChunk, (1 << 24) / Math.Max(1, rowBytes)));
        var buffer = new byte[(long)chunkRows * rowBytes * Environment.ProcessorCount];
        int rowsPerBatch = chunkRows * Environment.ProcessorCount;
        for (int start = 0; start < rows; start += rowsPerBatch)
        {
            int count = Math.Min(rowsPerBatch, rows - start);
            try
            {
                Parallel.For(0, (count + chunkRows - 1) / chunkRows, chunk =>
                {
                    var floats = t.RawRows == null ? new float[t.Cols] : null;
                    int first = chunk * chunkRows, last = Math.Min(count, first + chunkRows);
                    for (int r = first; r < last; r++)
                    {
                        var destination = buffer.AsSpan(r * rowBytes, rowBytes);
                        if (t.RawRows != null) t.RawRows(start + r, destination);
                        else
                        {
                            t.Rows(start + r, floats);
                            RowEncoder.Encode(t.Type, floats, destination);
                        }
                    }
                });
            }
            catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]); // the cause, not the wrapper
            }
            output.Write(buffer, 0, count * rowBytes);
        }
    }

    /// <summary>The <c>general.*</c> and <c>llama.*</c> keys llama.cpp reads for <paramref name="config"/>.</summary>
    public static IEnumerable<KeyValuePair<string, GgufValue>> ConfigMetadata(LlamaConfig config, int fileType, bool quantized)
    {
        var c = config;
        KeyValuePair<string, GgufValue> U(string key, int value) => new(key, GgufValue.Of((uint)value));
        yield return new("general.architecture", GgufValue.Of("llama"));
        yield return U("llama.context_length", c.ContextLength);
        yield return U("llama.embedding_length", c.Dim);
        yield return U("llama.block_count", c.LayerCount);
        yield return U("llama.feed_forward_length", c.HiddenDim);
        yield return U("llama.attention.head_count", c.HeadCount);
        yield return U("llama.attention.head_count_kv", c.KvHeadCount);
        yield return new("llama.rope.freq_base", GgufValue.Of(c.RopeTheta));
        yield return new("llama.attention.layer_norm_rms_epsilon", GgufValue.Of(c.RmsEps));
        if (c.HeadDim != c.Dim / c.HeadCount)
        {
            yield return U("llama.attention.key_length", c.HeadDim);
            yield return U("llama.attention.value_length", c.HeadDim);
        }
        yield return U("llama.rope.dimension_count", c.RopeDim);
        yield return U("llama.vocab_size", c.VocabSize);
        if (c.RopeScaling.Kind == RopeScalingKind.Linear)
        {
            yield return new("llama.rope.scaling.type", GgufValue.Of("linear"));
            yield return new("llama.rope.scaling.factor", GgufValue.Of((float)c.RopeScaling.Factor));
        }
        yield return U("general.file_type", fileType);
        if (quantized) yield return U("general.quantization_version", 2);
    }

    /// <summary>llama.cpp's <c>llama_ftype</c> for a model whose matrices are mostly <paramref name="type"/>.</summary>
    public static int FileType(GgmlType type) => type switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.Q4_0 => 2,
        GgmlType.Q4_1 => 3,
        GgmlType.Q8_0 => 7,
        GgmlType.Q5_0 => 8,
        GgmlType.Q5_1 => 9,
        GgmlType.Q2_K => 10,
        GgmlType.Q3_K => 11,
        GgmlType.Q4_K => 14,
        GgmlType.Q5_K => 16,
        GgmlType.Q6_K => 18,
        GgmlType.BF16 => 32,
        _ => throw new CriaException($"no llama.cpp file type for {TensorTypeInfo.Get(type).Name}"),
    };
}
