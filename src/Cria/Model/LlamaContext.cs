using System.Numerics.Tensors;
using Cria.IO;
using Cria.Model.Jobs;
using Cria.Tensors;
using Cria.Tensors.Kernels;
using Cria.Threading;

namespace Cria.Model;

/// <summary>Runs a <see cref="LlamaModel"/>: a KV cache, a worker pool and every buffer a forward pass needs, made once
/// so that processing tokens allocates nothing. A prompt goes through as a matrix (up to
/// <see cref="BatchSize"/> tokens per pass); generation feeds one token at a time.</summary>
public sealed unsafe class LlamaContext : IDisposable
{
    private readonly LlamaConfig _c;
    private readonly LlamaWeights _w;
    private readonly WorkerPool _pool;
    private readonly KvCache _cache;
    private readonly Rope _rope;
    private readonly MatMul _matmul;
    private readonly RmsNormJob _norm = new();
    private readonly RopeAndCacheJob _ropeJob;
    private readonly AttentionJob _attention;
    private readonly SwiGluJob _swiglu;
    private readonly ForwardProfile? _profile = ForwardProfile.Enabled ? new ForwardProfile() : null;
    private readonly NativeBuffer _x, _xb, _q, _k, _v, _att, _gate, _up, _ffnOut, _cos, _sin, _logits;
    private readonly int _ffnTokens; // tokens whose hidden layer is held at once: the two largest buffers, kept small

    /// <summary>Tokens whose feed-forward hidden layer is held at once. That layer (2 × tokens × 8192 floats for a 1B
    /// model) was the largest buffer; 64 tokens still reuse each quantised weight block enough to keep the tiles as
    /// fast, while the float GEMM, which converts each weight panel per call, needs 128 (bench/RESULTS.md, "Memory").</summary>
    internal static int FeedForwardTokens(GgmlType gateType) => gateType is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 ? 128 : 64;

    public LlamaModel Model { get; }
    /// <summary>How many positions the KV cache holds.</summary>
    public int ContextLength { get; }
    public int BatchSize { get; }
    public int Threads => _pool.ThreadCount;
    /// <summary>The next position to fill: how many tokens the cache holds.</summary>
    public int Position { get; private set; }
    public long KvCacheBytes => _cache.ByteSize;

    public LlamaContext(LlamaModel model, ContextOptions? options = null)
    {
        options ??= new ContextOptions();
        Model = model;
        _c = model.Config;
        _w = model.Weights;
        ContextLength = options.ContextLength > 0 ? options.ContextLength : Math.Min(_c.ContextLength, ContextOptions.DefaultMaxContext);
        if (options.ContextLength < 0) throw new CriaException($"context length must be positive, got {options.ContextLength}");
        if (options.BatchSize <= 0) throw new CriaException($"batch size must be positive, got {options.BatchSize}");
        if (options.Threads < 0) throw new CriaException($"thread count must be positive, got {options.Threads}");
        BatchSize = Math.Min(options.BatchSize, ContextLength);
        _pool = new WorkerPool(options.Threads > 0 ? options.Threads : Environment.ProcessorCount);
        _cache = new KvCache(_c.LayerCount, ContextLength, _c.KvHeadCount, _c.HeadDim);
        _rope = new Rope(_c, _w.RopeFrequencyFactors);
        _matmul = new MatMul(_pool, options.QuantizeActivations);
        _ropeJob = new RopeAndCacheJob(_rope, _cache, _c);
        _attention = new AttentionJob(_cache, _c, _pool.ThreadCount);
        _swiglu = new SwiGluJob(_c.HiddenDim, _pool.ThreadCount);

        int b = BatchSize;
        _x = new NativeBuffer((long)b * _c.Dim);
        _xb = new NativeBuffer((long)b * Math.Max(_c.Dim, _c.QueryDim));
        _q = new NativeBuffer((long)b * _c.QueryDim);
        _k = new NativeBuffer((long)b * _c.KvDim);
        _v = new NativeBuffer((long)b * _c.KvDim);
        _att = new NativeBuffer((long)b * _c.QueryDim);
        _ffnTokens = Math.Min(b, FeedForwardTokens(_w.Layers[0].Gate.Type));
        _gate = new NativeBuffer((long)_ffnTokens * _c.HiddenDim);
        _up = new NativeBuffer((long)_ffnTokens * _c.HiddenDim);
        _ffnOut = new NativeBuffer((long)_ffnTokens * _c.Dim);
        _cos = new NativeBuffer((long)b * (_c.RopeDim / 2));
        _sin = new NativeBuffer((long)b * (_c.RopeDim / 2));
        _logits = new NativeBuffer(_c.VocabSize);
    }

    /// <summary>Appends <paramref name="tokens"/> at the current position and returns the logits of the last one
    /// (valid until the next call).</summary>
    public ReadOnlySpan<float> Process(scoped ReadOnlySpan<int> tokens)
    {
        CheckTokens(tokens);
        for (int start = 0; start < tokens.Length; start += BatchSize)
        {
            int n = Math.Min(BatchSize, tokens.Length - start);
            bool last = start + n == tokens.Length;
            Forward(tokens.Slice(start, n), last ? _logits.Pointer : null, allPositions: false);
        }
        return new ReadOnlySpan<float>(_logits.Pointer, _c.VocabSize);
    }

    /// <summary>Appends <paramref name="tokens"/> and writes the logits of every one of them into
    /// <paramref name="logits"/> (tokens × vocabulary, row-major), as evaluation needs.</summary>
    public void ProcessAll(ReadOnlySpan<int> tokens, Span<float> logits)
    {
        CheckTokens(tokens);
        if (logits.Length < (long)tokens.Length * _c.VocabSize)
            throw new ArgumentException($"logits needs room for {tokens.Length} x {_c.VocabSize} floats", nameof(logits));
        fixed (float* output = logits)
        {
            for (int start = 0; start < tokens.Length; start += BatchSize)
            {
                int n = Math.Min(BatchSize, tokens.Length - start);
                Forward(tokens.Slice(start, n), output + (long)start * _c.VocabSize, allPositions: true);
            }
        }
    }

    /// <summary>Forgets every cached position.</summary>
    public void Reset() => Position = 0;

    /// <summary>Keeps only the first <paramref name="position"/> cached positions (e.g. to rewind a chat).</summary>
    public void Rewind(int position)
    {
        if (position < 0 || position > Position) throw new ArgumentOutOfRangeException(nameof(position), $"can rewind only within 0…{Position}");
        Position = position;
    }

    // Checked up front so a bad batch changes nothing.
    private void CheckTokens(ReadOnlySpan<int> tokens)
    {
        if (tokens.IsEmpty) throw new ArgumentException("no tokens to process", nameof(tokens));
        if (tokens.Length > ContextLength - Position)
            throw new CriaException($"{tokens.Length} tokens do not fit in the context: {Position} of {ContextLength} positions are used " +
                                    $"(raise the context length, up to the model's {_c.ContextLength})");
        foreach (int id in tokens)
            if ((uint)id >= (uint)_c.VocabSize) throw new CriaException($"token id {id} is outside the vocabulary (0…{_c.VocabSize - 1})");
    }

    private void Forward(ReadOnlySpan<int> tokens, float* logits, bool allPositions)
    {
        int n = tokens.Length, dim = _c.Dim, pairs = _c.RopeDim / 2;
        float* x = _x.Pointer, xb = _xb.Pointer;
        var profile = _profile;
        profile?.Start();
        for (int t = 0; t < n; t++)
        {
            _w.TokenEmbedding.DequantizeRow(tokens[t], new Span<float>(x + (long)t * dim, dim));
            _rope.Angles(Position + t, new Span<float>(_cos.Pointer + (long)t * pairs, pairs), new Span<float>(_sin.Pointer + (long)t * pairs, pairs));
        }
        profile?.Mark(ForwardProfile.Step.Embedding);

        for (int l = 0; l < _c.LayerCount; l++)
        {
            var layer = _w.Layers[l];
            // Attention: h = x + Wo · attention(rope(Wq·norm(x)), rope(Wk·norm(x)), Wv·norm(x))
            _norm.Set(x, xb, layer.AttentionNorm, _c.RmsEps, dim);
            _pool.Run(_norm, n);
            profile?.Mark(ForwardProfile.Step.Norm);
            _matmul.Run(layer.Query, _q.Pointer, layer.Key, _k.Pointer, layer.Value, _v.Pointer, xb, n);
            profile?.Mark(ForwardProfile.Step.QkvMatmul);
            _ropeJob.Set(_q.Pointer, _k.Pointer, _v.Pointer, _cos.Pointer, _sin.Pointer, l, Position);
            _pool.Run(_ropeJob, n);
            profile?.Mark(ForwardProfile.Step.Rope);
            _attention.Set(_q.Pointer, _att.Pointer, l, Position);
            _pool.Run(_attention, n * _c.KvHeadCount);
            profile?.Mark(ForwardProfile.Step.Attention);
            _matmul.Run(layer.Output, _att.Pointer, xb, n);
            profile?.Mark(ForwardProfile.Step.OutputMatmul);
            AddInPlace(x, xb, n * dim);
            profile?.Mark(ForwardProfile.Step.Residual);

            // Feed-forward: out = h + W2 · (SiLU(W1·norm(h)) * W3·norm(h))
            _norm.Set(x, xb, layer.FeedForwardNorm, _c.RmsEps, dim);
            _pool.Run(_norm, n);
            profile?.Mark(ForwardProfile.Step.Norm);
            for (int t0 = 0; t0 < n; t0 += _ffnTokens)
            {
                int m = Math.Min(_ffnTokens, n - t0);
                _matmul.Run(layer.Gate, _gate.Pointer, layer.Up, _up.Pointer, xb + (long)t0 * dim, m);
                profile?.Mark(ForwardProfile.Step.GateUpMatmul);
                _swiglu.Set(_gate.Pointer, _up.Pointer);
                _pool.Run(_swiglu, m);
                profile?.Mark(ForwardProfile.Step.SwiGlu);
                _matmul.Run(layer.Down, _gate.Pointer, _ffnOut.Pointer, m);
                profile?.Mark(ForwardProfile.Step.DownMatmul);
                AddInPlace(x + (long)t0 * dim, _ffnOut.Pointer, m * dim);
                profile?.Mark(ForwardProfile.Step.Residual);
            }
        }
        Position += n;

        if (logits == null) return;
        int first = allPositions ? 0 : n - 1, rows = n - first;
        _norm.Set(x + (long)first * dim, xb, _w.OutputNorm, _c.RmsEps, dim);
        _pool.Run(_norm, rows);
        _matmul.Run(_w.Output, xb, logits, rows);
        profile?.Mark(ForwardProfile.Step.Logits);
    }

    /// <summary>Time per step of the forward passes so far, when profiling is on (<c>CRIA_PROFILE=1</c>).</summary>
    public string? ProfileReport => _profile?.Report();

    private static void AddInPlace(float* x, float* y, int count) =>
        TensorPrimitives.Add(new ReadOnlySpan<float>(x, count), new ReadOnlySpan<float>(y, count), new Span<float>(x, count));

    public void Dispose()
    {
        _pool.Dispose();
        _matmul.Dispose();
        _cache.Dispose();
        foreach (var b in new[] { _x, _xb, _q, _k, _v, _att, _gate, _up, _ffnOut, _cos, _sin, _logits }) b.Dispose();
    }
}
