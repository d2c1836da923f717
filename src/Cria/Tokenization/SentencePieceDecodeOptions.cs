namespace Cria.Tokenization;

/// <summary>How <see cref="SentencePieceTokenizer.Decode(ReadOnlySpan{int}, SentencePieceDecodeOptions)"/> renders ids.</summary>
/// <param name="RemoveLeadingSpace">Drop the '▁' that starts the first visible piece (the space encoding added);
/// sentencepiece does this when <c>add_dummy_prefix</c> is on.</param>
/// <param name="SkipLeadingBos">Drop a BOS id at the start before rendering (matters only with
/// <paramref name="RenderSpecialTokens"/>).</param>
/// <param name="RenderSpecialTokens">Render control and unknown tokens as their text ("&lt;s&gt;", "&lt;unk&gt;")
/// as llama.cpp does with <c>special = true</c>, instead of hiding control tokens.</param>
/// <param name="RemoveExtraWhitespaces">sentencepiece's rule under <c>remove_extra_whitespaces</c>: drop the leading '▁'
/// of every piece while the decoded text is still empty, not only of the first.</param>
public readonly record struct SentencePieceDecodeOptions(bool RemoveLeadingSpace, bool SkipLeadingBos = false, bool RenderSpecialTokens = false,
    bool RemoveExtraWhitespaces = false);
