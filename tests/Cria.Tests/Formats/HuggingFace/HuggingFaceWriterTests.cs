using Cria.Formats.Gguf;
using Cria.Formats.HuggingFace;
using Cria.Formats.SafeTensors;
using Cria.Model;
using Cria.Tensors;
using Cria.Tests.Formats.Gguf.Support;
using Cria.Tests.Infrastructure;
using Cria.Tests.Model;

namespace Cria.Tests.Formats.HuggingFace;

/// <summary>The HF writer: from GGUF and llama2.c it reproduces the fixture folders (made by PyTorch in
/// tools/fixtures/make_hf.py) byte for byte — so q/k permutation, BF16 rounding, the safetensors layout and config.json
/// are all as the reference makes them — and what it writes reads back to the same model.</summary>
public class HuggingFaceWriterTests
{
    private static void AssertSameFile(string expectedPath, string actualPath) =>
        Assert.True(File.ReadAllBytes(expectedPath).AsSpan().SequenceEqual(File.ReadAllBytes(actualPath)), $"'{actualPath}' differs from '{expectedPath}'");

    [Theory]
    [InlineData(SafeTensorsDType.F32, "stories260K-hf/f32")]
    [InlineData(SafeTensorsDType.BF16, "stories260K-hf")]
    public void Writing_the_llama2c_checkpoint_reproduces_the_fixture_byte_for_byte(SafeTensorsDType dtype, string fixture)
    {
        using var dir = new TempDir();
        using var checkpoint = ModelLoader.OpenCheckpoint(TestAssets.Path("stories260K/stories260K.bin")); // with tok512.bin: bos/eos go into config.json
        var result = HuggingFaceWriter.Write(checkpoint, dir.Path, new HuggingFaceWriteOptions { DType = dtype });
        Assert.True(result.PermutedQueryKey);
        Assert.Equal(["model.safetensors", "config.json"], result.Files);
        Assert.Empty(result.CopiedTokenizerFiles); // a llama2.c / GGUF vocabulary is not turned into tokenizer files
        AssertSameFile(TestAssets.Path(fixture + "/model.safetensors"), dir.File("model.safetensors"));
        AssertSameFile(TestAssets.Path(fixture + "/config.json"), dir.File("config.json"));
        Assert.Equal(["config.json", "model.safetensors"], Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName).Order());
    }

    [Theory]
    [InlineData(SafeTensorsDType.F32, "stories260K-hf/sharded")]
    [InlineData(SafeTensorsDType.BF16, "stories260K-hf")]
    public void Writing_the_gguf_gives_the_fixture_tensors_bit_for_bit(SafeTensorsDType dtype, string fixture)
    {
        // stories260K-f32.gguf has a separate output.weight (a copy of the embedding) and a 128-token context, so its
        // config differs from the fixtures'; its tensors must not.
        using var dir = new TempDir();
        using var gguf = GgufCheckpointReader.Open(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"));
        HuggingFaceWriter.Write(gguf, dir.Path, new HuggingFaceWriteOptions { DType = dtype });
        using var written = SafeTensorsFile.Open(dir.File("model.safetensors"));
        using var expected = HuggingFaceCheckpointReader.Open(TestAssets.Path(fixture), withTokenizer: false);
        Assert.Equal(48, written.Tensors.Count);
        foreach (var t in written.Tensors)
        {
            var reference = expected.Tensors.SingleOrDefault(e => e.SourceName == t.Name) ?? expected.Tensor("token_embd.weight"); // lm_head = embedding
            var bytes = new byte[reference.ByteSize];
            for (int row = 0; row < reference.Rows; row++) reference.ReadRow(row, bytes.AsSpan((int)(row * reference.RowBytes), (int)reference.RowBytes));
            Assert.True(bytes.AsSpan().SequenceEqual(written.Bytes(t)), $"'{t.Name}' differs from {fixture}");
        }
    }

    [Fact]
    public void Rewriting_the_sharded_fixture_reproduces_its_shards_index_config_and_tokenizer()
    {
        using var dir = new TempDir();
        string fixture = TestAssets.Path("stories260K-hf/sharded");
        using var checkpoint = HuggingFaceCheckpointReader.Open(fixture, withTokenizer: false);
        // The fixture puts the embedding and layers 0–2 (676352 bytes) in the first shard: a limit below that plus
        // layer 3's first tensor splits there, as huggingface_hub's greedy split does.
        var result = HuggingFaceWriter.Write(checkpoint, dir.Path, new HuggingFaceWriteOptions { DType = SafeTensorsDType.F32, MaxShardBytes = 680_000 });
        Assert.False(result.PermutedQueryKey); // already in HF order
        Assert.Equal(["tokenizer.model"], result.CopiedTokenizerFiles);
        foreach (string file in new[] { "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json", "config.json", "tokenizer.model" })
            AssertSameFile(Path.Combine(fixture, file), dir.File(file));
        Assert.Equal(5, Directory.EnumerateFileSystemEntries(dir.Path).Count());
    }

    // Logit tolerances: none beyond float32 summation order when values are kept exactly (F32 targets, dequantised
    // values are exact in F32); the rounding of F32 norms to F16 (≈0.006 measured), or of weights to BF16 (the fixture
    // reports 0.093 between its BF16 and F32 models), otherwise.
    [Theory]
    [InlineData("stories260K-gguf/stories260K-f32.gguf", SafeTensorsDType.F32, 2e-5f)]
    [InlineData("stories260K-gguf/stories260K-f32.gguf", SafeTensorsDType.BF16, 0.15f)]
    [InlineData("stories260K-gguf/stories260K-F16.gguf", SafeTensorsDType.F16, 0.02f)]
    [InlineData("stories260K-gguf/stories260K-F16.gguf", SafeTensorsDType.F32, 2e-5f)]
    [InlineData("stories260K-gguf/stories260K-Q8_0.gguf", SafeTensorsDType.F32, 2e-5f)]
    [InlineData("stories260K-gguf/stories260K-Q4_0.gguf", SafeTensorsDType.F32, 2e-5f)]
    [InlineData("stories260K-gguf/stories260K-Q4_K_M-fallback.gguf", SafeTensorsDType.BF16, 0.15f)]
    public void Gguf_to_HF_reads_back_with_the_same_values_and_logits(string source, SafeTensorsDType dtype, float tolerance)
    {
        using var dir = new TempDir();
        using var gguf = GgufCheckpointReader.Open(TestAssets.Path(source));
        HuggingFaceWriter.Write(gguf, dir.Path, new HuggingFaceWriteOptions { DType = dtype });
        using var hf = HuggingFaceCheckpointReader.Open(dir.Path, withTokenizer: false);
        Assert.Equal(gguf.Config with { RopeStyle = RopeStyle.Halves }, hf.Config);

        foreach (var expected in gguf.Tensors)
        {
            var actual = hf.Tensor(expected.Name);
            Assert.Equal(expected.Dimensions, actual.Dimensions);
            bool sameType = SafeTensorsDTypes.TryFromGgmlType(expected.Type, out var t) && t == dtype;
            for (int row = 0; row < expected.Rows; row++)
            {
                int hfRow = HfPermutation.HfRow(expected.Name, row, gguf.Config);
                if (sameType) // bit for bit, whatever the values (NaN payloads included)
                    Assert.True(HfPermutation.RowBytes(expected, row).AsSpan().SequenceEqual(HfPermutation.RowBytes(actual, hfRow)), $"'{expected.Name}' row {row}");
                else
                {
                    float[] want = HfPermutation.RowFloats(expected, row);
                    if (dtype == SafeTensorsDType.BF16) want = want.Select(v => BitConverter.UInt32BitsToSingle((uint)FloatRounding.ToBF16(v) << 16)).ToArray();
                    if (dtype == SafeTensorsDType.F16) want = want.Select(v => (float)BitConverter.UInt16BitsToHalf(FloatRounding.ToF16(v))).ToArray();
                    Assert.Equal(want, HfPermutation.RowFloats(actual, hfRow));
                }
            }
        }

        int[] ids = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315];
        var expectedLogits = HuggingFaceReferenceLogitsTests.AllLogits(gguf, ids);
        var actualLogits = HuggingFaceReferenceLogitsTests.AllLogits(hf, ids);
        Llama2cForwardTests.AssertClose(expectedLogits, actualLogits, tolerance, $"{source} → HF {dtype}");
    }

    public static TheoryData<string> SyntheticSpecs => new(SyntheticLlama.Specs.Where(s => !s.RopeFreqsTensor).Select(s => s.Name));

    [Theory]
    [MemberData(nameof(SyntheticSpecs))]
    public void Synthetic_architecture_corners_survive_the_round_trip(string name)
    {
        // GQA down to 1 KV head, heads wider than dim/heads, RoPE base 500000 and eps 1e-6, linear scaling, tied, F16.
        var spec = SyntheticLlama.Specs.Single(s => s.Name == name);
        using var dir = new TempDir();
        string ggufPath = dir.File("synthetic.gguf");
        using (var vocabulary = GgufFile.Open(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf")))
            SyntheticLlama.Write(spec, ggufPath, vocabulary.Metadata);
        using var gguf = GgufCheckpointReader.Open(ggufPath);
        string hfFolder = Path.Combine(dir.Path, "hf");
        HuggingFaceWriter.Write(gguf, hfFolder, new HuggingFaceWriteOptions { DType = SafeTensorsDType.F32 });
        using var hf = HuggingFaceCheckpointReader.Open(hfFolder, withTokenizer: false);
        Assert.Equal(gguf.Config with { RopeStyle = RopeStyle.Halves }, hf.Config);
        int[] ids = SyntheticLlama.PromptIds;
        Llama2cForwardTests.AssertClose(HuggingFaceReferenceLogitsTests.AllLogits(gguf, ids), HuggingFaceReferenceLogitsTests.AllLogits(hf, ids), 1e-4f, name);
    }

    [Fact]
    public void Llama31_scaling_given_only_as_a_rope_freqs_tensor_is_refused()
    {
        var spec = SyntheticLlama.Specs.Single(s => s.RopeFreqsTensor);
        using var dir = new TempDir();
        string ggufPath = dir.File("synthetic.gguf");
        using (var vocabulary = GgufFile.Open(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf")))
            SyntheticLlama.Write(spec, ggufPath, vocabulary.Metadata);
        using var gguf = GgufCheckpointReader.Open(ggufPath);
        var e = Assert.Throws<CriaException>(() => HuggingFaceWriter.Write(gguf, Path.Combine(dir.Path, "hf")));
        Assert.Contains("rope_freqs", e.Message);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "hf")) && Directory.EnumerateFileSystemEntries(Path.Combine(dir.Path, "hf")).Any());
    }

    [Fact]
    public unsafe void Llama3_scaling_stored_only_as_rope_freqs_is_recovered_when_the_published_parameters_give_it()
    {
        // As llama.cpp converts Llama 3.2: rope_freqs holds the divisors of llama3 scaling (factor 32, low 1, high 4,
        // original context 8192) and no scaling key is written.
        using var dir = new TempDir();
        using var gguf = GgufCheckpointReader.Open(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"));
        var config = gguf.Config with { RopeTheta = 500000f };
        var llama32 = new RopeScaling(RopeScalingKind.Llama3, 32, 1, 4, 8192);
        var factors = (float*)System.Runtime.InteropServices.NativeMemory.Alloc(4, sizeof(float));
        try
        {
            for (int i = 0; i < 4; i++)
            {
                double frequency = Math.Pow(500000.0, -2.0 * i / 8);
                factors[i] = (float)(frequency / llama32.ScaleLlama3(frequency));
            }
            Assert.True(factors[3] > 31 && factors[0] == 1, "the test needs divisors that differ");
            var tensors = gguf.Tensors.Append(TensorData.Contiguous("rope_freqs.weight", "rope_freqs.weight", GgmlType.F32, [4], (byte*)factors)).ToList();
            var source = new LlamaCheckpoint(gguf.Format, gguf.Naming, gguf.Path, config, tensors, null, null);
            HuggingFaceWriter.Write(source, dir.Path, new HuggingFaceWriteOptions { DType = SafeTensorsDType.F32 });
            using var hf = HuggingFaceCheckpointReader.Open(dir.Path, withTokenizer: false);
            Assert.Equal(llama32, hf.Config.RopeScaling);
            Assert.False(hf.TryGetTensor("rope_freqs.weight", out _));
            int[] ids = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426];
            Llama2cForwardTests.AssertClose(HuggingFaceReferenceLogitsTests.AllLogits(source, ids), HuggingFaceReferenceLogitsTests.AllLogits(hf, ids), 2e-5f, "rope_freqs → llama3");

            factors[2] *= 1.01f; // no longer what any llama3 parameters give: refused
            var e = Assert.Throws<CriaException>(() => HuggingFaceWriter.Write(source, Path.Combine(dir.Path, "bad")));
            Assert.Contains("rope_freqs[2]", e.Message);
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.Free(factors);
        }
    }

    [Fact]
    public void Llama3_scaling_parameters_are_written_and_read_back()
    {
        using var dir = new TempDir();
        using var gguf = GgufCheckpointReader.Open(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"));
        var scaling = new RopeScaling(RopeScalingKind.Llama3, 8, 1, 4, 64);
        var scaled = new LlamaCheckpoint(gguf.Format, gguf.Naming, gguf.Path, gguf.Config with { RopeScaling = scaling, RopeTheta = 500000f }, gguf.Tensors, null, null);
        HuggingFaceWriter.Write(scaled, dir.Path, new HuggingFaceWriteOptions { DType = SafeTensorsDType.F32 });
        string config = File.ReadAllText(dir.File("config.json"));
        Assert.Contains("\"rope_scaling\": {\n    \"factor\": 8.0,\n    \"high_freq_factor\": 4.0,\n    \"low_freq_factor\": 1.0,\n" +
                        "    \"original_max_position_embeddings\": 64,\n    \"rope_type\": \"llama3\"\n  },\n  \"rope_theta\": 500000.0,", config);
        using var hf = HuggingFaceCheckpointReader.Open(dir.Path, withTokenizer: false);
        Assert.Equal(scaling, hf.Config.RopeScaling);
        int[] ids = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426];
        Llama2cForwardTests.AssertClose(HuggingFaceReferenceLogitsTests.AllLogits(scaled, ids), HuggingFaceReferenceLogitsTests.AllLogits(hf, ids), 3e-5f, "llama3 scaling"); // rotate-half vs adjacent-pair RoPE sums in other orders
    }

    [Fact]
    public void A_model_over_the_shard_limit_is_split_and_reads_back_whole()
    {
        using var dir = new TempDir();
        using var gguf = GgufCheckpointReader.Open(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"));
        var result = HuggingFaceWriter.Write(gguf, dir.Path, new HuggingFaceWriteOptions { DType = SafeTensorsDType.BF16, MaxShardBytes = 100_000 });
        int shards = result.Files.Count - 2;
        Assert.True(shards > 5, $"{shards} shards");
        Assert.Equal(Enumerable.Range(1, shards).Select(i => $"model-{i:00000}-of-{shards:00000}.safetensors").Append("model.safetensors.index.json").Append("config.json"),
            result.Files);
        Assert.Equal(292_800 * 2, result.TensorBytes); // untied: the embedding twice
        foreach (string shard in result.Files.Take(shards))
        {
            using var file = SafeTensorsFile.Open(dir.File(shard));
            Assert.True(file.Tensors[^1].End <= 100_000 || file.Tensors.Count == 1, $"{shard} holds {file.Tensors[^1].End} bytes");
        }
        using var hf = HuggingFaceCheckpointReader.Open(dir.File(result.Files[2]), withTokenizer: false); // a shard opens the whole model
        using var fixture = HuggingFaceCheckpointReader.Open(TestAssets.Path("stories260K-hf"), withTokenizer: false);
        foreach (var t in fixture.Tensors)
            for (int row = 0; row < t.Rows; row++)
                Assert.Equal(HfPermutation.RowBytes(t, row), HfPermutation.RowBytes(hf.Tensor(t.Name), row));
    }

    [Fact]
    public void An_existing_checkpoint_is_kept_unless_overwrite_and_then_no_stale_shard_is_left()
    {
        using var dir = new TempDir();
        using var gguf = GgufCheckpointReader.Open(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"));
        HuggingFaceWriter.Write(gguf, dir.Path, new HuggingFaceWriteOptions { MaxShardBytes = 300_000 });
        Assert.True(File.Exists(dir.File("model.safetensors.index.json")));
        dir.Write("notes.txt", "mine"u8);
        var e = Assert.Throws<CriaException>(() => HuggingFaceWriter.Write(gguf, dir.Path));
        Assert.Contains("already holds a checkpoint", e.Message);

        HuggingFaceWriter.Write(gguf, dir.Path, new HuggingFaceWriteOptions { Overwrite = true });
        Assert.Equal(["config.json", "model.safetensors", "notes.txt"], Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName).Order());
        using var hf = HuggingFaceCheckpointReader.Open(dir.Path, withTokenizer: false);
        Assert.Equal(GgmlType.F32, hf.Tensor("blk.0.attn_q.weight").Type); // the default: the source matrices' type
    }

    [Fact]
    public unsafe void A_write_that_fails_midway_leaves_the_folder_as_it_was()
    {
        using var dir = new TempDir();
        using var gguf = GgufCheckpointReader.Open(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"));
        HuggingFaceWriter.Write(gguf, dir.Path);
        var before = Directory.EnumerateFiles(dir.Path).ToDictionary(f => f, File.ReadAllBytes);
        // A late tensor of a type Cria has no kernels for: dequantising it fails after earlier shards are written.
        var tensors = gguf.Tensors.Select(t => t.Name != "blk.4.ffn_down.weight" ? t
            : TensorData.Contiguous(t.Name, t.SourceName, GgmlType.I8, t.Dimensions, t.Parts[0].Data)).ToList();
        var broken = new LlamaCheckpoint(gguf.Format, gguf.Naming, gguf.Path, gguf.Config, tensors, null, null);
        var e = Assert.Throws<CriaException>(() => HuggingFaceWriter.Write(broken, dir.Path, new HuggingFaceWriteOptions { Overwrite = true, MaxShardBytes = 200_000 }));
        Assert.Contains("I8", e.Message);
        Assert.Equal(before.Keys.Order(), Directory.EnumerateFileSystemEntries(dir.Path).Order());
        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));
    }

    [Fact]
    public void Tensors_stream_through_without_a_whole_tensor_in_memory()
    {
        // Two random models, the second with 64x larger matrices: what a write allocates must not grow with them.
        using var dir = new TempDir();
        long Allocated(SyntheticLlamaSpec spec, SafeTensorsDType dtype, out long tensorBytes)
        {
            string ggufPath = dir.File($"{spec.Name}-{dtype}.gguf");
            using (var vocabulary = GgufFile.Open(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf")))
                SyntheticLlama.Write(spec, ggufPath, vocabulary.Metadata);
            using var gguf = GgufCheckpointReader.Open(ggufPath);
            HuggingFaceWriter.Write(gguf, Path.Combine(dir.Path, $"{spec.Name}-{dtype}-warm"), new HuggingFaceWriteOptions { DType = dtype }); // JIT outside
            long before = GC.GetAllocatedBytesForCurrentThread();
            tensorBytes = HuggingFaceWriter.Write(gguf, Path.Combine(dir.Path, $"{spec.Name}-{dtype}-hf"), new HuggingFaceWriteOptions { DType = dtype }).TensorBytes;
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        foreach (var dtype in new[] { SafeTensorsDType.F32, SafeTensorsDType.BF16 })
        {
            long small = Allocated(new SyntheticLlamaSpec("small", Dim: 64, Hidden: 96, MatrixType: GgmlType.F16), dtype, out long smallBytes);
            long large = Allocated(new SyntheticLlamaSpec("large", Dim: 512, Hidden: 768, Heads: 8, KvHeads: 4, MatrixType: GgmlType.F16), dtype, out long largeBytes);
            Assert.True(largeBytes > 10 * smallBytes);
            // Row buffers grow with the row length (a few kB); a copy of a tensor (1 MB and more here) would show.
            Assert.True(large - small < 64 * 1024, $"{dtype}: writing {smallBytes:N0} bytes allocated {small:N0}; writing {largeBytes:N0} allocated {large:N0}");
        }
    }

    [Fact]
    public void Python_float_repr_is_reproduced()
    {
        Assert.Equal("1e-05", HuggingFaceConfigWriter.PythonFloat(1e-5f));
        Assert.Equal("1e-06", HuggingFaceConfigWriter.PythonFloat(1e-6f));
        Assert.Equal("10000.0", HuggingFaceConfigWriter.PythonFloat(10000f));
        Assert.Equal("500000.0", HuggingFaceConfigWriter.PythonFloat(500000f));
        Assert.Equal("0.02", HuggingFaceConfigWriter.PythonFloat(0.02));
        Assert.Equal("0.0001", HuggingFaceConfigWriter.PythonFloat(0.0001));
        Assert.Equal("1234.5", HuggingFaceConfigWriter.PythonFloat(1234.5));
        Assert.Equal("1e+16", HuggingFaceConfigWriter.PythonFloat(1e16));
        Assert.Equal("1000000000000000.0", HuggingFaceConfigWriter.PythonFloat(1e15));
        Assert.Equal("1.5e-07", HuggingFaceConfigWriter.PythonFloat(1.5e-7));
        Assert.Equal("-2.5", HuggingFaceConfigWriter.PythonFloat(-2.5));
        Assert.Equal("0.0", HuggingFaceConfigWriter.PythonFloat(0.0));
        Assert.Equal("0.1", HuggingFaceConfigWriter.PythonFloat(0.1));
    }
}
