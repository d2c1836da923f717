using Cria.Formats.Gguf;
using Cria.Tensors;
using Cria.Tests.Formats.Gguf.Support;
using Cria.Tests.Infrastructure;
using Cria.Tests.Quantization;

namespace Cria.Tests.Cli;

/// <summary><c>cria quantize</c> end to end: the files it writes are llama-quantize's, byte for byte (every
/// llama-quantize file in the assets), and bad requests fail with one clear line and no output file.</summary>
public sealed class QuantizeCommandTests
{
    private const string Synthetic = "synthetic-k256-gguf";

    /// <summary>The whole file — header, metadata order, tensor order, offsets, padding, blocks — equals the one
    /// llama-quantize (llama.cpp c392e50) wrote from the same F32 file.</summary>
    [Theory]
    [InlineData(Synthetic, "synth-k256-f32.gguf", "Q4_K_M", false, "synth-k256-Q4_K_M.gguf")]
    [InlineData(Synthetic, "synth-k256-f32.gguf", "Q8_0", true, "synth-k256-Q8_0.gguf")]
    [InlineData(Synthetic, "synth-k256-f32.gguf", "Q6_K", true, "synth-k256-Q6_K.gguf")]
    [InlineData(Synthetic, "synth-k256-f32.gguf", "Q5_K", true, "synth-k256-Q5_K.gguf")]
    [InlineData(Synthetic, "synth-k256-f32.gguf", "Q4_K", true, "synth-k256-Q4_K.gguf")]
    [InlineData(Synthetic, "synth-k256-f32.gguf", "Q4_0", true, "synth-k256-Q4_0.gguf")]
    [InlineData(Synthetic, "synth-k256-f32.gguf", "Q3_K", true, "synth-k256-Q3_K.gguf")]
    [InlineData(Synthetic, "synth-k256-f32.gguf", "Q2_K", true, "synth-k256-Q2_K.gguf")]
    [InlineData(Synthetic, "synth-k256-f32.gguf", "F16", false, "synth-k256-F16.gguf")]
    [InlineData("stories260K-gguf", "stories260K-f32.gguf", "q4_k_m", false, "stories260K-Q4_K_M-fallback.gguf")]
    [InlineData("stories260K-gguf", "stories260K-f32.gguf", "F16", false, "stories260K-F16.gguf")]
    public void Output_is_llama_quantize_output_byte_for_byte(string folder, string input, string type, bool pure, string expected)
    {
        using var dir = new TempDir();
        string output = dir.File("out.gguf");
        var args = new List<string> { "quantize", TestAssets.Path($"{folder}/{input}"), output, type };
        if (pure) args.Add("--pure");
        var r = CliRunner.Run(args.ToArray());
        Assert.True(r.ExitCode == 0, r.Stderr);
        byte[] actual = File.ReadAllBytes(output), reference = File.ReadAllBytes(TestAssets.Path($"{folder}/{expected}"));
        int at = actual.AsSpan().CommonPrefixLength(reference);
        Assert.True(at == reference.Length && actual.Length == reference.Length,
            $"{expected}: {actual.Length} vs {reference.Length} bytes, first difference at offset {at}");
    }

    [Fact]
    public void Prints_each_tensor_and_a_summary()
    {
        using var dir = new TempDir();
        var r = CliRunner.Run("quantize", TestAssets.Path($"{Synthetic}/synth-k256-f32.gguf"), dir.File("out.gguf"), "Q4_K_M");
        Assert.Equal(0, r.ExitCode);
        string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("quantizing '", lines[0]);
        Assert.Contains(" as Q4_K_M, 21 tensors, ", lines[0]);
        Assert.Equal("[  1/21] output.weight | size 512 x 256 | F32 -> Q6_K", lines[1]);
        Assert.Equal("[  2/21] output_norm.weight | size 256 | F32 (copied)", lines[2]);
        Assert.Equal("[ 18/21] blk.1.ffn_down.weight | size 256 x 512 | F32 -> Q6_K", lines[18]);
        Assert.StartsWith("tensor data 5.50 MiB -> 0.85 MiB", lines[22]);
        Assert.Contains("16 tensors converted, 5 copied", lines[22]);
        Assert.Equal("", r.Stderr);
    }

    [Fact]
    public void Fallbacks_are_shown_per_tensor_and_counted()
    {
        using var dir = new TempDir();
        var r = CliRunner.Run("quantize", TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"), dir.File("out.gguf"), "Q4_K_M");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("[  9/48] blk.0.ffn_down.weight | size 64 x 172 | F32 -> F16 (fallback: rows of 172 are not whole Q4_K blocks of 256)", r.Stdout);
        Assert.Contains("36 of 37 tensors needed a fallback type", r.Stderr);
    }

    [Fact]
    public void The_output_is_the_same_for_any_thread_count()
    {
        using var dir = new TempDir();
        string input = TestAssets.Path($"{Synthetic}/synth-k256-f32.gguf");
        Assert.Equal(0, CliRunner.Run("quantize", input, dir.File("1.gguf"), "Q5_K_M", "--threads", "1").ExitCode);
        Assert.Equal(0, CliRunner.Run("quantize", input, dir.File("3.gguf"), "Q5_K_M", "-t", "3").ExitCode);
        Assert.Equal(File.ReadAllBytes(dir.File("1.gguf")), File.ReadAllBytes(dir.File("3.gguf")));
    }

    /// <summary>Q4_1, Q5_1 and BF16 have no llama-quantize file in the assets: each tensor must equal the format's
    /// quantiser (checked against ggml itself in QuantizeGgmlVectorTests) applied to the F32 source, and the file loads.</summary>
    [Theory]
    [InlineData("Q4_1", GgmlType.Q4_1)]
    [InlineData("Q5_0", GgmlType.Q5_0)]
    [InlineData("Q5_1", GgmlType.Q5_1)]
    [InlineData("BF16", GgmlType.BF16)]
    public unsafe void Other_types_write_each_tensor_with_its_quantiser(string mix, GgmlType type)
    {
        using var dir = new TempDir();
        string output = dir.File("out.gguf");
        Assert.Equal(0, CliRunner.Run("quantize", TestAssets.Path($"{Synthetic}/synth-k256-f32.gguf"), output, mix, "--pure").ExitCode);
        using var source = GgufFile.Open(TestAssets.Path($"{Synthetic}/synth-k256-f32.gguf"));
        using var result = GgufFile.Open(output);
        Assert.Equal(16, result.Tensors.Count(t => t.Type == type));
        foreach (var t in result.Tensors.Where(t => t.Type == type))
        {
            Assert.True(source.TryGetTensor(t.Name, out var f32));
            byte[] expected = new byte[t.ByteSize];
            fixed (byte* y = expected) BlockKernels.Get(type, t.Name).Quantize((float*)source.TensorData(f32), y, t.ElementCount);
            Assert.True(result.TensorBytes(t).SequenceEqual(expected), $"{t.Name} differs");
        }
        using var model = Cria.Model.LlamaModel.Load(output);
        Assert.Equal(2, model.Config.LayerCount);
    }

    [Fact]
    public void Quantised_input_needs_allow_requantize()
    {
        using var dir = new TempDir();
        string input = TestAssets.Path($"{Synthetic}/synth-k256-Q8_0.gguf");
        var refused = CliRunner.Run("quantize", input, dir.File("out.gguf"), "Q4_K_M");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("is already quantised (Q8_0)", refused.Stderr);
        Assert.Contains("--allow-requantize", refused.Stderr);
        Assert.False(File.Exists(dir.File("out.gguf")));
        Assert.Empty(Directory.GetFiles(dir.Path)); // no temporary file left behind

        var allowed = CliRunner.Run("quantize", input, dir.File("out.gguf"), "Q4_K_M", "--allow-requantize");
        Assert.True(allowed.ExitCode == 0, allowed.Stderr);
        Assert.Contains("requantizing 16 tensors already in Q8_0", allowed.Stderr);
        Assert.Contains("Q8_0 -> Q4_K", allowed.Stdout);
    }

    /// <summary>A tensor already in the type the mix wants is copied, so this needs no --allow-requantize (as in llama.cpp).</summary>
    [Fact]
    public void Tensors_already_in_the_target_type_are_copied()
    {
        using var dir = new TempDir();
        string input = TestAssets.Path($"{Synthetic}/synth-k256-Q8_0.gguf");
        var r = CliRunner.Run("quantize", input, dir.File("out.gguf"), "Q8_0", "--pure");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("Q8_0 (copied)", r.Stdout);
        using var a = GgufFile.Open(input);
        using var b = GgufFile.Open(dir.File("out.gguf"));
        foreach (var t in b.Tensors)
        {
            Assert.True(a.TryGetTensor(t.Name, out var original));
            Assert.True(a.TensorBytes(original).SequenceEqual(b.TensorBytes(t)), t.Name);
        }
    }

    [Fact]
    public void F16_input_is_converted_without_allow_requantize()
    {
        using var dir = new TempDir();
        var r = CliRunner.Run("quantize", TestAssets.Path($"{Synthetic}/synth-k256-F16.gguf"), dir.File("out.gguf"), "Q8_0");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("F16 -> Q8_0", r.Stdout);
        Assert.Equal("", r.Stderr);
    }

    /// <summary>stories260K's ffn_down rows of 172 fit no block type: they fall back to F16, also for the 32-element
    /// mixes and with --pure, as current llama.cpp does (llama.cpp c392e50 stopped there instead).</summary>
    [Theory]
    [InlineData("Q8_0", false)]
    [InlineData("Q4_0", true)]
    [InlineData("Q5_1", false)]
    public void Rows_that_fit_no_block_fall_back_to_F16(string type, bool pure)
    {
        using var dir = new TempDir();
        var args = new List<string> { "quantize", TestAssets.Path("stories260K-gguf/stories260K-f32.gguf"), dir.File("out.gguf"), type };
        if (pure) args.Add("--pure");
        var r = CliRunner.Run(args.ToArray());
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains($"blk.0.ffn_down.weight | size 64 x 172 | F32 -> F16 (fallback: rows of 172 are not whole {type.ToUpperInvariant()} blocks of 32)", r.Stdout);
        using var file = GgufFile.Open(dir.File("out.gguf"));
        Assert.Equal(5, file.Tensors.Count(t => t.Type == GgmlType.F16));
    }

    [Fact]
    public void NaN_weights_are_refused_naming_the_tensor()
    {
        using var dir = new TempDir();
        string input = dir.File("nan.gguf");
        WriteOneMatrix(input, 256, i => i == 300 ? float.NaN : 0.5f);
        var r = CliRunner.Run("quantize", input, dir.File("out.gguf"), "Q4_0");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"cria: '{input}': tensor 'blk.0.attn_q.weight' has invalid data (row 1, element 44 is NaN or infinite); llama-quantize refuses such input too\n",
            r.Stderr.Replace("\r\n", "\n"));
        Assert.False(File.Exists(dir.File("out.gguf")));
    }

    [Fact]
    public void Values_too_large_for_an_fp16_scale_are_refused()
    {
        using var dir = new TempDir();
        string input = dir.File("huge.gguf");
        WriteOneMatrix(input, 256, i => i == 3 ? 1e30f : 1f);
        var r = CliRunner.Run("quantize", input, dir.File("out.gguf"), "Q4_0");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("tensor 'blk.0.attn_q.weight': quantising it to Q4_0 gives a non-finite value in row 0 (the fp16 scale of block 0", r.Stderr);
        Assert.False(File.Exists(dir.File("out.gguf")));
    }

    [Fact]
    public void Hostile_hyper_parameters_are_refused()
    {
        using var dir = new TempDir();
        string input = dir.File("m.gguf");
        WriteOneMatrix(input, 256, _ => 1f, blockCount: uint.MaxValue);
        var r = CliRunner.Run("quantize", input, dir.File("out.gguf"), "Q4_K_M");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("metadata llama.block_count = 4294967295 is out of range", r.Stderr);
    }

    [Theory]
    [InlineData("Q4_K_X", "unknown quantisation type 'Q4_K_X'; choose one of Q4_0, Q4_1")]
    [InlineData("IQ2_XS", "unknown quantisation type 'IQ2_XS'")]
    public void Unknown_types_are_refused_with_the_choices(string type, string message)
    {
        using var dir = new TempDir();
        var r = CliRunner.Run("quantize", TestAssets.Path($"{Synthetic}/synth-k256-f32.gguf"), dir.File("out.gguf"), type);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(message, r.Stderr);
    }

    [Fact]
    public void Bad_paths_are_refused()
    {
        using var dir = new TempDir();
        var missing = CliRunner.Run("quantize", dir.File("missing.gguf"), dir.File("out.gguf"), "Q8_0");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("input file not found", missing.Stderr);

        string text = dir.Write("model.bin", "not a gguf file at all"u8);
        var notGguf = CliRunner.Run("quantize", text, dir.File("out.gguf"), "Q8_0");
        Assert.Equal(1, notGguf.ExitCode);
        Assert.Contains("is not a GGUF file", notGguf.Stderr);

        string input = dir.File("m.gguf");
        WriteOneMatrix(input, 256, _ => 1f);
        var same = CliRunner.Run("quantize", input, input, "Q8_0");
        Assert.Equal(1, same.ExitCode);
        Assert.Contains("is the input file", same.Stderr);

        var negative = CliRunner.Run("quantize", input, dir.File("out.gguf"), "Q8_0", "--threads", "-2");
        Assert.Equal(1, negative.ExitCode);
        Assert.Contains("--threads must be positive", negative.Stderr);
    }

    /// <summary>The quantised stories260K generates the same greedy text as the F32 model (llama.cpp's own Q4_K_M
    /// fallback file does so for 20 tokens, per the asset's PROVENANCE.md).</summary>
    [Fact]
    public void The_quantised_file_runs_and_agrees_with_f32()
    {
        using var dir = new TempDir();
        string output = dir.File("q.gguf");
        string f32 = TestAssets.Path("stories260K-gguf/stories260K-f32.gguf");
        Assert.Equal(0, CliRunner.Run("quantize", f32, output, "Q4_K_M").ExitCode);
        string[] generate = ["--prompt", "Once upon a time", "--temperature", "0", "--max-tokens", "20"];
        var quantized = CliRunner.Run(["generate", output, .. generate]);
        var reference = CliRunner.Run(["generate", f32, .. generate]);
        Assert.True(quantized.ExitCode == 0, quantized.Stderr);
        Assert.Equal(reference.Stdout, quantized.Stdout);
        Assert.True(quantized.Stdout.Trim().Length > 20, quantized.Stdout);
    }

    // A GGUF with one 2-row matrix blk.0.attn_q.weight of the given row length, values from f(index).
    private static void WriteOneMatrix(string path, int columns, Func<int, float> f, uint blockCount = 1)
    {
        using var w = new GgufWriter(path);
        w.AddMetadata("general.architecture", GgufValue.Of("llama"));
        w.AddMetadata("llama.block_count", GgufValue.Of(blockCount));
        w.AddTensor("blk.0.attn_q.weight", [columns, 2], GgmlType.F32);
        byte[] data = new byte[columns * 2 * 4];
        for (int i = 0; i < columns * 2; i++) BitConverter.TryWriteBytes(data.AsSpan(4 * i), f(i));
        w.WriteTensor("blk.0.attn_q.weight", data);
        w.Complete();
    }
}
