namespace Cria.Tokenization;

/// <summary>Settings of a <see cref="TiktokenTokenizer"/> that its vocabulary file states (or a loader's defaults).</summary>
public sealed record TiktokenOptions
{
    /// <summary>The file the vocabulary came from, to name it in errors.</summary>
    public string Source { get; init; } = "tokenizer";

    public int BosId { get; init; } = -1;
    public int EosId { get; init; } = -1;
    public int PadId { get; init; } = -1;

    /// <summary>Whether a prompt starts with BOS (Meta's generation code and llama.cpp's <c>llama-bpe</c> default: yes).</summary>
    public bool AddBos { get; init; } = true;

    public bool AddEos { get; init; }

    /// <summary>A piece that is itself a token is emitted whole (tiktoken; HF <c>ignore_merges</c>).</summary>
    public bool IgnoreMerges { get; init; } = true;

    /// <summary>Ids that end generation besides EOS and the Llama 3 end tokens found by name (e.g. GGUF <c>eot_token_id</c>).</summary>
    public IReadOnlyList<int> ExtraEndOfGenerationIds { get; init; } = [];

    public string? ChatTemplate { get; init; }
}
