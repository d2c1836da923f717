namespace Cria.Tokenization;

/// <summary>Meta's chunking before tiktoken (<c>llama-models</c> <c>tokenizer.py</c>): the text is cut into slices
/// of at most 400,000 code points, and each slice wherever a run of consecutive whitespace or non-whitespace
/// (Python's <c>str.isspace</c>) grows past 25,000 code points. Each chunk is then split and merged on its own,
/// so no piece is longer than 25,000 code points and encoding stays linear in the text's length.</summary>
internal ref struct MetaTextChunker
{
    /// <summary><c>TIKTOKEN_MAX_ENCODE_CHARS</c>.</summary>
    public const int MaxEncodeCodePoints = 400_000;

    /// <summary><c>MAX_NO_WHITESPACES_CHARS</c>.</summary>
    public const int MaxRunCodePoints = 25_000;

    private readonly ReadOnlySpan<char> _text;
    private int _sliceEnd;   // end of the current 400,000-code-point slice
    private int _next;       // start of the next chunk
    private int _scan;       // where the run count goes on
    private bool _runIsSpace;
    private int _runLength;

    public MetaTextChunker(ReadOnlySpan<char> text) => _text = text;

    /// <summary>The next chunk as [start, end) in chars; false after the last.</summary>
    public bool MoveNext(out int start, out int end)
    {
        start = end = _next;
        if (_next >= _text.Length) return false;
        if (_next == _sliceEnd)
        {
            // a new slice: _split_whitespaces_or_nonwhitespaces starts with the class of its first char
            _sliceEnd = AdvanceCodePoints(_next, MaxEncodeCodePoints);
            _runIsSpace = IsPythonSpace(_text[_next]);
            _runLength = 0;
            _scan = _next;
        }
        for (int i = _scan; i < _sliceEnd; i += Width(i))
        {
            bool isSpace = IsPythonSpace(_text[i]);
            if (isSpace != _runIsSpace)
            {
                _runLength = 1;
                _runIsSpace = isSpace;
            }
            else if (++_runLength > MaxRunCodePoints)
            {
                end = i;
                _next = i;
                _scan = i + Width(i);
                _runLength = 1;
                return true;
            }
        }
        end = _next = _scan = _sliceEnd;
        return true;
    }

    private readonly int Width(int i) => char.IsHighSurrogate(_text[i]) && i + 1 < _text.Length && char.IsLowSurrogate(_text[i + 1]) ? 2 : 1;

    private readonly int AdvanceCodePoints(int start, int count)
    {
        int i = start;
        for (int k = 0; k < count && i < _text.Length; k++) i += Width(i);
        return i;
    }

    /// <summary>Python's <c>str.isspace</c> for one code point: White_Space plus the separators U+001C…U+001F
    /// (bidirectional class B/S). No code point outside the BMP is a space, so a surrogate never is.</summary>
    internal static bool IsPythonSpace(char c) => Llama3PreTokenizer.IsWhiteSpace(c) || c is >= '\u001C' and <= '\u001F';
}
