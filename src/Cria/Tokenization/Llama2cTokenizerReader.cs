using System.Buffers.Binary;
using System.Text;

namespace Cria.Tokenization;

/// <summary>Reads llama2.c's <c>tokenizer.bin</c>: int32 max_token_length, then per token a float32 score, an int32
/// byte length and the UTF-8 bytes (all little-endian). llama2.c's exporter writes '▁' as ' ' and BOS/EOS as
/// "\n&lt;s&gt;\n"/"\n&lt;/s&gt;\n"; both are undone here. Ids 0/1/2 are unk/BOS/EOS (llama2.c fixes them).</summary>
internal static class Llama2cTokenizerReader
{
    private const int MaxFileBytes = 256 << 20;      // far above any real vocabulary (Llama 3's is ~2.5 MB)
    private const int MaxTokenLengthLimit = 1 << 16; // a piece longer than this is not a vocabulary entry

    public static SentencePieceTokenizer Read(string path, int? expectedVocabSize)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"tokenizer file not found: {path}", path);
        if (info.Length > MaxFileBytes) throw new ModelFormatException($"{path}: {info.Length} bytes is too large for a llama2.c tokenizer.bin");
        return Parse(File.ReadAllBytes(path), path, expectedVocabSize);
    }

    /// <summary>Parses the bytes of a tokenizer.bin; <paramref name="path"/> names it in errors.</summary>
    internal static SentencePieceTokenizer Parse(byte[] data, string path, int? expectedVocabSize)
    {
        if (data.Length < 4) throw Error(path, $"file is {data.Length} bytes; it should start with an int32 max_token_length");
        int maxTokenLength = BinaryPrimitives.ReadInt32LittleEndian(data);
        if (maxTokenLength is <= 0 or > MaxTokenLengthLimit)
            throw Error(path, $"max_token_length is {maxTokenLength}; expected 1..{MaxTokenLengthLimit} (is this a llama2.c tokenizer.bin?)");

        var pieces = new List<string>();
        var scores = new List<float>();
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        int offset = 4;
        while (offset < data.Length)
        {
            int id = pieces.Count;
            if (data.Length - offset < 8)
                throw Error(path, $"truncated at token {id} (offset {offset}): its score and length need 8 bytes, {data.Length - offset} remain");
            float score = BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(offset));
            int length = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(offset + 4));
            offset += 8;
            if (float.IsNaN(score)) throw Error(path, $"token {id} (offset {offset - 8}) has score NaN");
            if (length < 0 || length > maxTokenLength)
                throw Error(path, $"token {id} (offset {offset - 4}) has length {length}; expected 0..max_token_length ({maxTokenLength})");
            if (data.Length - offset < length)
                throw Error(path, $"truncated in token {id} (offset {offset}): its {length} bytes run past the end ({data.Length - offset} remain)");
            string text;
            try
            {
                text = utf8.GetString(data, offset, length);
            }
            catch (DecoderFallbackException)
            {
                throw Error(path, $"token {id} (offset {offset}) is not valid UTF-8");
            }
            offset += length;
            pieces.Add(ToPiece(id, text));
            scores.Add(score);
        }

        if (pieces.Count < 3) throw Error(path, $"has {pieces.Count} tokens; a llama2.c vocabulary has at least unk, BOS and EOS (ids 0, 1, 2)");
        if (expectedVocabSize is int expected && expected != pieces.Count)
            throw Error(path, $"has {pieces.Count} tokens but the model's vocabulary size is {expected}");

        var types = GgufSentencePieceLoader.InferTypes(pieces, unk: 0, bos: 1, eos: 2);
        for (int id = 0; id < types.Length; id++)
            if (pieces[id].Length == 0) types[id] = TokenType.Control; // as llama.cpp's llama2.c converter does

        return new SentencePieceTokenizer(pieces, scores, types, new SentencePieceOptions
        {
            // run.c stops when the model samples BOS: TinyStories models separate stories with it.
            ExtraEndOfGenerationIds = [1],
            Source = path,
        });
    }

    /// <summary>The sentencepiece piece for what the exporter wrote: "\n&lt;s&gt;\n" → "&lt;s&gt;", ' ' → '▁'.</summary>
    private static string ToPiece(int id, string text)
    {
        if (id is 1 or 2 && text.Length > 2 && text[0] == '\n' && text[^1] == '\n') return text[1..^1];
        return text.Replace(' ', '\u2581');
    }

    private static ModelFormatException Error(string path, string message) => new($"{path}: {message}");
}
