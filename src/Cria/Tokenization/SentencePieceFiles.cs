namespace Cria.Tokenization;

/// <summary>Recognises the SentencePiece tokenizer files by their content, not their names: a sentencepiece
/// <c>tokenizer.model</c> (protobuf) and a Llama-2-style Hugging Face <c>tokenizer.json</c>. Llama 3's files share those
/// names — tiktoken's <c>tokenizer.model</c> is text lines, its <c>tokenizer.json</c> is byte-level BPE — and are left
/// to their own loader.</summary>
internal static class SentencePieceFiles
{
    /// <summary>The tokenizer in <paramref name="path"/> if it is one of the SentencePiece files, else null. A file that
    /// is recognised but malformed or unsupported throws <see cref="ModelFormatException"/>.</summary>
    public static SentencePieceTokenizer? TryLoad(string path, int? expectedVocabSize)
    {
        Span<byte> head = stackalloc byte[16];
        int n;
        using (var stream = File.OpenRead(path)) n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..n];
        if (LooksLikeModelProto(head)) return SentencePieceModelReader.Read(path, expectedVocabSize);
        if (LooksLikeJson(head)) return HuggingFaceSentencePieceLoader.Load(path, expectedVocabSize); // null for byte-level BPE
        return null;
    }

    /// <summary>A ModelProto starts with its first piece: field 1 (0x0A), a length, and the piece's own field 1 (0x0A).
    /// llama2.c's tokenizer.bin (an int32 first) and text files do not.</summary>
    internal static bool LooksLikeModelProto(ReadOnlySpan<byte> head)
    {
        if (head.Length < 3 || head[0] != SentencePieceModelReader.FirstByte) return false;
        int pos = 1;
        while (pos < head.Length && head[pos] >= 0x80) pos++; // the first piece's length (a varint)
        return pos + 1 < head.Length && head[pos + 1] == 0x0A;
    }

    private static bool LooksLikeJson(ReadOnlySpan<byte> head)
    {
        ReadOnlySpan<byte> text = head.StartsWith("\uFEFF"u8) ? head[3..] : head;
        text = text.TrimStart(" \t\r\n"u8);
        return !text.IsEmpty && text[0] == (byte)'{';
    }
}
