using Cria.Formats.Gguf;
using Cria.Quantization;
using Cria.Tensors;
using Cria.Tests.Formats.Gguf.Support;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Quantization;

/// <summary>The type every tensor gets in each mix, as llama.cpp's llama_tensor_get_type decides it, on Llama-shaped
/// files (small matrices of 256 columns, so no fallback) with the layer counts and head layouts its rules depend on.
/// The expected tables are written out from llama.cpp's rules (src/llama-quant.cpp); the synthetic-k256 Q4_K_M asset
/// checks the same code against llama-quantize's actual output.</summary>
public sealed class QuantizeMixTests
{
    private static readonly string[] LayerTensors =
        ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"];

    /// <summary>Writes a Llama-shaped GGUF: Meta order (llama.cpp re-sorts it), 2 x 256 matrices, 256-long norms.</summary>
    internal static void WriteLlamaShaped(string path, int layers, int heads, int kvHeads, bool tiedOutput = false, int columns = 256,
        GgmlType matrixType = GgmlType.F32, Action<GgufWriter>? extraMetadata = null)
    {
        var tensors = new List<(string Name, long[] Dims, GgmlType Type)> { ("token_embd.weight", [columns, 2], matrixType) };
        for (int i = 0; i < layers; i++)
            foreach (string t in LayerTensors)
                tensors.Add(($"blk.{i}.{t}.weight", t.EndsWith("norm") ? [columns] : [columns, 2], t.EndsWith("norm") ? GgmlType.F32 : matrixType));
        tensors.Add(("output_norm.weight", [columns], GgmlType.F32));
        if (!tiedOutput) tensors.Add(("output.weight", [columns, 2], matrixType));

        using var w = new GgufWriter(path);
        w.AddMetadata("general.architecture", GgufValue.Of("llama"));
        w.AddMetadata("llama.block_count", GgufValue.Of((uint)layers));
        w.AddMetadata("llama.attention.head_count", GgufValue.Of((uint)heads));
        w.AddMetadata("llama.attention.head_count_kv", GgufValue.Of((uint)kvHeads));
        extraMetadata?.Invoke(w);
        foreach (var t in tensors) w.AddTensor(t.Name, t.Dims, t.Type);
        int k = 0;
        foreach (var t in tensors)
        {
            long n = t.Dims.Aggregate(1L, (a, b) => a * b);
            float[] values = new float[n];
            for (int i = 0; i < n; i++) values[i] = MathF.Sin(++k * 0.37f);
            byte[] bytes = new byte[TensorTypeInfo.Get(t.Type).RowBytes(n)];
            unsafe
            {
                fixed (float* x = values)
                fixed (byte* y = bytes)
                    BlockKernels.Get(t.Type, t.Name).Quantize(x, y, n);
            }
            w.WriteTensor(t.Name, bytes);
        }
        w.Complete();
    }

    private static Dictionary<string, GgmlType> Plan(string ftype, int layers = 32, int heads = 32, int kvHeads = 32, bool tied = false, bool pure = false)
    {
        using var dir = new TempDir();
        string path = dir.File("model.gguf");
        WriteLlamaShaped(path, layers, heads, kvHeads, tied);
        using var file = GgufFile.Open(path);
        Assert.True(LlamaFileTypes.TryParse(ftype, out var type));
        var plan = QuantizationPlan.Create(file, type, pure, allowRequantize: false, path);
        return plan.Tensors.ToDictionary(t => t.Source.Name, t => t.Type);
    }

    private static readonly int[] MoreBits32 = [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]; // use_more_bits(i, 32)

    /// <summary>For 32 layers (Llama 2 7B) without GQA: (attn_v of layer i, ffn_down of layer i, attn_output, other matrices,
    /// output). token_embd always keeps the base type.</summary>
    public static TheoryData<string, string, string, string> Mixes32() => new()
    {
        // mix, rule for attn_v, rule for ffn_down, attn_output/others/output/token_embd as "attn_output,other,output,embd"
        { "Q2_K", "Q3_K", "Q3_K", "Q3_K,Q2_K,Q6_K,Q2_K" },
        { "Q3_K_S", "Q3_K", "Q3_K", "Q3_K,Q3_K,Q6_K,Q3_K" },
        { "Q3_K_M", "i<2:Q5_K,Q4_K", "i<2:Q5_K,Q4_K", "Q4_K,Q3_K,Q6_K,Q3_K" },
        { "Q3_K_L", "Q5_K", "Q5_K", "Q5_K,Q3_K,Q6_K,Q3_K" },
        { "Q4_K_S", "i<4:Q5_K,Q4_K", "i<4:Q5_K,Q4_K", "Q4_K,Q4_K,Q6_K,Q4_K" },
        { "Q4_K_M", "more:Q6_K,Q4_K", "more:Q6_K,Q4_K", "Q4_K,Q4_K,Q6_K,Q4_K" },
        { "Q5_K_S", "Q5_K", "Q5_K", "Q5_K,Q5_K,Q6_K,Q5_K" },
        { "Q5_K_M", "more:Q6_K,Q5_K", "more:Q6_K,Q5_K", "Q5_K,Q5_K,Q6_K,Q5_K" },
        { "Q6_K", "Q6_K", "Q6_K", "Q6_K,Q6_K,Q6_K,Q6_K" },
        { "Q4_0", "Q4_0", "Q4_0", "Q4_0,Q4_0,Q6_K,Q4_0" },
        { "Q4_1", "Q4_1", "Q4_1", "Q4_1,Q4_1,Q6_K,Q4_1" },
        { "Q5_0", "Q5_0", "Q5_0", "Q5_0,Q5_0,Q6_K,Q5_0" },
        { "Q5_1", "Q5_1", "Q5_1", "Q5_1,Q5_1,Q6_K,Q5_1" },
        { "Q8_0", "Q8_0", "Q8_0", "Q8_0,Q8_0,Q8_0,Q8_0" },
        { "F16", "F16", "F16", "F16,F16,F16,F16" },
        { "BF16", "BF16", "BF16", "BF16,BF16,BF16,BF16" },
    };

    [Theory]
    [MemberData(nameof(Mixes32))]
    public void Mix_types_on_a_32_layer_model(string mix, string attnV, string ffnDown, string rest)
    {
        var types = Plan(mix);
        string[] r = rest.Split(',');
        for (int i = 0; i < 32; i++)
        {
            Assert.Equal(Rule(attnV, i), Name(types[$"blk.{i}.attn_v.weight"]));
            Assert.Equal(Rule(ffnDown, i), Name(types[$"blk.{i}.ffn_down.weight"]));
            Assert.Equal(r[0], Name(types[$"blk.{i}.attn_output.weight"]));
            foreach (string t in new[] { "attn_q", "attn_k", "ffn_gate", "ffn_up" }) Assert.Equal(r[1], Name(types[$"blk.{i}.{t}.weight"]));
            Assert.Equal(GgmlType.F32, types[$"blk.{i}.attn_norm.weight"]);
            Assert.Equal(GgmlType.F32, types[$"blk.{i}.ffn_norm.weight"]);
        }
        Assert.Equal(r[2], Name(types["output.weight"]));
        Assert.Equal(r[3], Name(types["token_embd.weight"]));
        Assert.Equal(GgmlType.F32, types["output_norm.weight"]);
    }

    private static string Rule(string rule, int layer)
    {
        if (!rule.Contains(':')) return rule;
        string[] parts = rule.Split(':', ',');
        bool hit = parts[0] == "more" ? MoreBits32.Contains(layer) : layer < int.Parse(parts[0][2..]);
        return hit ? parts[1] : parts[2];
    }

    private static string Name(GgmlType t) => TensorTypeInfo.Get(t).Name;

    [Fact]
    public void Pure_gives_every_matrix_the_base_type_output_included()
    {
        var types = Plan("Q4_K_M", layers: 4, heads: 4, kvHeads: 4, pure: true);
        Assert.All(types.Where(kv => !kv.Key.EndsWith("norm.weight")), kv => Assert.Equal(GgmlType.Q4_K, kv.Value));
        Assert.All(types.Where(kv => kv.Key.EndsWith("norm.weight")), kv => Assert.Equal(GgmlType.F32, kv.Value));
    }

    [Fact]
    public void Without_output_weight_the_token_embedding_is_quantised_as_the_output()
    {
        var types = Plan("Q4_K_M", layers: 4, heads: 4, kvHeads: 4, tied: true);
        Assert.Equal(GgmlType.Q6_K, types["token_embd.weight"]);
        Assert.Equal(GgmlType.Q4_K, types["blk.0.attn_q.weight"]);
    }

    /// <summary>80 layers with grouped-query attention is llama.cpp's LLM_TYPE_70B: attn_v gets Q5_K where the mix gave
    /// it Q3_K or Q4_K; with 8x GQA, Q2_K's attn_v starts at Q4_K.</summary>
    [Theory]
    [InlineData("Q4_K_M", "Q6_K", "Q5_K")] // use_more_bits layers Q6_K; the others' Q4_K becomes Q5_K
    [InlineData("Q3_K_M", "Q5_K", "Q5_K")]
    [InlineData("Q3_K_S", "Q5_K", "Q5_K")] // the base type Q3_K is bumped too
    [InlineData("Q2_K", "Q5_K", "Q5_K")]   // 8x GQA: Q4_K, then bumped
    [InlineData("Q5_K_S", "Q5_K", "Q5_K")]
    [InlineData("Q6_K", "Q6_K", "Q6_K")]
    public void Llama_70B_gets_more_bits_for_attn_v(string mix, string moreBitsLayers, string otherLayers)
    {
        var types = Plan(mix, layers: 80, heads: 64, kvHeads: 8);
        for (int i = 0; i < 80; i++)
        {
            bool moreBits = i < 10 || i >= 70 || (i - 10) % 3 == 2; // use_more_bits(i, 80)
            Assert.Equal(moreBits ? moreBitsLayers : otherLayers, Name(types[$"blk.{i}.attn_v.weight"]));
        }
    }

    [Fact]
    public void Eighty_layers_without_GQA_is_65B_and_gets_no_bump()
    {
        var types = Plan("Q3_K_S", layers: 80, heads: 64, kvHeads: 64);
        Assert.Equal(GgmlType.Q3_K, types["blk.40.attn_v.weight"]);
    }

    [Fact]
    public void Tensors_come_in_llama_cpp_order_layers_numerically()
    {
        using var dir = new TempDir();
        string path = dir.File("model.gguf");
        WriteLlamaShaped(path, layers: 12, heads: 4, kvHeads: 4);
        using var file = GgufFile.Open(path);
        var names = QuantizationPlan.Create(file, LlamaFileType.MostlyQ4_K_M, false, false, path).Tensors.Select(t => t.Source.Name).ToList();
        Assert.Equal(["output.weight", "output_norm.weight", "token_embd.weight", "blk.0.attn_k.weight"], names.Take(4));
        Assert.True(names.IndexOf("blk.9.ffn_up.weight") < names.IndexOf("blk.10.attn_k.weight"), "blk.10 must follow blk.9, as llama.cpp compares layer numbers");
        Assert.Equal("blk.11.ffn_up.weight", names[^1]);
    }

    [Theory]
    [InlineData("blk.0.attn_q.weight", new long[] { 256, 256 }, true)]
    [InlineData("blk.0.attn_norm.weight", new long[] { 256 }, false)]
    [InlineData("rope_freqs.weight", new long[] { 32 }, false)]
    [InlineData("output_norm.weight", new long[] { 256, 2 }, false)]       // a norm, even if 2-D
    [InlineData("blk.0.attn_q.weight", new long[] { 256, 1 }, false)]      // ggml_n_dims ignores trailing 1s
    [InlineData("blk.0.attn_q.weight", new long[] { 256, 1, 2 }, true)]
    [InlineData("blk.0.ffn_gate_inp.weight", new long[] { 256, 8 }, false)] // MoE router
    [InlineData("position_embd.weight", new long[] { 256, 8 }, false)]
    [InlineData("blk.0.attn_q.bias", new long[] { 256, 8 }, false)]
    [InlineData("abcde", new long[] { 256, 8 }, true)]                     // llama.cpp's rfind quirk: any 5-character name
    public void Which_tensors_are_quantised(string name, long[] dims, bool expected) =>
        Assert.Equal(expected, QuantizationPlan.IsQuantizable(name, dims));

    [Theory]
    [InlineData("q4_k_m", LlamaFileType.MostlyQ4_K_M)]
    [InlineData("Q4_K", LlamaFileType.MostlyQ4_K_M)]
    [InlineData("q5_k", LlamaFileType.MostlyQ5_K_M)]
    [InlineData("Q3_K", LlamaFileType.MostlyQ3_K_M)]
    [InlineData("bf16", LlamaFileType.MostlyBF16)]
    [InlineData("F32", LlamaFileType.AllF32)]
    [InlineData("Q8_0", LlamaFileType.MostlyQ8_0)]
    public void File_type_names_parse_as_llama_quantize_spells_them(string name, LlamaFileType expected)
    {
        Assert.True(LlamaFileTypes.TryParse(name, out var type));
        Assert.Equal(expected, type);
    }

    [Theory]
    [InlineData("Q4_K_X")]
    [InlineData("IQ4_NL")]
    [InlineData("")]
    public void Unknown_file_types_do_not_parse(string name) => Assert.False(LlamaFileTypes.TryParse(name, out _));

    [Fact]
    public void Metadata_keeps_input_order_and_appends_version_and_file_type()
    {
        var input = new GgufMetadata([
            new("general.architecture", GgufValue.Of("llama")),
            new("general.file_type", GgufValue.Of(0u)),
            new("split.count", GgufValue.Of((ushort)2)),
            new("llama.block_count", GgufValue.Of(2u)),
        ]);
        var output = GgufQuantizer.OutputMetadata(input, LlamaFileType.MostlyQ4_K_M).ToList();
        Assert.Equal(["general.architecture", "llama.block_count", "general.quantization_version", "general.file_type"], output.Select(e => e.Key));
        Assert.Equal(GgufValue.Of(2u), output[2].Value);
        Assert.Equal(GgufValue.Of(15u), output[3].Value);
    }

    /// <summary>stories260K's rows of 64 and 172 do not fit Q4_K/Q6_K blocks of 256: llama.cpp falls back to Q5_0 and
    /// Q8_0, and where 172 does not fit 32 either, to F16 (the asset file, made by llama-quantize, says the same).</summary>
    [Fact]
    public void Stories260K_Q4_K_M_falls_back_as_llama_quantize_did()
    {
        using var source = GgufFile.Open(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"));
        using var expected = GgufFile.Open(TestAssets.Path("stories260K-gguf/stories260K-Q4_K_M-fallback.gguf"));
        var plan = QuantizationPlan.Create(source, LlamaFileType.MostlyQ4_K_M, false, false, "stories260K-f32.gguf");
        Assert.Equal(expected.Tensors.Select(t => (t.Name, t.Type)), plan.Tensors.Select(t => (t.Source.Name, t.Type)));
        Assert.Equal(36, plan.Fallbacks);
        Assert.Equal(37, plan.Chosen);
        Assert.Equal(GgmlType.Q4_K, plan.Tensors.Single(t => t.Source.Name == "blk.0.ffn_down.weight").FallbackFrom);  // → Q5_0 → F16
        Assert.Equal(GgmlType.Q6_K, plan.Tensors.Single(t => t.Source.Name == "blk.2.ffn_down.weight").FallbackFrom);  // use_more_bits → Q8_0 → F16
        Assert.Equal(GgmlType.Q6_K, plan.Tensors.Single(t => t.Source.Name == "blk.2.attn_v.weight").FallbackFrom);    // → Q8_0
        Assert.Null(plan.Tensors.Single(t => t.Source.Name == "output.weight").FallbackFrom); // the output rule picks Q8_0 itself
    }

    /// <summary>Rows that do not fit Q3_K fall back to Q4_0 (current llama.cpp, whose output Cria's matches byte for
    /// byte here; c392e50 chose IQ4_NL, which Cria does not write), and to F16 where 32 does not divide them either.</summary>
    [Fact]
    public void Q3_K_rows_that_do_not_fit_fall_back_to_Q4_0()
    {
        using var source = GgufFile.Open(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"));
        var plan = QuantizationPlan.Create(source, LlamaFileType.MostlyQ3_K_S, false, false, "stories260K-f32.gguf");
        var q = plan.Tensors.Single(t => t.Source.Name == "blk.0.attn_q.weight");
        Assert.Equal((GgmlType.Q4_0, (GgmlType?)GgmlType.Q3_K), (q.Type, q.FallbackFrom));
        Assert.Equal(GgmlType.F16, plan.Tensors.Single(t => t.Source.Name == "blk.0.ffn_down.weight").Type);
    }
}
