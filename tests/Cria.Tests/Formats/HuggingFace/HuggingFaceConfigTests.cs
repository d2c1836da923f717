using System.Text.Json;
using System.Text.Json.Nodes;
using Cria.Formats.HuggingFace;
using Cria.Model;
using Cria.Tests.Formats.Gguf.Support;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Formats.HuggingFace;

/// <summary>config.json: the fixture's values, transformers' defaults for absent keys, both RoPE scaling spellings
/// (rope_scaling with rope_type or type; v5's rope_parameters), and a clear error for everything Cria does not run.</summary>
public class HuggingFaceConfigTests
{
    private static JsonObject Fixture() => JsonNode.Parse(File.ReadAllText(TestAssets.Path("stories260K-hf/config.json")))!.AsObject();

    private static HuggingFaceConfig Parse(JsonObject json) => HuggingFaceConfig.FromJson(JsonDocument.Parse(json.ToJsonString()).RootElement, "config 'test'");

    private static HuggingFaceConfig With(Action<JsonObject> change)
    {
        var json = Fixture();
        change(json);
        return Parse(json);
    }

    [Fact]
    public void Fixture_config_reads_as_its_provenance_states()
    {
        var hf = HuggingFaceConfig.Read(TestAssets.Path("stories260K-hf/config.json"));
        var c = hf.Config;
        Assert.Equal((64, 172, 5, 8, 4, 8, 512, 512), (c.Dim, c.HiddenDim, c.LayerCount, c.HeadCount, c.KvHeadCount, c.HeadDim, c.VocabSize, c.ContextLength));
        Assert.Equal((1e-5f, 10000f, RopeStyle.Halves, RopeScaling.None, 8), (c.RmsEps, c.RopeTheta, c.RopeStyle, c.RopeScaling, c.RopeDim));
        Assert.True(hf.TieWordEmbeddings);
        Assert.Equal(("bfloat16", 1, 2), (hf.TorchDType, hf.BosTokenId, hf.EosTokenId));
        Assert.False(HuggingFaceConfig.Read(TestAssets.Path("stories260K-hf/sharded/config.json")).TieWordEmbeddings);
    }

    [Fact]
    public void Absent_keys_take_transformers_defaults()
    {
        var hf = With(j =>
        {
            foreach (string key in new[] { "num_key_value_heads", "head_dim", "rms_norm_eps", "rope_theta", "rope_scaling", "tie_word_embeddings",
                         "vocab_size", "max_position_embeddings", "bos_token_id", "eos_token_id", "torch_dtype", "architectures" })
                j.Remove(key);
        });
        var c = hf.Config;
        Assert.Equal((8, 8, 1e-6f, 10000f, 32000, 2048), (c.KvHeadCount, c.HeadDim, c.RmsEps, c.RopeTheta, c.VocabSize, c.ContextLength));
        Assert.False(hf.TieWordEmbeddings);
        Assert.Null(hf.BosTokenId);
        Assert.Null(hf.TorchDType);
        Assert.Equal(8, With(j => j["num_key_value_heads"] = null).Config.KvHeadCount); // null means the default too
    }

    [Fact]
    public void Llama3_and_linear_scaling_are_read_in_every_spelling()
    {
        var llama31 = new RopeScaling(RopeScalingKind.Llama3, 8, 1, 4, 8192);
        JsonObject Llama3(string key) => new()
        {
            ["factor"] = 8.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = 8192, [key] = "llama3",
        };
        Assert.Equal(llama31, With(j => j["rope_scaling"] = Llama3("rope_type")).Config.RopeScaling);
        Assert.Equal(llama31, With(j => j["rope_scaling"] = Llama3("type")).Config.RopeScaling); // older configs
        Assert.Equal(new RopeScaling(RopeScalingKind.Linear, 4), With(j => j["rope_scaling"] = new JsonObject { ["type"] = "linear", ["factor"] = 4.0 }).Config.RopeScaling);
        Assert.Equal(RopeScaling.None, With(j => j["rope_scaling"] = new JsonObject { ["rope_type"] = "default" }).Config.RopeScaling);

        var v5 = With(j =>
        {
            j.Remove("rope_theta");
            j.Remove("rope_scaling");
            var parameters = Llama3("rope_type");
            parameters["rope_theta"] = 500000.0;
            j["rope_parameters"] = parameters;
        });
        Assert.Equal((500000f, llama31), (v5.Config.RopeTheta, v5.Config.RopeScaling));
    }

    [Fact]
    public void A_Llama_3_1_8B_Instruct_shaped_config_reads()
    {
        // The shape and settings of Meta's Llama-3.1-8B-Instruct config.json (several EOS ids, llama3 scaling).
        const string json = """
            {"architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 128000,
             "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.02,
             "intermediate_size": 14336, "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
             "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
             "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192,
             "rope_type": "llama3"}, "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
             "transformers_version": "4.43.0.dev0", "use_cache": true, "vocab_size": 128256}
            """;
        var hf = HuggingFaceConfig.FromJson(JsonDocument.Parse(json).RootElement, "3.1");
        var c = hf.Config;
        Assert.Equal((4096, 14336, 32, 32, 8, 128, 128256, 131072, 500000f), (c.Dim, c.HiddenDim, c.LayerCount, c.HeadCount, c.KvHeadCount, c.HeadDim, c.VocabSize,
            c.ContextLength, c.RopeTheta));
        Assert.Equal(new RopeScaling(RopeScalingKind.Llama3, 8, 1, 4, 8192), c.RopeScaling);
        Assert.Equal((128000, 128001), (hf.BosTokenId, hf.EosTokenId));
    }

    public static TheoryData<string, string> Refusals => new()
    {
        { """{"architectures": ["MistralForCausalLM"], "model_type": "mistral"}""", "architecture MistralForCausalLM is not supported" },
        { """{"model_type": "gpt2"}""", "model_type 'gpt2' is not supported" },
        { """{"architectures": "LlamaForCausalLM"}""", "'architectures' is \"LlamaForCausalLM\", expected a list of strings" },
        { """{"hidden_size": null}""", "'hidden_size' is missing" },
        { """{"hidden_size": "64"}""", "'hidden_size' is \"64\", expected a positive integer" },
        { """{"hidden_size": -64}""", "'hidden_size' is -64" },
        { """{"hidden_size": 64.5}""", "'hidden_size' is 64.5" },
        { """{"hidden_size": 1e30}""", "'hidden_size' is 1e30" },
        { """{"num_hidden_layers": 0}""", "'num_hidden_layers' is 0" },
        { """{"num_key_value_heads": 3}""", "head count 8 is not a multiple of the KV head count 3" },
        { """{"num_key_value_heads": 16}""", "KV head count 16 must be between 1 and the head count 8" },
        { """{"rms_norm_eps": "1e-5"}""", "'rms_norm_eps' is \"1e-5\", expected a number" },
        { """{"rms_norm_eps": 0}""", "RMS epsilon 0 is not valid" },
        { """{"hidden_act": "gelu"}""", "hidden_act 'gelu' is not supported" },
        { """{"attention_bias": true}""", "attention_bias is true" },
        { """{"mlp_bias": true}""", "mlp_bias is true" },
        { """{"tie_word_embeddings": 1}""", "'tie_word_embeddings' is 1, expected true or false" },
        { """{"rope_scaling": {"rope_type": "yarn", "factor": 4.0}}""", "rope_type 'yarn' is not supported" },
        { """{"rope_scaling": {"type": "dynamic", "factor": 2.0}}""", "rope_type 'dynamic' is not supported" },
        { """{"rope_scaling": {"rope_type": "linear"}}""", "needs a positive 'factor'" },
        { """{"rope_scaling": {"rope_type": "linear", "factor": -2}}""", "needs a positive 'factor'" },
        { """{"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}""", "needs a positive 'low_freq_factor'" },
        { """{"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0, "high_freq_factor": 1.0, "original_max_position_embeddings": 8192}}""", "must be greater than low_freq_factor" },
        { """{"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0}}""", "needs 'original_max_position_embeddings'" },
        { """{"rope_scaling": "llama3"}""", "'rope_scaling' is \"llama3\", expected an object" },
        { """{"partial_rotary_factor": 0.5}""", "partial_rotary_factor 0.5 is not supported" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Unsupported_or_malformed_settings_are_refused_by_name(string overrides, string says)
    {
        var e = Assert.Throws<ModelFormatException>(() => With(j =>
        {
            foreach (var (key, value) in JsonNode.Parse(overrides)!.AsObject().ToList())
            {
                j.Remove(key);
                j[key] = value?.DeepClone();
            }
        }));
        Assert.Contains(says, e.Message);
        Assert.Contains("config 'test'", e.Message);
    }

    [Fact]
    public void Refusal_without_architecture_keys_names_them()
    {
        var json = Fixture();
        json.Remove("architectures");
        json.Remove("model_type");
        Assert.Contains("neither 'architectures' nor 'model_type'", Assert.Throws<ModelFormatException>(() => Parse(json)).Message);
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { "{\"hidden_size\": 64,", "not valid JSON" },
        { "", "not valid JSON" },
        { "[1, 2]", "expected a JSON object, found Array" },
        { "{\"a\": 1} {}", "not valid JSON" },
        { new string('[', 100) + new string(']', 100), "not valid JSON" },
        { "\"LlamaForCausalLM\"", "expected a JSON object, found String" },
        { "{\"model_type\": \"llama\\ud800\"}", "not valid Unicode" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Malformed_files_fail_clearly_quickly_and_cheaply(string content, string says)
    {
        using var dir = new TempDir();
        string path = dir.Write("config.json", System.Text.Encoding.UTF8.GetBytes(content));
        var e = GgufAssert.RejectsCheaply<ModelFormatException>(() => HuggingFaceConfig.Read(path), says);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void A_huge_file_is_refused_without_reading_it()
    {
        using var dir = new TempDir();
        string path = dir.File("config.json");
        using (var stream = new FileStream(path, FileMode.CreateNew)) stream.SetLength(1L << 32); // sparse: 4 GiB claimed, nothing stored
        GgufAssert.RejectsCheaply<ModelFormatException>(() => HuggingFaceConfig.Read(path), "4294967296 bytes is too large");
    }
}
