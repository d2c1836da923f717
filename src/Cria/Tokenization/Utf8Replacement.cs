using System.Buffers;
using System.Text;

namespace Cria.Tokenization;

/// <summary>UTF-8 to UTF-16 with SentencePiece's rule for bad input: every byte that does not start a complete,
/// well-formed character becomes one U+FFFD and decoding resumes at the next byte (sentencepiece
/// <c>IsValidDecodeUTF8</c> consumes one byte per error). Each input byte yields at most one UTF-16 char.</summary>
internal static class Utf8Replacement
{
    public const char ReplacementChar = '\uFFFD';

    /// <summary>Decodes <paramref name="source"/> into <paramref name="destination"/> (at least
    /// <c>source.Length</c> chars). When <paramref name="isFinal"/> is false, a trailing valid-but-incomplete
    /// sequence is left unconsumed for the caller to complete later.</summary>
    /// <returns>The number of chars written.</returns>
    public static int Decode(ReadOnlySpan<byte> source, Span<char> destination, bool isFinal, out int bytesConsumed)
    {
        int read = 0, written = 0;
        while (read < source.Length)
        {
            byte b = source[read];
            if (b < 0x80)
            {
                destination[written++] = (char)b;
                read++;
                continue;
            }
            OperationStatus status = Rune.DecodeFromUtf8(source[read..], out Rune rune, out int length);
            if (status == OperationStatus.Done)
            {
                written += rune.EncodeToUtf16(destination[written..]);
                read += length;
            }
            else if (status == OperationStatus.NeedMoreData && !isFinal)
            {
                break; // a valid prefix at the end: the next bytes may complete it
            }
            else
            {
                destination[written++] = ReplacementChar;
                read++;
            }
        }
        bytesConsumed = read;
        return written;
    }
}
