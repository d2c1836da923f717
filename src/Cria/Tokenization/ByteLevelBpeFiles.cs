using System.Buffers.Text;

namespace Cria.Tokenization;

/// <summary>Tells Llama 3's tokenizer files apart by content, not name: a tiktoken <c>tokenizer.model</c> is text
/// lines of <c>base64 rank</c> (a SentencePiece <c>tokenizer.model</c> is protobuf); a byte-level BPE
/// <c>tokenizer.json</c> has a ByteLevel pre-tokenizer (a SentencePiece-style one has Metaspace or byte fallback).</summary>
internal static class ByteLevelBpeFiles
{
    /// <summary>Reads <paramref name="path"/> if it is one of Llama 3's tokenizer files; false (and null) if it is another kind.</summary>
    /// <param name="expectedVocabSize">The model's vocabulary size; a tokenizer with more ids than that is an error.</param>
    public static bool TryRead(string path, int? expectedVocabSize, out TiktokenTokenizer? tokenizer)
    {
        tokenizer = null;
        Span<byte> head = stackalloc byte[512];
        int length;
        using (var stream = File.OpenRead(path)) length = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        ReadOnlySpan<byte> start = head[..length];
        if (start.StartsWith("\uFEFF"u8)) start = start[3..];
        start = start.TrimStart(" \t\r\n"u8);
        if (start.IsEmpty) return false;
        if (start[0] == '{')
        {
            var root = HuggingFaceByteLevelBpeReader.ParseFile(path);
            if (!HuggingFaceByteLevelBpeReader.IsByteLevelBpe(root)) return false;
            string sibling = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "tokenizer_config.json");
            string? configPath = File.Exists(sibling) ? sibling : null;
            tokenizer = HuggingFaceByteLevelBpeReader.FromJson(root, path, configPath == null ? null : HuggingFaceByteLevelBpeReader.ParseFile(configPath), configPath);
        }
        else if (LooksLikeTiktokenLine(start))
        {
            tokenizer = TiktokenFileReader.Read(path, Llama3SpecialTokenNames.Llama3_1);
        }
        else return false;
        if (expectedVocabSize is { } size && tokenizer.VocabSize > size)
            throw new ModelFormatException($"{path}: the tokenizer has {tokenizer.VocabSize} ids but the model's vocabulary only {size}");
        return true;
    }

    /// <summary>True if the text starts with a line of base64, one space and digits.</summary>
    private static bool LooksLikeTiktokenLine(ReadOnlySpan<byte> text)
    {
        int newline = text.IndexOf((byte)'\n');
        ReadOnlySpan<byte> line = (newline < 0 ? text : text[..newline]).TrimEnd((byte)'\r');
        int space = line.IndexOf((byte)' ');
        if (space <= 0 || space == line.Length - 1) return false;
        ReadOnlySpan<byte> encoded = line[..space], rank = line[(space + 1)..];
        return Base64.IsValid(encoded) && rank.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0;
    }
}
