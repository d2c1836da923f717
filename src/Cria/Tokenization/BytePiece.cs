namespace Cria.Tokenization;

/// <summary>SentencePiece byte-fallback pieces: <c>&lt;0x00&gt;</c> … <c>&lt;0xFF&gt;</c> (upper-case hex, as sentencepiece writes them).</summary>
internal static class BytePiece
{
    /// <summary>The byte a piece like "&lt;0x0A&gt;" stands for, if it is one.</summary>
    public static bool TryParse(string piece, out byte value)
    {
        value = 0;
        if (piece.Length != 6 || !piece.StartsWith("<0x", StringComparison.Ordinal) || piece[5] != '>') return false;
        int hi = Hex(piece[3]), lo = Hex(piece[4]);
        if (hi < 0 || lo < 0) return false;
        value = (byte)(hi << 4 | lo);
        return true;
    }

    private static int Hex(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'A' and <= 'F' => c - 'A' + 10,
        >= 'a' and <= 'f' => c - 'a' + 10,
        _ => -1,
    };
}
