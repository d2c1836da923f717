using Cria.Formats.HuggingFace;
using Cria.Formats.SafeTensors;
using Cria.Model;
using Cria.Tests.Formats.Gguf.Support;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Formats.HuggingFace;

/// <summary>Which paths open a Hugging Face checkpoint (folder, config.json, a safetensors file, a shard, the index),
/// and a clear error for every way a folder can be wrong: stray or missing tensors, dtypes that cannot be weights,
/// broken indexes, an unreadable tokenizer.</summary>
public class HuggingFaceCheckpointReaderTests
{
    private static readonly string F32 = TestAssets.Path("stories260K-hf/f32");
    private static readonly string Sharded = TestAssets.Path("stories260K-hf/sharded");

    private sealed record Tensor(string Name, SafeTensorsDType DType, long[] Shape, byte[] Data);

    /// <summary>A copy of the f32 fixture with its tensor list edited, and config.json (edited by <paramref name="config"/>).</summary>
    private static void WriteModel(string folder, Func<List<Tensor>, IEnumerable<Tensor>> edit, Func<string, string>? config = null)
    {
        Directory.CreateDirectory(folder);
        List<Tensor> tensors;
        using (var source = SafeTensorsFile.Open(Path.Combine(F32, "model.safetensors")))
            tensors = source.Tensors.Select(t => new Tensor(t.Name, t.DType, t.Shape, source.Bytes(t).ToArray())).ToList();
        using (var w = new SafeTensorsWriter(Path.Combine(folder, "model.safetensors")))
        {
            var edited = edit(tensors).ToDictionary(t => t.Name);
            foreach (var t in edited.Values) w.AddTensor(t.Name, t.DType, t.Shape);
            foreach (var t in w.Layout) w.WriteTensor(t.Name, edited[t.Name].Data);
            w.Complete();
        }
        string json = File.ReadAllText(Path.Combine(F32, "config.json"));
        File.WriteAllText(Path.Combine(folder, "config.json"), config?.Invoke(json) ?? json);
    }

    private static Tensor Vector(string name, int length) => new(name, SafeTensorsDType.F32, [length], new byte[length * 4]);

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }

    [Theory]
    [InlineData("stories260K-hf/f32", 47)]
    [InlineData("stories260K-hf/f32/config.json", 47)]
    [InlineData("stories260K-hf/f32/model.safetensors", 47)]
    [InlineData("stories260K-hf/sharded", 48)]
    [InlineData("stories260K-hf/sharded/model.safetensors.index.json", 48)]
    [InlineData("stories260K-hf/sharded/model-00002-of-00002.safetensors", 48)]
    public void Every_way_of_naming_the_checkpoint_opens_all_of_it(string path, int tensors)
    {
        string full = TestAssets.Path(path);
        Assert.True(HuggingFaceCheckpointReader.IsHuggingFace(full));
        using var checkpoint = HuggingFaceCheckpointReader.Open(full, withTokenizer: false);
        Assert.Equal(tensors, checkpoint.Tensors.Count);
        Assert.Equal(("Hugging Face", "Hugging Face"), (checkpoint.Format, checkpoint.Naming));
        Assert.Equal(Path.GetDirectoryName(TestAssets.Path(path.Contains('.') ? path : path + "/config.json")), checkpoint.Path);
    }

    [Fact]
    public void ModelLoader_routes_HF_paths_and_leaves_the_others_alone()
    {
        string tokenizer = TestAssets.Path("stories260K/tok512.bin");
        foreach (string path in new[] { F32, Path.Combine(Sharded, "model-00001-of-00002.safetensors"), Path.Combine(F32, "config.json") })
        {
            using var checkpoint = ModelLoader.OpenCheckpoint(path, tokenizer);
            Assert.Equal("Hugging Face", checkpoint.Format);
            Assert.Equal(512, checkpoint.Tokenizer!.VocabSize);
        }
        foreach (string other in new[] { "stories260K-gguf/stories260K-f32.gguf", "stories260K/stories260K.bin", "stories260K" })
            Assert.False(HuggingFaceCheckpointReader.IsHuggingFace(TestAssets.Path(other)));
    }

    [Fact]
    public void Derived_rotary_buffers_are_skipped_and_a_config_tie_drops_a_stored_lm_head()
    {
        using var dir = new TempDir();
        WriteModel(dir.Path, t => t.Append(Vector("model.layers.0.self_attn.rotary_emb.inv_freq", 4))
            .Append(t.Single(x => x.Name == "model.embed_tokens.weight") with { Name = "lm_head.weight" }));
        using var checkpoint = HuggingFaceCheckpointReader.Open(dir.Path, withTokenizer: false);
        Assert.True(checkpoint.Config.TiedOutput); // tie_word_embeddings: true wins, as in transformers
        Assert.Equal(47, checkpoint.Tensors.Count);
        Assert.False(checkpoint.TryGetTensor("output.weight", out _));
    }

    [Fact]
    public void Without_lm_head_the_output_is_tied_even_if_the_config_says_otherwise()
    {
        using var dir = new TempDir();
        WriteModel(dir.Path, t => t, config => config.Replace("\"tie_word_embeddings\": true", "\"tie_word_embeddings\": false"));
        using var checkpoint = HuggingFaceCheckpointReader.Open(dir.Path, withTokenizer: false);
        Assert.True(checkpoint.Config.TiedOutput);
    }

    public static TheoryData<string> BadModels => new(BadModelCases.Keys);

    private static readonly Dictionary<string, (Func<List<Tensor>, IEnumerable<Tensor>> Edit, string Says)> BadModelCases = new()
    {
        ["a bias"] = (t => t.Append(Vector("model.layers.0.self_attn.q_proj.bias", 64)), "'model.layers.0.self_attn.q_proj.bias' in 'model.safetensors' is not part of a LlamaForCausalLM"),
        ["a layer past the config"] = (t => t.Append(Vector("model.layers.7.input_layernorm.weight", 64)), "is for layer 7, but config.json says num_hidden_layers = 5"),
        ["a zero-padded layer number"] = (t => t.Append(Vector("model.layers.01.input_layernorm.weight", 64)), "'model.layers.01.input_layernorm.weight'"),
        ["a missing tensor"] = (t => t.Where(x => x.Name != "model.layers.4.mlp.up_proj.weight"), "1 tensor(s) missing, e.g. 'model.layers.4.mlp.up_proj.weight'"),
        ["an integer weight"] = (t => t.Select(x => x.Name == "model.layers.1.self_attn.q_proj.weight" ? x with { DType = SafeTensorsDType.I32 } : x),
            "'model.layers.1.self_attn.q_proj.weight' has dtype I32, which Cria cannot use as a weight"),
        ["an FP8 weight"] = (t => t.Select(x => x.Name == "model.norm.weight" ? x with { DType = SafeTensorsDType.F8_E4M3, Shape = [256] } : x),
            "'model.norm.weight' has dtype F8_E4M3"),
    };

    [Theory]
    [MemberData(nameof(BadModels))]
    public void A_folder_with_wrong_tensors_is_refused_by_name(string name)
    {
        using var dir = new TempDir();
        var (edit, says) = BadModelCases[name];
        WriteModel(dir.Path, edit);
        var e = Assert.ThrowsAny<CriaException>(() => HuggingFaceCheckpointReader.Open(dir.Path, withTokenizer: false));
        Assert.Contains(says, e.Message);
    }

    [Fact]
    public void A_tensor_of_the_wrong_shape_is_named_when_the_model_is_built()
    {
        using var dir = new TempDir();
        WriteModel(dir.Path, t => t.Select(x => x.Name == "model.layers.2.self_attn.k_proj.weight" ? x with { Shape = [64, 32] } : x));
        using var checkpoint = HuggingFaceCheckpointReader.Open(dir.Path, withTokenizer: false);
        var e = Assert.Throws<ModelFormatException>(() => LlamaWeightsBuilder.Build(checkpoint));
        Assert.Contains("'model.layers.2.self_attn.k_proj.weight' has shape 64 x 32, expected 32 x 64", e.Message);
    }

    [Fact]
    public void Missing_files_are_named()
    {
        using var dir = new TempDir();
        File.Copy(Path.Combine(F32, "model.safetensors"), dir.File("model.safetensors"));
        Assert.Contains("no config.json", Assert.Throws<CriaException>(() => HuggingFaceCheckpointReader.Open(dir.File("model.safetensors"))).Message);

        File.Copy(Path.Combine(F32, "config.json"), dir.File("config.json"));
        File.Delete(dir.File("model.safetensors"));
        dir.Write("pytorch_model.bin", [1, 2, 3]);
        var e = Assert.Throws<CriaException>(() => HuggingFaceCheckpointReader.Open(dir.Path));
        Assert.Contains("has neither model.safetensors nor model.safetensors.index.json", e.Message);
        Assert.Contains("'pytorch_model.bin' is a PyTorch pickle", e.Message);
        Assert.Contains("model not found", Assert.Throws<CriaException>(() => HuggingFaceCheckpointReader.Open(dir.File("nothing-here"))).Message);
    }

    [Fact]
    public void An_unreadable_tokenizer_is_named_and_another_can_be_given()
    {
        using var dir = new TempDir();
        CopyFolder(F32, dir.Path);
        File.WriteAllBytes(dir.File("tokenizer.model"), [0xFF, 0x00, 0x13, 0x37]);
        var e = Assert.ThrowsAny<CriaException>(() => HuggingFaceCheckpointReader.Open(dir.Path));
        Assert.Contains("cannot load its tokenizer 'tokenizer.model'", e.Message);
        Assert.Contains("--tokenizer", e.Message);
        using var checkpoint = HuggingFaceCheckpointReader.Open(dir.Path, TestAssets.Path("stories260K/tok512.bin"));
        Assert.Equal(1, checkpoint.Tokenizer!.BosId);
        File.Delete(dir.File("tokenizer.model"));
        using var bare = HuggingFaceCheckpointReader.Open(dir.Path);
        Assert.Null(bare.Tokenizer); // ModelLoader.Load then asks for --tokenizer
    }

    private static readonly Dictionary<string, (Func<string, string> Edit, string Says)> BadIndexCases = new()
    {
        ["not JSON"] = (_ => "{\"weight_map\": {", "not valid JSON"),
        ["an array"] = (_ => "[]", "expected a JSON object, found Array"),
        ["no weight_map"] = (_ => "{\"metadata\": {}}", "no 'weight_map' object"),
        ["weight_map an array"] = (_ => "{\"weight_map\": []}", "no 'weight_map' object"),
        ["empty weight_map"] = (_ => "{\"weight_map\": {}}", "weight_map is empty"),
        ["a lone surrogate in a name"] = (j => j.Replace("\"lm_head.weight\"", "\"lm_head\\udc00.weight\""), "not valid Unicode"),
        ["a file name that is a number"] = (j => j.Replace("\"model-00002-of-00002.safetensors\"", "2"), "is Number, not a file name"),
        ["a path out of the folder"] = (j => j.Replace("\"model-00002-of-00002.safetensors\"", "\"../model-00002-of-00002.safetensors\""), "is not a plain file name"),
        ["a path into a subfolder"] = (j => j.Replace("\"model-00002-of-00002.safetensors\"", "\"sub/x.safetensors\""), "'sub/x.safetensors' is not a plain file name"),
        ["an absolute path"] = (j => j.Replace("\"model-00002-of-00002.safetensors\"", "\"/etc/passwd\""), "is not a plain file name"),
        ["a missing shard"] = (j => j.Replace("model-00002-of-00002", "model-00002-of-00003"), "lists 'model-00002-of-00003.safetensors', which is not in"),
        ["a tensor placed in the wrong shard"] = (j => j.Replace("\"model.norm.weight\": \"model-00002-of-00002.safetensors\"", "\"model.norm.weight\": \"model-00001-of-00002.safetensors\""),
            "places 'model.norm.weight' in 'model-00001-of-00002.safetensors', which has no such tensor"),
        ["a duplicate entry"] = (j => j.Replace("\"lm_head.weight\": \"model-00002-of-00002.safetensors\",", "\"lm_head.weight\": \"model-00002-of-00002.safetensors\", \"lm_head.weight\": \"model-00002-of-00002.safetensors\","),
            "'lm_head.weight' appears twice in weight_map"),
    };

    public static TheoryData<string> BadIndexes => new(BadIndexCases.Keys);

    [Theory]
    [MemberData(nameof(BadIndexes))]
    public void A_broken_index_is_refused_clearly_quickly_and_cheaply(string name)
    {
        using var dir = new TempDir();
        CopyFolder(Sharded, dir.Path);
        string index = dir.File("model.safetensors.index.json");
        File.WriteAllText(index, BadIndexCases[name].Edit(File.ReadAllText(index)));
        HuggingFaceCheckpointReader.Open(Sharded, withTokenizer: false).Dispose(); // JIT outside the measured call
        GgufAssert.RejectsCheaply<ModelFormatException>(() => HuggingFaceCheckpointReader.Open(dir.Path, withTokenizer: false).Dispose(), BadIndexCases[name].Says);
    }

    [Fact]
    public void A_tensor_in_two_shards_is_refused()
    {
        using var dir = new TempDir();
        CopyFolder(Sharded, dir.Path);
        // Rewrite shard 2 with a second copy of the embedding (the index still places it in shard 1).
        string shard2 = dir.File("model-00002-of-00002.safetensors");
        using (var one = SafeTensorsFile.Open(dir.File("model-00001-of-00002.safetensors")))
        using (var two = SafeTensorsFile.Open(Path.Combine(Sharded, "model-00002-of-00002.safetensors")))
        using (var w = new SafeTensorsWriter(shard2))
        {
            foreach (var t in two.Tensors) w.AddTensor(t.Name, t.DType, t.Shape);
            var embed = one.Tensor("model.embed_tokens.weight");
            w.AddTensor(embed.Name, embed.DType, embed.Shape);
            foreach (var t in w.Layout) w.WriteTensor(t.Name, t.Name == embed.Name ? one.Bytes(embed) : two.Bytes(two.Tensor(t.Name)));
            w.Complete();
        }
        var e = Assert.Throws<ModelFormatException>(() => HuggingFaceCheckpointReader.Open(dir.Path, withTokenizer: false));
        Assert.Contains("'model.embed_tokens.weight' is in both 'model-00001-of-00002.safetensors' and 'model-00002-of-00002.safetensors'", e.Message);
    }

    [Fact]
    public void A_huge_index_is_refused_without_reading_it()
    {
        using var dir = new TempDir();
        CopyFolder(Sharded, dir.Path);
        using (var stream = new FileStream(dir.File("model.safetensors.index.json"), FileMode.Truncate)) stream.SetLength(1L << 33);
        GgufAssert.RejectsCheaply<ModelFormatException>(() => HuggingFaceCheckpointReader.Open(dir.Path, withTokenizer: false), "8589934592 bytes is too large");
    }
}
