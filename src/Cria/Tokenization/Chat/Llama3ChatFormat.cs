namespace Cria.Tokenization.Chat;

/// <summary>Llama 3 chat as Meta's <c>ChatFormat</c> and the Hugging Face templates build it: BOS, then per message
/// <c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\n</c> + trimmed content + <c>&lt;|eot_id|&gt;</c>, and the
/// assistant header as the generation prompt. The 3.1 and 3.2 templates always open with a system message that states
/// the knowledge cut-off and today's date (3.1: "26 Jul 2024" unless given; 3.2: today).</summary>
public sealed class Llama3ChatFormat : ChatFormat
{
    private readonly int _startHeader, _endHeader, _endOfTurn;

    public Llama3ChatFormat(Tokenizer tokenizer, Llama3Variant variant = Llama3Variant.Llama3_0, string? dateString = null) : base(tokenizer)
    {
        Variant = variant;
        _startHeader = Special("<|start_header_id|>");
        _endHeader = Special("<|end_header_id|>");
        _endOfTurn = Special("<|eot_id|>");
        DateString = dateString ?? (variant == Llama3Variant.Llama3_2 ? DateTime.Now.ToString("dd MMM yyyy", System.Globalization.CultureInfo.InvariantCulture) : "26 Jul 2024");
    }

    public Llama3Variant Variant { get; }

    /// <summary>The "Today Date" the 3.1/3.2 system block states.</summary>
    public string DateString { get; }

    public override string Name => Variant switch { Llama3Variant.Llama3_1 => "llama3.1", Llama3Variant.Llama3_2 => "llama3.2", _ => "llama3" };

    public override IReadOnlyList<int> StopTokens
    {
        get
        {
            var stops = new List<int> { _endOfTurn };
            foreach (string text in new[] { "<|end_of_text|>", "<|eom_id|>" })
                if (Tokenizer.FindToken(text) is int id and >= 0) stops.Add(id);
            return stops;
        }
    }

    public override int[] EncodeDialog(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true)
    {
        CheckAlternation(messages, Name);
        var ids = new List<int>();
        if (Tokenizer.BosId >= 0) ids.Add(Tokenizer.BosId);
        IEnumerable<ChatMessage> rest = messages;
        if (Variant != Llama3Variant.Llama3_0)
        {
            string system = messages[0].Role == "system" ? messages[0].Content.Trim() : "";
            if (messages[0].Role == "system") rest = messages.Skip(1);
            AddMessage(ids, "system", $"Cutting Knowledge Date: December 2023\nToday Date: {DateString}\n\n{system}", trim: false);
        }
        foreach (var m in rest) AddMessage(ids, m.Role, m.Content, trim: true);
        if (addGenerationPrompt) AddHeader(ids, "assistant");
        return [.. ids];
    }

    public override int[] EndOfReply() => [_endOfTurn];

    public override int[] EncodeNextUserTurn(string content)
    {
        var ids = new List<int>();
        AddMessage(ids, "user", content, trim: true);
        AddHeader(ids, "assistant");
        return [.. ids];
    }

    private void AddHeader(List<int> ids, string role)
    {
        ids.Add(_startHeader);
        ids.AddRange(Tokenizer.Encode(role, addBos: false));
        ids.Add(_endHeader);
        ids.AddRange(Tokenizer.Encode("\n\n", addBos: false));
    }

    private void AddMessage(List<int> ids, string role, string content, bool trim)
    {
        AddHeader(ids, role);
        ids.AddRange(Tokenizer.Encode(trim ? content.Trim() : content, addBos: false));
        ids.Add(_endOfTurn);
    }
}

/// <summary>Which Llama 3 chat template: 3.0 (plain), 3.1 (system block with knowledge date and a fixed date),
/// 3.2 (the same with today's date).</summary>
public enum Llama3Variant { Llama3_0, Llama3_1, Llama3_2 }
