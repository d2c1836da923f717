using System.Text;

namespace Cria.Tokenization;

/// <summary>GPT-2's reversible byte ↔ character mapping (<c>bytes_to_unicode</c>), with which Hugging Face
/// <c>tokenizer.json</c> and GGUF <c>gpt2</c> vocabularies spell each byte-level token as printable text:
/// printable Latin-1 bytes stand for themselves, the other 68 bytes become U+0100…U+0143 (space is 'Ġ').</summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly short[] CharToByte = BuildCharToByte(ByteToChar); // -1 where the char stands for no byte

    /// <summary>The character that spells <paramref name="b"/>.</summary>
    public static char Spell(byte b) => ByteToChar[b];

    /// <summary>The byte-level spelling of <paramref name="bytes"/> (one char per byte).</summary>
    public static string Spell(ReadOnlySpan<byte> bytes) =>
        string.Create(bytes.Length, bytes.ToArray(), static (chars, raw) =>
        {
            for (int i = 0; i < raw.Length; i++) chars[i] = ByteToChar[raw[i]];
        });

    /// <summary>The bytes a byte-level string spells, or false if a char is outside the alphabet.</summary>
    public static bool TryRead(ReadOnlySpan<char> spelled, out byte[] bytes, out int badIndex)
    {
        bytes = new byte[spelled.Length];
        for (int i = 0; i < spelled.Length; i++)
        {
            char c = spelled[i];
            int b = c < CharToByte.Length ? CharToByte[c] : -1;
            if (b < 0)
            {
                badIndex = i;
                bytes = [];
                return false;
            }
            bytes[i] = (byte)b;
        }
        badIndex = -1;
        return true;
    }

    /// <summary>As <see cref="TryRead(ReadOnlySpan{char}, out byte[], out int)"/> from the spelling's UTF-8 (valid
    /// UTF-8 assumed); <paramref name="bad"/> is the first character outside the alphabet.</summary>
    public static bool TryReadUtf8(ReadOnlySpan<byte> spelled, out byte[] bytes, out Rune bad)
    {
        Span<byte> read = spelled.Length <= 256 ? stackalloc byte[spelled.Length] : new byte[spelled.Length];
        int count = 0;
        while (!spelled.IsEmpty)
        {
            Rune.DecodeFromUtf8(spelled, out Rune rune, out int used);
            int b = rune.Value < CharToByte.Length ? CharToByte[rune.Value] : -1;
            if (b < 0)
            {
                bad = rune;
                bytes = [];
                return false;
            }
            read[count++] = (byte)b;
            spelled = spelled[used..];
        }
        bad = default;
        bytes = read[..count].ToArray();
        return true;
    }

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    private static short[] BuildCharToByte(char[] byteToChar)
    {
        var map = new short[byteToChar.Max() + 1];
        Array.Fill(map, (short)-1);
        for (int b = 0; b < 256; b++) map[byteToChar[b]] = (short)b;
        return map;
    }
}
