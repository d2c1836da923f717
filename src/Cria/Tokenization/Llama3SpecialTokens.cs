namespace Cria.Tokenization;

/// <summary>Which release's names the 256 special tokens of a bare Llama 3 <c>tokenizer.model</c> get (the file
/// holds only the 128,000 ranks; the ids 128000…128255 are the same in every release, their names are not).</summary>
public enum Llama3SpecialTokenNames
{
    /// <summary>Llama 3 (Hugging Face Meta-Llama-3): 128004 is <c>&lt;|reserved_special_token_2|&gt;</c>, no eom/python tokens.</summary>
    Llama3,

    /// <summary>Llama 3.1 (Hugging Face Llama-3.1): 128004 <c>&lt;|finetune_right_pad_id|&gt;</c>, 128008
    /// <c>&lt;|eom_id|&gt;</c>, 128010 <c>&lt;|python_tag|&gt;</c>. The default.</summary>
    Llama3_1,

    /// <summary>Meta's <c>llama-models</c> <c>models/llama3/tokenizer.py</c> (used there for 3.1, 3.2 and 3.3): as 3.1 plus
    /// 128005 <c>&lt;|step_id|&gt;</c> and 128011 <c>&lt;|image|&gt;</c>.</summary>
    Llama3_2,
}

/// <summary>The special-token name tables of the Llama 3 releases.</summary>
public static class Llama3SpecialTokens
{
    /// <summary>Number of special tokens after the 128,000 ranks.</summary>
    public const int Count = 256;

    public const string BeginOfText = "<|begin_of_text|>";
    public const string EndOfText = "<|end_of_text|>";
    public const string EndOfTurn = "<|eot_id|>";
    public const string EndOfMessage = "<|eom_id|>";

    // The named tokens at the start of each table; null marks the next <|reserved_special_token_N|>, numbered on
    // from 0 through the rest of the 256.
    private static readonly string?[] Llama3Named =
        [BeginOfText, EndOfText, null, null, null, null, "<|start_header_id|>", "<|end_header_id|>", null, EndOfTurn];
    private static readonly string?[] Llama3_1Named =
        [BeginOfText, EndOfText, null, null, "<|finetune_right_pad_id|>", null, "<|start_header_id|>", "<|end_header_id|>", EndOfMessage, EndOfTurn, "<|python_tag|>"];
    private static readonly string?[] Llama3_2Named =
        [BeginOfText, EndOfText, null, null, "<|finetune_right_pad_id|>", "<|step_id|>", "<|start_header_id|>", "<|end_header_id|>", EndOfMessage, EndOfTurn, "<|python_tag|>", "<|image|>"];

    /// <summary>The 256 names, for ids 128000…128255 in order.</summary>
    public static string[] Names(Llama3SpecialTokenNames release)
    {
        string?[] named = release switch
        {
            Llama3SpecialTokenNames.Llama3 => Llama3Named,
            Llama3SpecialTokenNames.Llama3_1 => Llama3_1Named,
            Llama3SpecialTokenNames.Llama3_2 => Llama3_2Named,
            _ => throw new ArgumentOutOfRangeException(nameof(release), release, "unknown Llama 3 release"),
        };
        var names = new string[Count];
        int reserved = 0;
        for (int i = 0; i < Count; i++)
            names[i] = (i < named.Length ? named[i] : null) ?? $"<|reserved_special_token_{reserved++}|>";
        return names;
    }
}
