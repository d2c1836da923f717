using System.Buffers.Binary;
using Cria.IO;
using Cria.Model;
using Cria.Tensors;
using Cria.Tokenization;

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
    /// <summary>The tensors in file order, named the GGUF way (Meta names as source names), float32 in place.</summary>
    public IReadOnlyList<TensorData> Tensors { get; }

    private Llama2cCheckpoint(MappedFile file, int version, LlamaConfig config, IReadOnlyList<TensorData> tensors)
    {
        _file = file;
        Version = version;
        Config = config;
        Tensors = tensors;
    }

    /// <summary>This file as a checkpoint (it then owns the file), with a tokenizer read from elsewhere.</summary>
    public LlamaCheckpoint ToCheckpoint(Tokenizer? tokenizer) =>
        new($"llama2.c ({(Version == 0 ? "legacy" : $"v{Version}")})", "Meta", Path, Config, Tensors, tokenizer, null, this);

    /// <summary>True if <paramref name="path"/> parses as a llama2.c checkpoint (header and size agree), without
    /// keeping it open; <paramref name="vocabSize"/> is its vocabulary size.</summary>
    public static bool LooksLikeCheckpoint(string path, out int vocabSize)
    {
        try
        {
            using var checkpoint = Open(path);
            vocabSize = checkpoint.Config.VocabSize;
            return true;
        }
        catch (CriaException)
        {
            vocabSize = 0;
            return false;
        }
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

        var tensors = new Reader(file, headerBytes, config, version).Tensors();
        return new Llama2cCheckpoint(file, version, config, tensors);
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

    public void Dispose() => _file.Dispose();

    /// <summary>Walks the float32 weights in file order (the size was checked against the header beforehand) and names
    /// them the GGUF way, keeping Meta's names as the source names.</summary>
    private sealed class Reader(MappedFile file, long offset, LlamaConfig c, int version)
    {
        private long _offset = offset;
        private readonly List<TensorData> _tensors = [];

        public List<TensorData> Tensors()
        {
            if (version == 0)
            {
                // Legacy order (run.c memory_map_weights): embedding, attention norms, wq, wk, wv, wo, ffn norms, w1, w2, w3,
                // final norm, RoPE tables, [classifier].
                Embedding();
                PerLayer("attn_norm", "attention_norm", c.Dim);
                Attention();
                PerLayer("ffn_norm", "ffn_norm", c.Dim);
                FeedForward();
                Add("output_norm.weight", "norm.weight", c.Dim);
                _offset += (long)c.ContextLength * c.HeadDim * 4; // precomputed RoPE tables: recomputed instead, as run.c does
            }
            else
            {
                // Version 1 order (export.py version1_export): norms first, then embedding, wq … w3, [classifier].
                PerLayer("attn_norm", "attention_norm", c.Dim);
                PerLayer("ffn_norm", "ffn_norm", c.Dim);
                Add("output_norm.weight", "norm.weight", c.Dim);
                Embedding();
                Attention();
                FeedForward();
            }
            if (!c.TiedOutput) Add("output.weight", "output.weight", c.Dim, c.VocabSize);
            return _tensors;
        }

        private void Embedding() => Add("token_embd.weight", "tok_embeddings.weight", c.Dim, c.VocabSize);

        private void Attention()
        {
            PerLayer("attn_q", "attention.wq", c.Dim, c.QueryDim);
            PerLayer("attn_k", "attention.wk", c.Dim, c.KvDim);
            PerLayer("attn_v", "attention.wv", c.Dim, c.KvDim);
            PerLayer("attn_output", "attention.wo", c.QueryDim, c.Dim);
        }

        private void FeedForward()
        {
            PerLayer("ffn_gate", "feed_forward.w1", c.Dim, c.HiddenDim);
            PerLayer("ffn_down", "feed_forward.w2", c.HiddenDim, c.Dim);
            PerLayer("ffn_up", "feed_forward.w3", c.Dim, c.HiddenDim);
        }

        private void PerLayer(string ggufName, string metaName, params long[] dims)
        {
            for (int i = 0; i < c.LayerCount; i++) Add($"blk.{i}.{ggufName}.weight", $"layers.{i}.{metaName}.weight", dims);
        }

        // dims in ggml order: the row length first.
        private void Add(string name, string sourceName, params long[] dims)
        {
            _tensors.Add(TensorData.Contiguous(name, sourceName, GgmlType.F32, dims, file.Pointer + _offset));
            _offset += dims.Aggregate(4L, (a, b) => a * b);
        }
    }
}
