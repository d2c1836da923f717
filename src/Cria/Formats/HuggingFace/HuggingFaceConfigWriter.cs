using System.Globalization;
using System.Text.Json;
using Cria.Formats.SafeTensors;
using Cria.Model;

namespace Cria.Formats.HuggingFace;

/// <summary>Writes a <c>config.json</c> for a <c>LlamaForCausalLM</c> as transformers' <c>save_pretrained</c> lays it out
/// (2-space indent, keys sorted, floats as Python prints them, a final newline).</summary>
public static class HuggingFaceConfigWriter
{
    /// <summary>transformers' name for a safetensors dtype (<c>torch_dtype</c>).</summary>
    public static string TorchDTypeName(SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.F32 => "float32",
        SafeTensorsDType.F16 => "float16",
        SafeTensorsDType.BF16 => "bfloat16",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Hugging Face weights are written as F32, F16 or BF16"),
    };

    /// <summary>The UTF-8 bytes of config.json for <paramref name="c"/> stored as <paramref name="dtype"/>.</summary>
    public static byte[] ToJson(LlamaConfig c, SafeTensorsDType dtype, int? bosTokenId, int? eosTokenId)
    {
        var values = new SortedDictionary<string, Action<Utf8JsonWriter>>(StringComparer.Ordinal)
        {
            ["architectures"] = w =>
            {
                w.WriteStartArray();
                w.WriteStringValue(HuggingFaceConfig.Architecture);
                w.WriteEndArray();
            },
            ["attention_bias"] = w => w.WriteBooleanValue(false),
            ["attention_dropout"] = w => w.WriteRawValue(PythonFloat(0.0)),
            ["head_dim"] = w => w.WriteNumberValue(c.HeadDim),
            ["hidden_act"] = w => w.WriteStringValue("silu"),
            ["hidden_size"] = w => w.WriteNumberValue(c.Dim),
            ["initializer_range"] = w => w.WriteRawValue(PythonFloat(0.02)),
            ["intermediate_size"] = w => w.WriteNumberValue(c.HiddenDim),
            ["max_position_embeddings"] = w => w.WriteNumberValue(c.ContextLength),
            ["mlp_bias"] = w => w.WriteBooleanValue(false),
            ["model_type"] = w => w.WriteStringValue("llama"),
            ["num_attention_heads"] = w => w.WriteNumberValue(c.HeadCount),
            ["num_hidden_layers"] = w => w.WriteNumberValue(c.LayerCount),
            ["num_key_value_heads"] = w => w.WriteNumberValue(c.KvHeadCount),
            ["pretraining_tp"] = w => w.WriteNumberValue(1),
            ["rms_norm_eps"] = w => w.WriteRawValue(PythonFloat(c.RmsEps)),
            ["rope_scaling"] = w => WriteScaling(w, c.RopeScaling),
            ["rope_theta"] = w => w.WriteRawValue(PythonFloat(c.RopeTheta)),
            ["tie_word_embeddings"] = w => w.WriteBooleanValue(c.TiedOutput),
            ["torch_dtype"] = w => w.WriteStringValue(TorchDTypeName(dtype)),
            ["use_cache"] = w => w.WriteBooleanValue(true),
            ["vocab_size"] = w => w.WriteNumberValue(c.VocabSize),
        };
        if (bosTokenId is int bos) values["bos_token_id"] = w => w.WriteNumberValue(bos);
        if (eosTokenId is int eos) values["eos_token_id"] = w => w.WriteNumberValue(eos);

        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, IndentSize = 2, NewLine = "\n" }))
        {
            w.WriteStartObject();
            foreach (var (key, write) in values)
            {
                w.WritePropertyName(key);
                write(w);
            }
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    private static void WriteScaling(Utf8JsonWriter w, RopeScaling s)
    {
        switch (s.Kind)
        {
            case RopeScalingKind.None:
                w.WriteNullValue();
                return;
            case RopeScalingKind.Linear:
                w.WriteStartObject();
                w.WritePropertyName("factor");
                w.WriteRawValue(PythonFloat(s.Factor));
                w.WriteString("rope_type", "linear");
                w.WriteEndObject();
                return;
            default:
                w.WriteStartObject();
                w.WritePropertyName("factor");
                w.WriteRawValue(PythonFloat(s.Factor));
                w.WritePropertyName("high_freq_factor");
                w.WriteRawValue(PythonFloat(s.HighFrequencyFactor));
                w.WritePropertyName("low_freq_factor");
                w.WriteRawValue(PythonFloat(s.LowFrequencyFactor));
                w.WriteNumber("original_max_position_embeddings", s.OriginalContextLength);
                w.WriteString("rope_type", "llama3");
                w.WriteEndObject();
                return;
        }
    }

    /// <summary>A float32 setting as the decimal it was written as (1e-5f → 1e-05, not 9.99999974737875e-06).</summary>
    public static string PythonFloat(float value) => PythonFloat(double.Parse(value.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));

    /// <summary>Python's <c>repr(float)</c>: the shortest round-trip digits, positional for decimal exponents -4 to 15
    /// (always with a ".0" or fraction), else scientific with a signed exponent of at least two digits.</summary>
    public static string PythonFloat(double value)
    {
        if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "JSON has no NaN or infinity");
        if (value == 0) return double.IsNegative(value) ? "-0.0" : "0.0";
        // .NET's "R" gives the shortest round-trip digits; read them and the decimal exponent, then lay out as Python does.
        string shortest = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        string digits;
        int exponent;
        int e = shortest.IndexOf('E');
        if (e >= 0)
        {
            digits = shortest[..e].Replace(".", "");
            exponent = int.Parse(shortest[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        }
        else
        {
            int dot = shortest.IndexOf('.');
            string whole = dot < 0 ? shortest : shortest[..dot], fraction = dot < 0 ? "" : shortest[(dot + 1)..];
            if (whole != "0")
            {
                digits = whole + fraction;
                exponent = whole.Length - 1;
            }
            else
            {
                string significant = fraction.TrimStart('0');
                exponent = -(fraction.Length - significant.Length + 1);
                digits = significant;
            }
        }
        digits = digits.TrimEnd('0');
        string sign = value < 0 ? "-" : "";
        if (exponent < -4 || exponent >= 16)
        {
            string mantissa = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
            return $"{sign}{mantissa}e{(exponent < 0 ? "-" : "+")}{Math.Abs(exponent):00}";
        }
        if (exponent < 0) return $"{sign}0.{new string('0', -exponent - 1)}{digits}";
        if (digits.Length <= exponent + 1) return $"{sign}{digits}{new string('0', exponent + 1 - digits.Length)}.0";
        return $"{sign}{digits[..(exponent + 1)]}.{digits[(exponent + 1)..]}";
    }
}
