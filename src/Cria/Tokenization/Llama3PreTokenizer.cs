using System.Globalization;
using System.Text;

namespace Cria.Tokenization;

/// <summary>Llama 3's pre-tokenizer: splits text into the pieces that the regular expression
/// <see cref="Pattern"/> finds, as tiktoken's regex engine (Rust fancy-regex, leftmost-first backtracking, Unicode
/// classes, simple case folding) finds them. A hand-written scanner: each alternative's backtracking is worked out
/// below, so it runs in one pass with no regex engine, and it matches the character classes exactly (\s is
/// Unicode White_Space; \p{L}/\p{N} are the general categories from .NET's Unicode tables).</summary>
internal static class Llama3PreTokenizer
{
    /// <summary>The split pattern of Meta's <c>tokenizer.py</c>, HF <c>tokenizer.json</c> and llama.cpp's <c>llama-bpe</c>.</summary>
    public const string Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    // Character classes. Other = none of the flags (punctuation, symbols, marks, controls, lone surrogates).
    private const byte Letter = 1, Number = 2, Space = 4, LineBreak = 8; // LineBreak is \r or \n and also Space

    private static readonly byte[] BmpClass = BuildBmpTable();

    /// <summary>The end (exclusive) of the piece that starts at <paramref name="start"/> (&lt; text.Length).</summary>
    public static int PieceEnd(ReadOnlySpan<char> text, int start)
    {
        int i = start, n = text.Length;
        char c = text[i];

        // (?i:'s|'t|'re|'ve|'m|'ll|'d): case-insensitive as Unicode simple case folding ('ſ' U+017F folds to 's').
        if (c == '\'' && i + 1 < n)
        {
            char c1 = text[i + 1];
            switch (c1)
            {
                case 's' or 'S' or '\u017F' or 't' or 'T' or 'm' or 'M' or 'd' or 'D':
                    return i + 2;
                case 'r' or 'R' or 'v' or 'V':
                    if (i + 2 < n && (text[i + 2] | 0x20) == 'e') return i + 3;
                    break;
                case 'l' or 'L':
                    if (i + 2 < n && (text[i + 2] | 0x20) == 'l') return i + 3;
                    break;
            }
        }

        byte cls = ClassAt(text, i, out int width);

        // [^\r\n\p{L}\p{N}]?\p{L}+ : a letter run, or one non-letter/number/line-break char and then a letter run.
        if (cls == Letter) return LetterRunEnd(text, i + width);
        if ((cls & (Number | LineBreak)) == 0 && i + width < n && ClassAt(text, i + width, out int nextWidth) == Letter)
            return LetterRunEnd(text, i + width + nextWidth);

        // \p{N}{1,3}
        if (cls == Number)
        {
            int end = i + width;
            for (int count = 1; count < 3 && end < n && ClassAt(text, end, out int w) == Number; count++) end += w;
            return end;
        }

        // ' ?[^\s\p{L}\p{N}]+[\r\n]*' : the optional space is only U+0020; with it taken, an "other" char must follow.
        int otherStart = c == ' ' && i + 1 < n && ClassAt(text, i + 1, out _) == 0 ? i + 1 : i;
        if (otherStart > i || cls == 0)
        {
            int end = otherStart;
            while (end < n && ClassAt(text, end, out int w) == 0) end += w;
            while (end < n && text[end] is '\r' or '\n') end++;
            return end;
        }

        // Only whitespace is left. \s*[\r\n]+ backtracks to the last line break of the run: it ends just after it.
        int runEnd = i, lastBreak = -1;
        while (runEnd < n && (BmpClassOf(text[runEnd]) & Space) != 0) // whitespace is all in the BMP
        {
            if (text[runEnd] is '\r' or '\n') lastBreak = runEnd;
            runEnd++;
        }
        if (lastBreak >= 0) return lastBreak + 1;
        // \s+(?!\S): the whole run at the end of the text, else all but its last char (which then starts the next piece).
        if (runEnd == n || runEnd - i == 1) return runEnd; // (a single space before a non-space: \s+)
        return runEnd - 1;
    }

    /// <summary>Splits <paramref name="text"/> into pieces (for tests and tools; encoding walks <see cref="PieceEnd"/>).</summary>
    public static List<string> Split(string text)
    {
        var pieces = new List<string>();
        for (int i = 0; i < text.Length;)
        {
            int end = PieceEnd(text, i);
            pieces.Add(text[i..end]);
            i = end;
        }
        return pieces;
    }

    /// <summary>The pattern's class of a code point (not a surrogate): 'L' (\p{L}), 'N' (\p{N}), 'S' (\s) or 'O' (other).</summary>
    internal static char ClassName(int codePoint)
    {
        byte cls = codePoint < 0x10000 ? BmpClass[codePoint] : ClassOf(Rune.GetUnicodeCategory(new Rune(codePoint)));
        return cls switch { Letter => 'L', Number => 'N', 0 => 'O', _ => 'S' };
    }

    private static int LetterRunEnd(ReadOnlySpan<char> text, int i)
    {
        while (i < text.Length && ClassAt(text, i, out int w) == Letter) i += w;
        return i;
    }

    private static byte BmpClassOf(char c) => BmpClass[c];

    /// <summary>The class of the code point at <paramref name="i"/> and its length in chars; a lone surrogate is
    /// U+FFFD (what tiktoken makes of it), of class "other".</summary>
    private static byte ClassAt(ReadOnlySpan<char> text, int i, out int width)
    {
        char c = text[i];
        if (!char.IsHighSurrogate(c) || i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
        {
            width = 1;
            return BmpClass[c];
        }
        width = 2;
        return ClassOf(Rune.GetUnicodeCategory(new Rune(c, text[i + 1])));
    }

    private static byte ClassOf(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Letter,
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Number,
        _ => 0,
    };

    /// <summary>Unicode's White_Space property, which is what \s means in Rust's regex (25 code points, all in the BMP).</summary>
    internal static bool IsWhiteSpace(int c) => c is >= 0x09 and <= 0x0D or 0x20 or 0x85 or 0xA0 or 0x1680 or >= 0x2000 and <= 0x200A
        or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000;

    private static byte[] BuildBmpTable()
    {
        var table = new byte[65536];
        for (int c = 0; c < table.Length; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF) continue; // a surrogate alone is "other"; pairs are classified as runes
            table[c] = IsWhiteSpace(c) ? (byte)(Space | (c is '\r' or '\n' ? LineBreak : 0)) : ClassOf(CharUnicodeInfo.GetUnicodeCategory((char)c));
        }
        return table;
    }
}
