using System.Text.Json;
using Cria.Tensors;
using Cria.Tensors.Activations;

namespace Cria.Tests.Tensors;

/// <summary>Data/ggml-q8-dot-vectors.json, made by tools/ggml-reference ('dot' mode) from ggml's CPU backend: activation
/// rows with ggml's quantised bytes, weight rows, and ggml's <c>vec_dot</c> of them over prefixes.</summary>
public static class Q8DotFixture
{
    private static readonly Lazy<JsonDocument> Document = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "ggml-q8-dot-vectors.json"))));

    public static JsonElement Root => Document.Value.RootElement;

    public static IEnumerable<JsonElement> Activations => Root.GetProperty("activations").EnumerateArray();

    public static IEnumerable<JsonElement> Dots => Root.GetProperty("dots").EnumerateArray();

    /// <summary>One activation row: the float input (regenerated, checked against the stored sha256) and ggml's bytes.</summary>
    public static (float[] Input, byte[] Quantized) Activation(ActivationType type, string caseName)
    {
        var a = Activations.Single(e => e.GetProperty("ggml_type").GetInt32() == (int)type && e.GetProperty("case").GetString() == caseName);
        float[] x = ActivationInputs.Generate(caseName, a.GetProperty("seed").GetUInt64(), a.GetProperty("elements").GetInt32(),
            a.GetProperty("block_elements").GetInt32());
        Assert.True(DequantDigest.Sha256(x) == a.GetProperty("input_f32le_sha256").GetString(),
            $"{type}/{caseName}: the regenerated input differs from the fixture's (ActivationInputs.cs drifted)");
        return (x, Convert.FromBase64String(a.GetProperty("quantized_base64").GetString()!));
    }

    /// <summary>One weight row of <paramref name="type"/> ("random-blocks" or "quantized").</summary>
    public static byte[] Weights(GgmlType type, string caseName)
    {
        var w = Root.GetProperty("weights").EnumerateArray()
            .Single(e => e.GetProperty("ggml_type").GetInt32() == (int)type && e.GetProperty("case").GetString() == caseName);
        return Convert.FromBase64String(w.GetProperty("data_base64").GetString()!);
    }

    public static ActivationType ActivationTypeOf(string name) => name switch
    {
        "q8_0" => ActivationType.Q8_0,
        "q8_1" => ActivationType.Q8_1,
        "q8_K" => ActivationType.Q8_K,
        _ => throw new ArgumentException($"unknown activation type '{name}'", nameof(name)),
    };
}
