using Cria.Tensors;

namespace Cria.Quantization;

/// <summary>The type a tensor gets in a quantisation mix, as llama.cpp's <c>llama_tensor_get_type</c>
/// (src/llama-quant.cpp) decides it: more bits for the output, for some attn_v/ffn_down layers and for attn_output,
/// then a fallback type when the row length is not a whole number of the chosen type's blocks. It keeps llama.cpp's
/// running counters, so tensors must be offered in llama.cpp's order (<see cref="LlamaTensorOrder"/>).
/// The branches for the IQ/TQ file types are left out: Cria cannot write those types.
/// <para>Fallbacks follow current llama.cpp (<c>tensor_type_fallback</c>): Q2_K/Q3_K → Q4_0, Q4_K → Q5_0, Q5_K → Q5_1,
/// Q6_K → Q8_0, then F16 when even that does not fit, also with <c>--pure</c>. llama.cpp c392e50, which made the
/// reference files, agrees for Q4_K/Q5_K/Q6_K but used IQ4_NL (which Cria cannot write) for Q2_K/Q3_K, stopped with
/// "Unsupported tensor size" for the 32-element types, and crashed with --pure.</para></summary>
public sealed class LlamaTensorTypeSelector(QuantizationModelInfo model, LlamaFileType fileType)
{
    private int _attentionV, _ffnDown, _ffnGate, _ffnUp;

    /// <summary>Tensors that got the type they asked for (llama.cpp's n_k_quantized).</summary>
    public int Quantized { get; private set; }

    /// <summary>Tensors that needed a fallback type (llama.cpp's n_fallback).</summary>
    public int Fallbacks { get; private set; }

    /// <summary>The outcome for one tensor.</summary>
    /// <param name="Type">The type to write.</param>
    /// <param name="FallbackFrom">The type the mix asked for when its blocks did not fit the rows, else null.</param>
    public readonly record struct Choice(GgmlType Type, GgmlType? FallbackFrom);

    /// <summary>Chooses the type of tensor <paramref name="name"/> (ggml <paramref name="dimensions"/>, row length first)
    /// whose mix default is the block type <paramref name="type"/>; with <paramref name="pure"/> only the fallback applies.</summary>
    public Choice Choose(string name, IReadOnlyList<long> dimensions, GgmlType type, bool pure = false)
    {
        if (!pure) type = ByRole(name, dimensions[0], type);
        long columns = dimensions[0];
        if (columns % TensorTypeInfo.Get(type).BlockElements == 0)
        {
            Quantized++;
            return new Choice(type, null);
        }
        GgmlType wanted = type;
        type = type switch
        {
            GgmlType.Q2_K or GgmlType.Q3_K => GgmlType.Q4_0,
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q5_K => GgmlType.Q5_1,
            GgmlType.Q6_K => GgmlType.Q8_0,
            _ => GgmlType.F16,
        };
        if (columns % TensorTypeInfo.Get(type).BlockElements != 0) type = GgmlType.F16;
        Fallbacks++;
        return new Choice(type, wanted);
    }

    private static string Name(GgmlType type) => TensorTypeInfo.Get(type).Name;

    // llama.cpp's use_more_bits: the first and last eighth of the layers, and every third one between.
    private static bool UseMoreBits(int layer, int layers) => layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;

    // llama.cpp's layer_info: the running counter, except with experts, whose tensors are not in layer order.
    private (int Layer, int Layers) LayerInfo(int counter, string name)
    {
        if (model.ExpertCount <= 1) return (counter, model.LayerCount);
        if (!LlamaTensorOrder.TryParseLayer(name, out int layer))
            throw new CriaException($"failed to determine the layer of tensor '{name}'");
        if (layer < 0 || layer >= model.LayerCount)
            throw new CriaException($"bad layer {layer} for tensor '{name}': must be in [0, {model.LayerCount})");
        return (layer, model.LayerCount);
    }

    private GgmlType ByRole(string name, long columns, GgmlType type)
    {
        var ftype = fileType;
        bool Has(string part) => name.Contains(part, StringComparison.Ordinal);

        if (name == "output.weight" || (!model.HasOutput && name == "token_embd.weight"))
        {
            if (model.IsFalcon || columns % TensorTypeInfo.Get(type).BlockElements != 0) type = GgmlType.Q8_0;
            else if (type != GgmlType.Q8_0) type = GgmlType.Q6_K;
        }
        else if (name == "token_embd.weight")
        {
            // Only the IQ and TQ mixes change the token embedding.
        }
        else if (Has("attn_v.weight"))
        {
            if (ftype == LlamaFileType.MostlyQ2_K) type = model.GqaFactor >= 4 ? GgmlType.Q4_K : GgmlType.Q3_K;
            else if (ftype == LlamaFileType.MostlyQ3_K_M) type = _attentionV < 2 ? GgmlType.Q5_K : GgmlType.Q4_K;
            else if (ftype == LlamaFileType.MostlyQ3_K_L) type = GgmlType.Q5_K;
            else if ((ftype == LlamaFileType.MostlyQ4_K_M || ftype == LlamaFileType.MostlyQ5_K_M) && UseMoreBits(_attentionV, model.AttentionVCount)) type = GgmlType.Q6_K;
            else if (ftype == LlamaFileType.MostlyQ4_K_S && _attentionV < 4) type = GgmlType.Q5_K;
            // 70B shares each attn_v among 8 heads, so it is 8x smaller than attn_q: more bits cost little there.
            if (model.Is70B && type is GgmlType.Q3_K or GgmlType.Q4_K) type = GgmlType.Q5_K;
            if (model.ExpertCount == 8) type = GgmlType.Q8_0;
            ++_attentionV;
        }
        else if (Has("attn_k.weight"))
        {
            if (model.ExpertCount == 8) type = GgmlType.Q8_0;
        }
        else if (Has("attn_q.weight"))
        {
            // Only the IQ3 mixes change attn_q.
        }
        else if (Has("ffn_down"))
        {
            var (layer, layers) = LayerInfo(_ffnDown, name);
            if (ftype == LlamaFileType.MostlyQ2_K) type = GgmlType.Q3_K;
            else if (ftype == LlamaFileType.MostlyQ3_K_M)
                type = layer < layers / 16 ? GgmlType.Q5_K : !model.IsFalcon || UseMoreBits(layer, layers) ? GgmlType.Q4_K : GgmlType.Q3_K;
            else if (ftype == LlamaFileType.MostlyQ3_K_L) type = model.IsFalcon ? GgmlType.Q4_K : GgmlType.Q5_K;
            else if (ftype == LlamaFileType.MostlyQ4_K_M)
            {
                if (model.IsFalcon) type = layer < layers / 16 ? GgmlType.Q6_K : UseMoreBits(layer, layers) ? GgmlType.Q5_K : GgmlType.Q4_K;
                else if (UseMoreBits(layer, layers)) type = GgmlType.Q6_K;
            }
            else if (ftype == LlamaFileType.MostlyQ5_K_M && UseMoreBits(layer, layers)) type = GgmlType.Q6_K;
            else if (ftype == LlamaFileType.MostlyQ4_K_S && !model.IsFalcon && layer < layers / 8) type = GgmlType.Q5_K;
            // (The Q4_0/Q5_0 → Q4_1/Q5_1 rule for the first layers applies only with an importance matrix.)
            ++_ffnDown;
        }
        else if (Has("attn_output.weight"))
        {
            if (!model.IsFalcon)
            {
                if (model.ExpertCount == 8)
                {
                    if (ftype is LlamaFileType.MostlyQ2_K or LlamaFileType.MostlyQ3_K_S or LlamaFileType.MostlyQ3_K_M
                        or LlamaFileType.MostlyQ4_K_S or LlamaFileType.MostlyQ4_K_M)
                        type = GgmlType.Q5_K;
                }
                else if (ftype == LlamaFileType.MostlyQ2_K) type = GgmlType.Q3_K;
                else if (ftype == LlamaFileType.MostlyQ3_K_M) type = GgmlType.Q4_K;
                else if (ftype == LlamaFileType.MostlyQ3_K_L) type = GgmlType.Q5_K;
            }
            else if (ftype == LlamaFileType.MostlyQ3_K_L) type = GgmlType.Q4_K;
        }
        else if (Has("attn_qkv.weight"))
        {
            if (ftype is LlamaFileType.MostlyQ3_K_M or LlamaFileType.MostlyQ3_K_L) type = GgmlType.Q4_K;
            else if (ftype == LlamaFileType.MostlyQ4_K_M) type = GgmlType.Q5_K;
            else if (ftype == LlamaFileType.MostlyQ5_K_M) type = GgmlType.Q6_K;
        }
        else if (Has("ffn_gate"))
        {
            LayerInfo(_ffnGate, name); // only the IQ3_XS mix uses it, but it validates expert layer numbers
            ++_ffnGate;
        }
        else if (Has("ffn_up"))
        {
            LayerInfo(_ffnUp, name);
            ++_ffnUp;
        }
        return type;
    }
}
