namespace Cria.Tokenization;

/// <summary>The special ids and switches of a SentencePiece vocabulary, as its file states them. Defaults are
/// Llama 1/2's (unk 0, BOS 1, EOS 2, no pad, BOS added, a leading space added).</summary>
public sealed record SentencePieceOptions
{
    public int BosId { get; init; } = 1;
    public int EosId { get; init; } = 2;
    public int UnknownId { get; init; } = 0;
    /// <summary>Padding id, or -1: the original Llama models have none.</summary>
    public int PadId { get; init; } = -1;
    public bool AddBos { get; init; } = true;
    public bool AddEos { get; init; }
    /// <summary>Whether encoding prepends '▁' to the text and decoding drops it again (sentencepiece
    /// <c>add_dummy_prefix</c>, GGUF <c>tokenizer.ggml.add_space_prefix</c>).</summary>
    public bool AddSpacePrefix { get; init; } = true;
    /// <summary>sentencepiece's <c>remove_extra_whitespaces</c>: before encoding, drop leading and trailing spaces and
    /// collapse each inner run of spaces to one; when decoding, drop the '▁' of every piece until text appears. Only
    /// a sentencepiece <c>tokenizer.model</c> can turn it on (GGUF has no such switch for SentencePiece, and llama.cpp
    /// never does it).</summary>
    public bool RemoveExtraWhitespaces { get; init; }
    /// <summary>With <see cref="AddSpacePrefix"/> and special-token parsing: whether text that follows a special token
    /// gets the '▁' prefix too (llama.cpp, and Hugging Face's Prepend normaliser / Metaspace "always"), or only text at
    /// the very start does (Hugging Face's Metaspace <c>prepend_scheme</c> "first").</summary>
    public bool AddSpacePrefixAfterSpecialTokens { get; init; } = true;
    /// <summary>Ids besides EOS that end generation (e.g. GGUF <c>tokenizer.ggml.eot_token_id</c>).</summary>
    public IReadOnlyList<int> ExtraEndOfGenerationIds { get; init; } = [];
    /// <summary>Where the vocabulary came from (a file path), used to name it in errors.</summary>
    public string Source { get; init; } = "tokenizer";

    /// <summary>The chat template the vocabulary came with, if any.</summary>
    public string? ChatTemplate { get; init; }
}
