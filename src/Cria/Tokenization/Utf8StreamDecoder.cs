using System.Text;

namespace Cria.Tokenization;

/// <summary>Turns the bytes of generated tokens into text as they arrive. It emits only complete UTF-8 characters,
/// holds back a trailing incomplete sequence until later bytes complete it, and replaces each byte that cannot
/// start a well-formed character with U+FFFD as soon as that is certain. That is the rule of
/// <see cref="Tokenizer.Decode(ReadOnlySpan{int})"/>, so the streamed text equals the decoded text; the one
/// difference is that Decode also ends a character at a token that renders nothing (a control token inside a byte
/// sequence), which a caller matches by calling <see cref="Flush(Span{char})"/> there.
/// Nothing is allocated per call. Not thread-safe: one decoder per stream.</summary>
/// <example><code>
/// var utf8 = new Utf8StreamDecoder();
/// foreach (int id in generated) utf8.Write(tokenizer.DecodeBytes(id), Console.Out);
/// utf8.Flush(Console.Out);
/// </code></example>
public sealed class Utf8StreamDecoder
{
    private const int MaxPending = 3;      // a held-back prefix is at most 3 bytes of a 4-byte character
    private const int WriterChunk = 256;   // chars per TextWriter.Write

    private readonly byte[] _pending = new byte[MaxPending];
    private int _pendingCount;

    /// <summary>Number of bytes held back, waiting for the rest of a character.</summary>
    public int PendingByteCount => _pendingCount;

    /// <summary>The most chars one <see cref="Decode"/> of <paramref name="byteCount"/> bytes (or a
    /// <see cref="Flush(Span{char})"/>, with 0) can write: every byte gives at most one char.</summary>
    public static int GetMaxCharCount(int byteCount) => byteCount + MaxPending;

    /// <summary>Decodes <paramref name="bytes"/> after what was held back, writing complete characters to
    /// <paramref name="destination"/>, which must hold <see cref="GetMaxCharCount"/>(bytes.Length) chars.</summary>
    /// <returns>The number of chars written.</returns>
    public int Decode(ReadOnlySpan<byte> bytes, Span<char> destination)
    {
        if (destination.Length < GetMaxCharCount(bytes.Length))
            throw new ArgumentException($"destination needs room for {GetMaxCharCount(bytes.Length)} chars", nameof(destination));
        int written = 0;
        if (_pendingCount > 0)
        {
            written = DecodeAfterPending(ref bytes, destination);
            if (_pendingCount > 0) return written; // every byte went into the held-back prefix
        }
        written += Utf8Replacement.Decode(bytes, destination[written..], isFinal: false, out int consumed);
        bytes[consumed..].CopyTo(_pending);
        _pendingCount = bytes.Length - consumed;
        return written;
    }

    /// <summary>Ends the stream: bytes still held back are invalid (the character never completed) and each
    /// becomes U+FFFD. Writes at most 3 chars. The decoder is then ready for a new stream.</summary>
    public int Flush(Span<char> destination)
    {
        if (destination.Length < _pendingCount) throw new ArgumentException($"destination needs room for {_pendingCount} chars", nameof(destination));
        int written = Utf8Replacement.Decode(_pending.AsSpan(0, _pendingCount), destination, isFinal: true, out _);
        _pendingCount = 0;
        return written;
    }

    /// <summary>Decodes <paramref name="bytes"/> and writes the complete characters to <paramref name="writer"/>.</summary>
    public void Write(ReadOnlySpan<byte> bytes, TextWriter writer)
    {
        Span<char> chars = stackalloc char[WriterChunk];
        do
        {
            int take = Math.Min(bytes.Length, WriterChunk - MaxPending);
            int n = Decode(bytes[..take], chars);
            if (n > 0) writer.Write(chars[..n]);
            bytes = bytes[take..];
        } while (!bytes.IsEmpty);
    }

    /// <summary>Ends the stream on <paramref name="writer"/> (see <see cref="Flush(Span{char})"/>).</summary>
    public void Flush(TextWriter writer)
    {
        Span<char> chars = stackalloc char[MaxPending];
        int n = Flush(chars);
        if (n > 0) writer.Write(chars[..n]);
    }

    /// <summary>Forgets any held-back bytes without emitting them.</summary>
    public void Reset() => _pendingCount = 0;

    /// <summary>Resolves the held-back prefix with the first input bytes; advances <paramref name="bytes"/>
    /// past those it used. If the input ends inside the character, everything stays held back.</summary>
    private int DecodeAfterPending(ref ReadOnlySpan<byte> bytes, Span<char> destination)
    {
        int pendingCount = _pendingCount;
        int take = Math.Min(bytes.Length, 4);
        Span<byte> head = stackalloc byte[MaxPending + 4];
        _pending.AsSpan(0, pendingCount).CopyTo(head);
        bytes[..take].CopyTo(head[pendingCount..]);
        int headLength = pendingCount + take, pos = 0, written = 0;
        // Decode only characters that start in the held-back part; with 4 bytes beyond it none can be incomplete.
        while (pos < pendingCount)
        {
            var status = Rune.DecodeFromUtf8(head[pos..headLength], out Rune rune, out int length);
            if (status == System.Buffers.OperationStatus.Done)
            {
                written += rune.EncodeToUtf16(destination[written..]);
                pos += length;
            }
            else if (status == System.Buffers.OperationStatus.NeedMoreData)
            {
                head[pos..headLength].CopyTo(_pending); // take == bytes.Length here: all input is held back
                _pendingCount = headLength - pos;
                bytes = default;
                return written;
            }
            else
            {
                destination[written++] = Utf8Replacement.ReplacementChar;
                pos++;
            }
        }
        bytes = bytes[(pos - pendingCount)..];
        _pendingCount = 0;
        return written;
    }
}
