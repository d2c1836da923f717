using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Cria.Model;
using Cria.Model.Jobs;

namespace Cria.Bench;

/// <summary>One layer of decode attention on one thread: a token at <see cref="Position"/> attends to every cached
/// position (scores, softmax, weighted values for all query heads). GB/s counts the cached keys and values read.</summary>
public unsafe class AttentionBenchmarks : IBytesPerOperation
{
    private KvCache _cache = null!;
    private AttentionJob _job = null!;
    private LlamaConfig _config = null!;
    private float* _q;
    private float* _output;

    [Params("tinyllama-1.1b", "llama-3.2-1b")]
    public string Preset { get; set; } = "";

    [Params(128, 1024)]
    public int Position { get; set; }

    /// <summary>The kernel body (<see cref="Cria.Tensors.SimdTier"/>): 512 on AVX-512 machines, 256 as on AVX2 ones,
    /// 128 as on SSE4.1 or Arm NEON ones.</summary>
    [Params(512, 256, 128)]
    public int VectorBits { get; set; }

    public long BytesPerOperation => 2L * (Position + 1) * LlamaPresets.Get(Preset).KvDim * sizeof(float);

    [GlobalSetup]
    public void Setup()
    {
        Cria.Tensors.SimdTier.MaxVectorBits = VectorBits;
        _config = LlamaPresets.Get(Preset);
        _cache = new KvCache(1, Position + 1, _config.KvHeadCount, _config.HeadDim);
        var random = new Random(1);
        var key = new float[_config.KvDim];
        var value = new float[_config.KvDim];
        for (int p = 0; p <= Position; p++)
        {
            for (int i = 0; i < key.Length; i++) { key[i] = (float)random.NextDouble() - 0.5f; value[i] = (float)random.NextDouble() - 0.5f; }
            _cache.Store(0, p, key, value);
        }
        _q = (float*)NativeMemory.AlignedAlloc((nuint)_config.QueryDim * sizeof(float), 64);
        _output = (float*)NativeMemory.AlignedAlloc((nuint)_config.QueryDim * sizeof(float), 64);
        for (int i = 0; i < _config.QueryDim; i++) _q[i] = (float)random.NextDouble() - 0.5f;
        _job = new AttentionJob(_cache, _config, 1);
        _job.Set(_q, _output, 0, Position);
    }

    [Benchmark]
    public void DecodeAttention() => _job.Execute(0, _config.KvHeadCount, 0);

    [GlobalCleanup]
    public void Cleanup()
    {
        _cache.Dispose();
        NativeMemory.AlignedFree(_q);
        NativeMemory.AlignedFree(_output);
    }
}
