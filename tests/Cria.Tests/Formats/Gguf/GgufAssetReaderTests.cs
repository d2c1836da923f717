using System.Security.Cryptography;
using System.Text.Json;
using Cria.Formats.Gguf;
using Cria.Tensors;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Formats.Gguf;

/// <summary>The reader on the real GGUF files in the shared assets: header fields, known metadata (PROVENANCE.md),
/// tensor shapes and types, and data offsets checked against independent sources.</summary>
public class GgufAssetReaderTests
{
    public static readonly TheoryData<string> AllAssetFiles =
    [
        "stories260K-gguf/stories260K-f32.gguf", "stories260K-gguf/stories260K-F16.gguf", "stories260K-gguf/stories260K-Q8_0.gguf",
        "stories260K-gguf/stories260K-Q4_0.gguf", "stories260K-gguf/stories260K-Q4_K_M-fallback.gguf",
        "synthetic-k256-gguf/synth-k256-f32.gguf", "synthetic-k256-gguf/synth-k256-F16.gguf", "synthetic-k256-gguf/synth-k256-Q8_0.gguf",
        "synthetic-k256-gguf/synth-k256-Q6_K.gguf", "synthetic-k256-gguf/synth-k256-Q5_K.gguf", "synthetic-k256-gguf/synth-k256-Q4_K.gguf",
        "synthetic-k256-gguf/synth-k256-Q4_K_M.gguf", "synthetic-k256-gguf/synth-k256-Q4_0.gguf", "synthetic-k256-gguf/synth-k256-Q3_K.gguf",
        "synthetic-k256-gguf/synth-k256-Q2_K.gguf", "llama2-tiny-random-gguf/llama-2-tiny-random.gguf", "llamacpp-vocab/ggml-vocab-llama-spm.gguf",
    ];

    [Fact]
    public void Stories260K_F32_HeaderAndMetadata()
    {
        using var f = GgufFile.Open(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"));
        Assert.Equal(3u, f.Version);
        Assert.Equal(32, f.Alignment);
        Assert.Equal(19, f.Metadata.Entries.Count);
        Assert.Equal(48, f.Tensors.Count);
        Assert.Equal(14176, f.DataOffset); // header ends at 14152, padded to 32
        Assert.Equal(1185376, f.FileLength);

        var m = f.Metadata;
        Assert.Equal("llama", m.GetString("general.architecture"));
        Assert.Equal("llama", m.GetString("tokenizer.ggml.model"));
        Assert.Equal(128, m.GetInt("llama.context_length"));
        Assert.Equal(64, m.GetInt("llama.embedding_length"));
        Assert.Equal(172, m.GetInt("llama.feed_forward_length"));
        Assert.Equal(5, m.GetInt("llama.block_count"));
        Assert.Equal(8, m.GetInt("llama.attention.head_count"));
        Assert.Equal(4, m.GetInt("llama.attention.head_count_kv"));
        Assert.Equal(8, m.GetInt("llama.rope.dimension_count"));
        Assert.Equal(1e-5f, (float)m.GetFloat("llama.attention.layer_norm_rms_epsilon")!.Value);
        Assert.Equal(GgufValueType.Float32, m.Entries.Single(e => e.Key == "llama.attention.layer_norm_rms_epsilon").Value.Type);
        Assert.Equal((1L, 2L, 0L), (m.GetInt("tokenizer.ggml.bos_token_id"), m.GetInt("tokenizer.ggml.eos_token_id"), m.GetInt("tokenizer.ggml.unknown_token_id"))!);
        Assert.Equal(4294967295L, m.GetInt("tokenizer.ggml.seperator_token_id")); // the converter's odd key (sic)

        var tokens = m.GetArray<string>("tokenizer.ggml.tokens")!;
        Assert.Equal(512, tokens.Length);
        Assert.Equal(["<unk>", "<s>", "</s>"], tokens[..3]);
        Assert.Equal("\u200a", tokens[^1]);
        var scores = m.GetArray<float>("tokenizer.ggml.scores")!;
        Assert.Equal(512, scores.Length);
        Assert.Equal(-252f, scores[^1]);
        Assert.Equal([2, 3, 3], m.GetArray<int>("tokenizer.ggml.token_type")![..3]);
    }

    [Fact]
    public void Stories260K_F32_TensorDirectory()
    {
        using var f = GgufFile.Open(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"));
        var expectedNames = new List<string> { "token_embd.weight", "output_norm.weight", "output.weight" };
        for (int i = 0; i < 5; i++)
            foreach (string part in new[] { "attn_q", "attn_k", "attn_v", "attn_output", "attn_norm", "ffn_gate", "ffn_down", "ffn_up", "ffn_norm" })
                expectedNames.Add($"blk.{i}.{part}.weight");
        Assert.Equal(expectedNames, f.Tensors.Select(t => t.Name));
        Assert.All(f.Tensors, t => Assert.Equal(GgmlType.F32, t.Type));

        AssertTensor(f, "token_embd.weight", [64, 512], 0);
        AssertTensor(f, "output_norm.weight", [64], 131072);
        AssertTensor(f, "output.weight", [64, 512], 131328);
        AssertTensor(f, "blk.0.attn_k.weight", [64, 32], 278784);
        AssertTensor(f, "blk.0.ffn_down.weight", [172, 64], 355840);
        AssertTensor(f, "blk.4.ffn_norm.weight", [64], 1170944);
        var last = f.Tensors[^1];
        Assert.Equal(f.FileLength, f.DataOffset + last.Offset + last.ByteSize); // the last tensor ends the file
    }

    [Fact]
    public void Stories260K_F32_TensorBytesAreTheLlama2cWeights()
    {
        // llama2.c .bin: 7 int32 header, then token_embedding_table [512 x 64], then rms_att_weight [5 x 64] …
        byte[] bin = File.ReadAllBytes(TestAssets.Path("stories260K/stories260K.bin"));
        using var f = GgufFile.Open(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"));
        Assert.True(f.TryGetTensor("token_embd.weight", out var embd));
        Assert.True(f.TensorBytes(embd).SequenceEqual(bin.AsSpan(28, 131072)));
        Assert.True(f.TryGetTensor("blk.0.attn_norm.weight", out var norm));
        Assert.True(f.TensorBytes(norm).SequenceEqual(bin.AsSpan(28 + 131072, 256)));
    }

    [Fact]
    public void Llama2TinyRandom()
    {
        using var f = GgufFile.Open(TestAssets.Path("llama2-tiny-random-gguf/llama-2-tiny-random.gguf"));
        Assert.Equal(3u, f.Version);
        Assert.Equal(12, f.Tensors.Count);
        Assert.Equal(18, f.Metadata.Entries.Count);
        Assert.Equal(724416, f.DataOffset);
        var m = f.Metadata;
        Assert.Equal("LLaMA v2", m.GetString("general.name"));
        Assert.Equal(4096, m.GetInt("llama.context_length"));
        Assert.Equal(8, m.GetInt("llama.embedding_length"));
        Assert.Equal(1, m.GetInt("llama.block_count"));
        Assert.Equal(32, m.GetInt("llama.feed_forward_length"));
        Assert.Equal(2, m.GetInt("llama.attention.head_count_kv"));
        Assert.Equal(1, m.GetInt("general.file_type"));
        Assert.Equal(32000, m.GetArray<string>("tokenizer.ggml.tokens")!.Length);
        Assert.Equal(32000, m.GetArray<float>("tokenizer.ggml.scores")!.Length);
        Assert.Equal(9, f.Tensors.Count(t => t.Type == GgmlType.F16));
        Assert.Equal(3, f.Tensors.Count(t => t.Type == GgmlType.F32));
        AssertTensor(f, "token_embd.weight", [8, 32000], 0);
        AssertTensor(f, "blk.0.ffn_down.weight", [32, 8], 513536);
        AssertTensor(f, "output.weight", [8, 32000], 514144);
        Assert.Equal(512000, f.Tensors[0].ByteSize);
        Assert.Equal(f.FileLength, f.DataOffset + f.Tensors[^1].Offset + f.Tensors[^1].ByteSize);
    }

    [Fact]
    public void VocabOnlyFile()
    {
        using var f = GgufFile.Open(TestAssets.Path("llamacpp-vocab/ggml-vocab-llama-spm.gguf"));
        Assert.Equal(3u, f.Version);
        Assert.Empty(f.Tensors);
        Assert.Equal(22, f.Metadata.Entries.Count);
        var m = f.Metadata;
        Assert.Equal("llama-spm", m.GetString("general.name"));
        Assert.Equal("default", m.GetString("tokenizer.ggml.pre"));
        Assert.Equal(32000, m.GetInt("llama.vocab_size"));
        Assert.Equal(11008, m.GetInt("llama.feed_forward_length"));
        Assert.True(m.GetBool("tokenizer.ggml.add_bos_token"));
        Assert.False(m.GetBool("tokenizer.ggml.add_eos_token"));
        var tokens = m.GetArray<string>("tokenizer.ggml.tokens")!;
        Assert.Equal(32000, tokens.Length);
        Assert.Equal("给", tokens[^1]);
        Assert.Equal(-31740f, m.GetArray<float>("tokenizer.ggml.scores")![^1]);

        // Same Llama 2 vocabulary as the tiny-random model, read from a file made by a different tool.
        using var other = GgufFile.Open(TestAssets.Path("llama2-tiny-random-gguf/llama-2-tiny-random.gguf"));
        Assert.Equal(other.Metadata.GetArray<string>("tokenizer.ggml.tokens"), tokens);
    }

    [Theory]
    [InlineData("stories260K-gguf/stories260K-F16.gguf", "F16:37 F32:11")]
    [InlineData("stories260K-gguf/stories260K-Q8_0.gguf", "Q8_0:32 F32:16")]
    [InlineData("stories260K-gguf/stories260K-Q4_0.gguf", "Q4_0:32 F32:16")]
    [InlineData("stories260K-gguf/stories260K-Q4_K_M-fallback.gguf", "Q5_0:29 Q8_0:3 F16:5 F32:11")]
    [InlineData("synthetic-k256-gguf/synth-k256-f32.gguf", "F32:21")]
    [InlineData("synthetic-k256-gguf/synth-k256-F16.gguf", "F16:16 F32:5")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q8_0.gguf", "Q8_0:16 F32:5")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q6_K.gguf", "Q6_K:16 F32:5")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q5_K.gguf", "Q5_K:16 F32:5")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q4_K.gguf", "Q4_K:16 F32:5")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q4_K_M.gguf", "Q4_K:13 Q6_K:3 F32:5")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q4_0.gguf", "Q4_0:16 F32:5")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q3_K.gguf", "Q3_K:16 F32:5")]
    [InlineData("synthetic-k256-gguf/synth-k256-Q2_K.gguf", "Q2_K:16 F32:5")]
    public void TensorTypeMix(string asset, string expected)
    {
        using var f = GgufFile.Open(TestAssets.Path(asset));
        var counts = f.Tensors.GroupBy(t => t.Type).Select(g => $"{TensorTypeInfo.Get(g.Key).Name}:{g.Count()}").Order(StringComparer.Ordinal);
        Assert.Equal(expected.Split(' ').Order(StringComparer.Ordinal), counts);
    }

    [Fact]
    public void SyntheticK256_Metadata()
    {
        using var f = GgufFile.Open(TestAssets.Path("synthetic-k256-gguf/synth-k256-Q4_K.gguf"));
        var m = f.Metadata;
        Assert.Equal(256, m.GetInt("llama.embedding_length"));
        Assert.Equal(512, m.GetInt("llama.feed_forward_length"));
        Assert.Equal(2, m.GetInt("llama.block_count"));
        Assert.Equal(4, m.GetInt("llama.attention.head_count"));
        Assert.Equal(2, m.GetInt("llama.attention.head_count_kv"));
        Assert.Equal(512, m.GetInt("llama.context_length"));
        Assert.Equal(10000, m.GetFloat("llama.rope.freq_base"));
        Assert.Equal(512, m.GetArray<string>("tokenizer.ggml.tokens")!.Length);
        Assert.True(f.TryGetTensor("blk.0.ffn_down.weight", out var down));
        Assert.Equal([512L, 256L], down.Dimensions);
        Assert.Equal(256L * 2 * 144, down.ByteSize); // 2 Q4_K blocks of 144 bytes per 512-long row, 256 rows
    }

    /// <summary>Every file: directory entries are aligned, in bounds and disjoint; sizes follow from shape and type.</summary>
    [Theory]
    [MemberData(nameof(AllAssetFiles))]
    public void DirectoryIsConsistent(string asset)
    {
        using var f = GgufFile.Open(TestAssets.Path(asset));
        Assert.Equal(0, f.DataOffset % f.Alignment);
        long end = 0;
        foreach (var t in f.Tensors.OrderBy(t => t.Offset))
        {
            var info = TensorTypeInfo.Get(t.Type);
            Assert.Equal(t.ElementCount / info.BlockElements * info.BlockBytes, t.ByteSize);
            Assert.Equal(0, t.Offset % f.Alignment);
            Assert.True(t.Offset >= end, $"{t.Name} overlaps the tensor before it");
            end = t.Offset + t.ByteSize;
            Assert.True(f.DataOffset + end <= f.FileLength, $"{t.Name} runs past the end");
        }
    }

    /// <summary>Shapes, types and data agree with llama.cpp's own dump (llamacpp-reference.json): for F32 and F16
    /// tensors the SHA-256 of the float32 values must match ggml's, which proves each data offset.</summary>
    [Theory]
    [MemberData(nameof(AllAssetFiles))]
    public void MatchesLlamaCppTensorDigests(string asset)
    {
        string folder = System.IO.Path.GetDirectoryName(asset)!;
        string referencePath = System.IO.Path.Combine(TestAssets.Root, folder, "llamacpp-reference.json");
        if (!File.Exists(referencePath)) return; // the vocab-only file has no tensors and no reference
        using var json = JsonDocument.Parse(File.ReadAllBytes(referencePath));
        if (!json.RootElement.GetProperty("files").TryGetProperty(System.IO.Path.GetFileName(asset), out var entry)) return;

        using var f = GgufFile.Open(TestAssets.Path(asset));
        var expected = entry.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(expected.Count, f.Tensors.Count);
        int hashed = 0;
        foreach (var e in expected)
        {
            string name = e.GetProperty("name").GetString()!;
            Assert.True(f.TryGetTensor(name, out var t), $"missing {name}");
            var ne = e.GetProperty("ne").EnumerateArray().Select(x => x.GetInt64()).ToArray(); // ggml pads ne with 1s
            Assert.Equal(ne.Take(t.Dimensions.Length), t.Dimensions);
            Assert.All(ne.Skip(t.Dimensions.Length), n => Assert.Equal(1, n));
            Assert.Equal(e.GetProperty("type").GetString(), TensorTypeInfo.Get(t.Type).Name, StringComparer.OrdinalIgnoreCase);
            byte[]? asF32 = t.Type switch
            {
                GgmlType.F32 => f.TensorBytes(t).ToArray(),
                GgmlType.F16 => HalfToFloatBytes(f.TensorBytes(t)),
                _ => null,
            };
            if (asF32 is null) continue;
            Assert.Equal(e.GetProperty("dequant_f32le_sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(asF32)));
            hashed++;
        }
        Assert.True(hashed > 0 || f.Tensors.All(t => t.Type is not (GgmlType.F32 or GgmlType.F16)));
    }

    private static byte[] HalfToFloatBytes(ReadOnlySpan<byte> halves)
    {
        var result = new byte[halves.Length * 2];
        for (int i = 0; i < halves.Length / 2; i++)
        {
            float value = (float)BitConverter.UInt16BitsToHalf(BitConverter.ToUInt16(halves[(2 * i)..]));
            BitConverter.TryWriteBytes(result.AsSpan(4 * i), value);
        }
        return result;
    }

    private static void AssertTensor(GgufFile f, string name, long[] dims, long offset)
    {
        Assert.True(f.TryGetTensor(name, out var t), $"missing {name}");
        Assert.Equal(dims, t.Dimensions);
        Assert.Equal(offset, t.Offset);
    }
}
