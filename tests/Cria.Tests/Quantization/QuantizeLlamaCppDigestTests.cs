using System.Security.Cryptography;
using System.Text.Json;
using Cria.Formats.Gguf;
using Cria.Quantization;
using Cria.Tensors;
using Cria.Tests.Formats.Gguf.Support;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Quantization;

/// <summary>The synthetic models, written once for the whole class.</summary>
public sealed class SyntheticQuantizeModelFiles : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly Dictionary<string, string> _paths = [];

    public string Path(string name)
    {
        lock (_paths)
        {
            if (!_paths.TryGetValue(name, out string? path))
            {
                path = _dir.File(name + ".gguf");
                SyntheticQuantizeModels.Write(SyntheticQuantizeModels.Get(name), path);
                _paths[name] = path;
            }
            return path;
        }
    }

    public void Dispose() => _dir.Dispose();
}

/// <summary>Every file Cria writes equals, byte for byte, the file current llama.cpp's <c>llama_model_quantize</c> wrote
/// from the same input (Data/llamacpp-quantize-digests.json, made by tools/llamacpp-quantize): all 16 mixes on models
/// with 16 GQA layers, a tied output and rows that fit no K-quant block, stories260K with and without --pure (every
/// fallback), and requantisation of Q8_0 and F16 input.</summary>
public sealed class QuantizeLlamaCppDigestTests(SyntheticQuantizeModelFiles models) : IClassFixture<SyntheticQuantizeModelFiles>
{
    private static readonly Lazy<JsonDocument> Fixture = new(() =>
        JsonDocument.Parse(File.ReadAllText(System.IO.Path.Combine(AppContext.BaseDirectory, "Data", "llamacpp-quantize-digests.json"))));

    public static TheoryData<string, string, bool, bool> Cases()
    {
        var data = new TheoryData<string, string, bool, bool>();
        foreach (var c in Fixture.Value.RootElement.GetProperty("cases").EnumerateArray())
            data.Add(c.GetProperty("source").GetString()!, c.GetProperty("mix").GetString()!, c.GetProperty("pure").GetBoolean(),
                c.GetProperty("allow_requantize").GetBoolean());
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Output_equals_llama_cpp_output(string source, string mix, bool pure, bool allowRequantize)
    {
        var c = Fixture.Value.RootElement.GetProperty("cases").EnumerateArray().Single(e =>
            e.GetProperty("source").GetString() == source && e.GetProperty("mix").GetString() == mix &&
            e.GetProperty("pure").GetBoolean() == pure && e.GetProperty("allow_requantize").GetBoolean() == allowRequantize);
        Assert.Equal(0u, c.GetProperty("llama_model_quantize").GetUInt32());
        string input = source.StartsWith("synthetic:", StringComparison.Ordinal)
            ? models.Path(source["synthetic:".Length..])
            : TestAssets.Path(source["asset:".Length..]);
        using var dir = new TempDir();
        string output = dir.File("out.gguf");
        Assert.True(LlamaFileTypes.TryParse(mix, out var fileType));
        GgufQuantizer.Quantize(input, output, new QuantizeOptions { FileType = fileType, Pure = pure, AllowRequantize = allowRequantize, Threads = 2 });

        using (var file = GgufFile.Open(output))
        {
            string[] expected = c.GetProperty("tensor_types").GetString()!.Split(',');
            var actual = file.Tensors.Select(t => TensorTypeInfo.Get(t.Type).Name).ToArray();
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(expected[i] == actual[i], $"tensor {i} ({file.Tensors[i].Name}): llama.cpp wrote {expected[i]}, Cria {actual[i]}");
        }
        Assert.Equal(c.GetProperty("output_bytes").GetInt64(), new FileInfo(output).Length);
        Assert.Equal(c.GetProperty("output_sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(output))));
    }
}
