namespace Cria.Tokenization.Chat;

/// <summary>Chooses a model's chat format: from its chat template (GGUF <c>tokenizer.chat_template</c> or
/// <c>tokenizer_config.json</c>), else from its vocabulary; or by a name the user gives.</summary>
public static class ChatFormats
{
    public static readonly string[] Names = ["llama2", "llama3", "llama3.1", "llama3.2"];

    /// <summary>The format named <paramref name="name"/> (case-insensitive), or the detected one when null/"auto".</summary>
    public static ChatFormat Create(Tokenizer tokenizer, string? name = null, string? dateString = null)
    {
        if (name is null || name.Equals("auto", StringComparison.OrdinalIgnoreCase)) return Detect(tokenizer, dateString);
        return name.ToLowerInvariant() switch
        {
            "llama2" or "llama-2" => new Llama2ChatFormat(tokenizer),
            "llama3" or "llama-3" or "llama3.0" => new Llama3ChatFormat(tokenizer, Llama3Variant.Llama3_0, dateString),
            "llama3.1" or "llama-3.1" => new Llama3ChatFormat(tokenizer, Llama3Variant.Llama3_1, dateString),
            "llama3.2" or "llama-3.2" or "llama3.3" => new Llama3ChatFormat(tokenizer, Llama3Variant.Llama3_2, dateString),
            _ => throw new CriaException($"unknown chat format '{name}' (known: auto, {string.Join(", ", Names)})"),
        };
    }

    /// <param name="template">A chat template to read instead of the tokenizer's own.</param>
    public static ChatFormat Detect(Tokenizer tokenizer, string? dateString = null, string? template = null)
    {
        template ??= tokenizer.ChatTemplate;
        bool hasHeaders = tokenizer.FindToken("<|start_header_id|>") >= 0;
        if (template != null && template.Contains("<|start_header_id|>", StringComparison.Ordinal) && hasHeaders)
        {
            if (!template.Contains("Cutting Knowledge Date", StringComparison.Ordinal)) return new Llama3ChatFormat(tokenizer, Llama3Variant.Llama3_0, dateString);
            // 3.2's template dates the system block today (strftime_now); 3.1's uses a fixed date.
            var variant = template.Contains("strftime_now", StringComparison.Ordinal) ? Llama3Variant.Llama3_2 : Llama3Variant.Llama3_1;
            return new Llama3ChatFormat(tokenizer, variant, dateString);
        }
        if (template != null && template.Contains("[INST]", StringComparison.Ordinal)) return new Llama2ChatFormat(tokenizer);
        // No template (a base model, or a file without one): the vocabulary tells Llama 3 from Llama 1/2.
        return hasHeaders ? new Llama3ChatFormat(tokenizer, Llama3Variant.Llama3_0, dateString) : new Llama2ChatFormat(tokenizer);
    }
}
