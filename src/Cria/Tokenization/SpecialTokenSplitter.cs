namespace Cria.Tokenization;

/// <summary>A piece of text to encode: ordinary text (<see cref="TokenId"/> -1) or one special token's text.</summary>
internal readonly record struct TextFragment(int Start, int Length, int TokenId)
{
    public bool IsText => TokenId < 0;
}

/// <summary>Splits text at the texts of special tokens, as llama.cpp's <c>tokenizer_st_partition</c> does: the tokens
/// are taken one at a time, longest text first (ties: lower id), and each cuts every text fragment left so far at
/// all its non-overlapping occurrences, left to right. Linear in the text per token, whatever the input.</summary>
internal static class SpecialTokenSplitter
{
    /// <summary>Orders special tokens for <see cref="Split"/>: longest text first, then by id; empty texts dropped.</summary>
    public static (string Text, int Id)[] Prioritise(IEnumerable<(string Text, int Id)> tokens) =>
        [.. tokens.Where(t => t.Text.Length > 0).OrderByDescending(t => t.Text.Length).ThenBy(t => t.Id)];

    /// <summary>The fragments of <paramref name="text"/>, in order; no fragment is empty.</summary>
    /// <param name="specials">The tokens, already in priority order (<see cref="Prioritise"/>).</param>
    public static List<TextFragment> Split(ReadOnlySpan<char> text, ReadOnlySpan<(string Text, int Id)> specials)
    {
        var fragments = new List<TextFragment>();
        if (text.IsEmpty) return fragments;
        fragments.Add(new TextFragment(0, text.Length, -1));
        var next = new List<TextFragment>();
        foreach (var (special, id) in specials)
        {
            // Rebuilt in one pass per token: many matches cost no list insertions.
            next.Clear();
            bool changed = false;
            foreach (TextFragment fragment in fragments)
            {
                if (!fragment.IsText)
                {
                    next.Add(fragment);
                    continue;
                }
                int start = fragment.Start, end = fragment.Start + fragment.Length;
                while (start < end)
                {
                    int at = text[start..end].IndexOf(special, StringComparison.Ordinal);
                    if (at < 0) break;
                    changed = true;
                    if (at > 0) next.Add(new TextFragment(start, at, -1));
                    next.Add(new TextFragment(start + at, special.Length, id));
                    start += at + special.Length;
                }
                if (start < end) next.Add(new TextFragment(start, end - start, -1));
            }
            if (changed) (fragments, next) = (next, fragments);
        }
        return fragments;
    }
}
