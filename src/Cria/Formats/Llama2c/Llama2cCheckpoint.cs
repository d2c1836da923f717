using System.Buffers.Binary;
using Cria.IO;
using Cria.Model;
using Cria.Tensors;

namespace Cria.Formats.Llama2c;

/// <summary>A llama2.c checkpoint (<c>.bin</c>): the legacy layout (7 int32 header fields, then float32 weights;
/// a negative vocabulary size means an unshared classifier follows) and export version 1 ("ak42" magic, 256-byte
/// header). Weights are float32 used in place from the memory map.</summary>
public sealed unsafe class Llama2cCheckpoint : IDisposable
{
    private const uint Magic = 0x616b3432; // "ak42"
    private const int LegacyHeaderBytes = 7 * 4;
    private const int Version1HeaderBytes = 256;

    private readonly MappedFile _file;

    public string Path => _file.Path;
    public int Version { get; }
    public LlamaConfig Config { get; }
    public LlamaWeights Weights { get; }

    private Llama2cCheckpoint(MappedFile file, int version, LlamaConfig config, LlamaWeights weights)
    {
        _file = file;
        Version = version;
        Config = config;
        Weights = weights;
    }

    public static Llama2cCheckpoint Open(string path)
    {
        var file = MappedFile.Open(path);
        try
        {
            return Parse(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static Llama2cCheckpoint Parse(MappedFile file)
    {
        string source = $"llama2.c checkpoint '{file.Path}'";
        if (file.Length < LegacyHeaderBytes) throw new ModelFormatException($"{source}: {file.Length} bytes is too short for a header");
        var head = file.Span(0, LegacyHeaderBytes);
        int version = 0;
        int headerBytes = LegacyHeaderBytes;
        ReadOnlySpan<byte> fields = head;
        bool shared;
        if (BinaryPrimitives.ReadUInt32LittleEndian(head) == Magic)
        {
            if (file.Length < Version1HeaderBytes) throw new ModelFormatException($"{source}: truncated header");
            version = BinaryPrimitives.ReadInt32LittleEndian(head[4..]);
            if (version == 2) throw new ModelFormatException($"{source}: version 2 (int8-quantised, runq.c) checkpoints are not supported; export version 1 (float32) or GGUF");
            if (version != 1) throw new ModelFormatException($"{source}: unknown export version {version}");
            fields = file.Span(8, 7 * 4);
            shared = file.Span(8 + 7 * 4, 1)[0] != 0;
            headerBytes = Version1HeaderBytes;
        }
        else
        {
            shared = BinaryPrimitives.ReadInt32LittleEndian(fields[20..]) > 0;
        }

        var h = new int[7];
        for (int i = 0; i < 7; i++) h[i] = BinaryPrimitives.ReadInt32LittleEndian(fields[(i * 4)..]);
        int dim = h[0], hidden = h[1], layers = h[2], heads = h[3], kvHeads = h[4], vocab = h[5] == int.MinValue ? 0 : Math.Abs(h[5]), seqLen = h[6];
        if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || vocab <= 0 || seqLen <= 0 || heads > dim || dim % heads != 0)
            throw new ModelFormatException($"{source}: header (dim {dim}, hidden {hidden}, layers {layers}, heads {heads}, kv heads {kvHeads}, " +
                                           $"vocab {h[5]}, seq_len {seqLen}) does not describe a llama2.c model");
        var config = new LlamaConfig
        {
            Dim = dim,
            HiddenDim = hidden,
            LayerCount = layers,
            HeadCount = heads,
            KvHeadCount = kvHeads,
            VocabSize = vocab,
            ContextLength = seqLen,
            RmsEps = 1e-5f,
            RopeTheta = 10000f,
            TiedOutput = shared,
        }.Validated(source);

        long expected = ExpectedBytes(config, version, headerBytes);
        if (file.Length < expected)
            throw new ModelFormatException($"{source}: truncated: the header describes {expected} bytes but the file has {file.Length}");
        if (file.Length > expected)
            throw new ModelFormatException($"{source}: the file has {file.Length} bytes but the header describes {expected}; it is not a llama2.c checkpoint of this shape");

        var weights = version == 0 ? LegacyWeights(file, config, headerBytes) : Version1Weights(file, config, headerBytes);
        return new Llama2cCheckpoint(file, version, config, weights);
    }

    private static long ExpectedBytes(LlamaConfig c, int version, int headerBytes)
    {
        long dim = c.Dim, kv = c.KvDim, q = c.QueryDim, hidden = c.HiddenDim, layers = c.LayerCount;
        long floats = c.VocabSize * dim                                    // token embedding
                      + layers * (2 * dim + dim * q + 2 * dim * kv + q * dim + 3 * dim * hidden) // norms + attention + ffn
                      + dim;                                               // final norm
        if (version == 0) floats += (long)c.ContextLength * c.HeadDim;     // legacy freq_cis_real + imag
        if (!c.TiedOutput) floats += c.VocabSize * dim;
        return headerBytes + floats * 4;
    }

    // Legacy order (run.c memory_map_weights): embedding, att norms, wq, wk, wv, wo, ffn norms, w1, w2, w3, final norm, freq_cis, [wcls].
    private static LlamaWeights LegacyWeights(MappedFile file, LlamaConfig c, long offset)
    {
        var r = new Reader(file, offset);
        var embedding = r.Matrix("tok_embeddings.weight", c.VocabSize, c.Dim);
        var attNorm = r.Vectors("attention_norm", c.LayerCount, c.Dim);
        var wq = r.Matrices("attention.wq", c.LayerCount, c.QueryDim, c.Dim);
        var wk = r.Matrices("attention.wk", c.LayerCount, c.KvDim, c.Dim);
        var wv = r.Matrices("attention.wv", c.LayerCount, c.KvDim, c.Dim);
        var wo = r.Matrices("attention.wo", c.LayerCount, c.Dim, c.QueryDim);
        var ffnNorm = r.Vectors("ffn_norm", c.LayerCount, c.Dim);
        var w1 = r.Matrices("feed_forward.w1", c.LayerCount, c.HiddenDim, c.Dim);
        var w2 = r.Matrices("feed_forward.w2", c.LayerCount, c.Dim, c.HiddenDim);
        var w3 = r.Matrices("feed_forward.w3", c.LayerCount, c.HiddenDim, c.Dim);
        var norm = r.Vectors("norm", 1, c.Dim)[0];
        r.Skip((long)c.ContextLength * c.HeadDim); // precomputed RoPE tables: recomputed instead, as run.c does
        var output = c.TiedOutput ? embedding : r.Matrix("output.weight", c.VocabSize, c.Dim);
        return Assemble(c, embedding, attNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, norm, output);
    }

    // Version 1 order (export.py version1_export): norms first, then embedding, wq … w3 of every layer, [output].
    private static LlamaWeights Version1Weights(MappedFile file, LlamaConfig c, long offset)
    {
        var r = new Reader(file, offset);
        var attNorm = r.Vectors("attention_norm", c.LayerCount, c.Dim);
        var ffnNorm = r.Vectors("ffn_norm", c.LayerCount, c.Dim);
        var norm = r.Vectors("norm", 1, c.Dim)[0];
        var embedding = r.Matrix("tok_embeddings.weight", c.VocabSize, c.Dim);
        var wq = r.Matrices("attention.wq", c.LayerCount, c.QueryDim, c.Dim);
        var wk = r.Matrices("attention.wk", c.LayerCount, c.KvDim, c.Dim);
        var wv = r.Matrices("attention.wv", c.LayerCount, c.KvDim, c.Dim);
        var wo = r.Matrices("attention.wo", c.LayerCount, c.Dim, c.QueryDim);
        var w1 = r.Matrices("feed_forward.w1", c.LayerCount, c.HiddenDim, c.Dim);
        var w2 = r.Matrices("feed_forward.w2", c.LayerCount, c.Dim, c.HiddenDim);
        var w3 = r.Matrices("feed_forward.w3", c.LayerCount, c.HiddenDim, c.Dim);
        var output = c.TiedOutput ? embedding : r.Matrix("output.weight", c.VocabSize, c.Dim);
        return Assemble(c, embedding, attNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, norm, output);
    }

    private static LlamaWeights Assemble(LlamaConfig c, WeightMatrix embedding, float[][] attNorm, WeightMatrix[] wq, WeightMatrix[] wk,
        WeightMatrix[] wv, WeightMatrix[] wo, float[][] ffnNorm, WeightMatrix[] w1, WeightMatrix[] w2, WeightMatrix[] w3, float[] norm, WeightMatrix output)
    {
        var layers = new LayerWeights[c.LayerCount];
        for (int i = 0; i < layers.Length; i++)
            layers[i] = new LayerWeights
            {
                AttentionNorm = attNorm[i], Query = wq[i], Key = wk[i], Value = wv[i], Output = wo[i],
                FeedForwardNorm = ffnNorm[i], Gate = w1[i], Down = w2[i], Up = w3[i],
            };
        return new LlamaWeights { TokenEmbedding = embedding, Layers = layers, OutputNorm = norm, Output = output };
    }

    /// <summary>The tensors of the checkpoint with Meta's names and row-major shapes, in file order (for inspect).</summary>
    public IEnumerable<(string Name, long[] Shape)> TensorListing()
    {
        var c = Config;
        IEnumerable<(string, long[])> PerLayer(string name, params long[] shape) =>
            Enumerable.Range(0, c.LayerCount).Select(i => ($"layers.{i}.{name}.weight", shape));
        var embedding = new[] { ("tok_embeddings.weight", new long[] { c.VocabSize, c.Dim }) };
        var norm = new[] { ("norm.weight", new long[] { c.Dim }) };
        var output = c.TiedOutput ? [] : new[] { ("output.weight", new long[] { c.VocabSize, c.Dim }) };
        var matrices = PerLayer("attention.wq", c.QueryDim, c.Dim).Concat(PerLayer("attention.wk", c.KvDim, c.Dim))
            .Concat(PerLayer("attention.wv", c.KvDim, c.Dim)).Concat(PerLayer("attention.wo", c.Dim, c.QueryDim));
        var ffn = PerLayer("feed_forward.w1", c.HiddenDim, c.Dim).Concat(PerLayer("feed_forward.w2", c.Dim, c.HiddenDim))
            .Concat(PerLayer("feed_forward.w3", c.HiddenDim, c.Dim));
        var attNorm = PerLayer("attention_norm", c.Dim);
        var ffnNorm = PerLayer("ffn_norm", c.Dim);
        return Version == 0
            ? embedding.Concat(attNorm).Concat(matrices).Concat(ffnNorm).Concat(ffn).Concat(norm).Concat(output)
            : attNorm.Concat(ffnNorm).Concat(norm).Concat(embedding).Concat(matrices).Concat(ffn).Concat(output);
    }

    public void Dispose() => _file.Dispose();

    /// <summary>Walks the float32 weights in file order (the size was checked against the header beforehand).</summary>
    private sealed class Reader(MappedFile file, long offset)
    {
        private long _offset = offset;

        public WeightMatrix Matrix(string name, int rows, int cols)
        {
            var m = new WeightMatrix(name, GgmlType.F32, rows, cols, file.Pointer + _offset);
            _offset += (long)rows * cols * 4;
            return m;
        }

        public WeightMatrix[] Matrices(string name, int layers, int rows, int cols) =>
            Enumerable.Range(0, layers).Select(i => Matrix($"layers.{i}.{name}.weight", rows, cols)).ToArray();

        public float[][] Vectors(string name, int count, int length)
        {
            var result = new float[count][];
            for (int i = 0; i < count; i++)
            {
                result[i] = new ReadOnlySpan<float>(file.Pointer + _offset, length).ToArray();
                _offset += (long)length * 4;
            }
            return result;
        }

        public void Skip(long floats) => _offset += floats * 4;
    }
}
