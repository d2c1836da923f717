using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Cria.Tokenization;

/// <summary>Reads a tiktoken BPE file (Meta's Llama 3 <c>tokenizer.model</c>): one line per token,
/// <c>base64(token bytes) rank</c>, ranks 0…N-1 each once. Special tokens follow the ranks (ids N…N+255), named
/// as the chosen Llama 3 release names them.</summary>
internal static class TiktokenFileReader
{
    private const long MaxFileBytes = 64L << 20; // Meta's file is 2.2 MB; anything far larger is not a vocabulary

    public static TiktokenTokenizer Read(string path, Llama3SpecialTokenNames names)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new CriaException($"tokenizer file not found: '{path}'");
        if (info.Length > MaxFileBytes) throw new ModelFormatException($"{path}: {info.Length} bytes is too large for a tiktoken vocabulary");
        byte[][] ranked = ParseRanks(File.ReadAllBytes(path), path);
        string[] specialNames = Llama3SpecialTokens.Names(names);
        int n = ranked.Length;
        var bytes = new byte[n + specialNames.Length][];
        var types = new TokenType[bytes.Length];
        ranked.CopyTo(bytes, 0);
        Array.Fill(types, TokenType.Normal, 0, n);
        for (int i = 0; i < specialNames.Length; i++)
        {
            bytes[n + i] = Encoding.UTF8.GetBytes(specialNames[i]);
            types[n + i] = TokenType.Control;
        }
        return new TiktokenTokenizer(bytes, types, new TiktokenOptions
        {
            Source = path,
            BosId = n, // <|begin_of_text|>
            EosId = n + 1, // <|end_of_text|>
            AddBos = true,
        });
    }

    /// <summary>Each rank's bytes, index = rank. Names the line of any malformed entry, duplicate or gap.</summary>
    internal static byte[][] ParseRanks(ReadOnlySpan<byte> content, string source)
    {
        var byRank = new List<(byte[] Bytes, int Line)?>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal); // base64 text → line, for duplicate bytes
        int lineNumber = 0, count = 0;
        int maxRank = content.Length / 6; // the shortest line, "AA== 0" and its newline, has 7 bytes
        while (!content.IsEmpty)
        {
            lineNumber++;
            int newline = content.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = newline < 0 ? content : content[..newline];
            content = newline < 0 ? [] : content[(newline + 1)..];
            if (!line.IsEmpty && line[^1] == '\r') line = line[..^1];
            if (line.IsEmpty) continue; // tiktoken skips empty lines
            int space = line.IndexOf((byte)' ');
            if (space <= 0 || line[(space + 1)..].IndexOf((byte)' ') >= 0)
                throw new ModelFormatException($"{source}: line {lineNumber} is not 'base64 rank': '{Show(line)}'");
            ReadOnlySpan<byte> encoded = line[..space], rankText = line[(space + 1)..];
            byte[] decoded = new byte[Base64.GetMaxDecodedFromUtf8Length(encoded.Length)];
            if (Base64.DecodeFromUtf8(encoded, decoded, out int consumed, out int written) != OperationStatus.Done || consumed != encoded.Length || written == 0)
                throw new ModelFormatException($"{source}: line {lineNumber}: '{Show(encoded)}' is not valid base64 of a non-empty token");
            if (!Utf8Parser.TryParse(rankText, out int rank, out int used) || used != rankText.Length || rank < 0 || rankText[0] is (byte)'+' or (byte)'-')
                throw new ModelFormatException($"{source}: line {lineNumber}: rank '{Show(rankText)}' is not a non-negative integer");
            if (rank > maxRank) throw new ModelFormatException($"{source}: line {lineNumber}: rank {rank} is beyond the number of lines the file can hold");
            string key = Encoding.ASCII.GetString(encoded);
            if (!seen.TryAdd(key, lineNumber))
                throw new ModelFormatException($"{source}: line {lineNumber} repeats the token of line {seen[key]} ({key})");
            while (byRank.Count <= rank) byRank.Add(null);
            if (byRank[rank] is { } earlier)
                throw new ModelFormatException($"{source}: line {lineNumber} repeats rank {rank} of line {earlier.Line}");
            byRank[rank] = (decoded[..written], lineNumber);
            count++;
        }
        if (count == 0) throw new ModelFormatException($"{source}: no tokens (expected lines of 'base64 rank')");
        var ranks = new byte[byRank.Count][];
        for (int r = 0; r < ranks.Length; r++)
            ranks[r] = byRank[r]?.Bytes ?? throw new ModelFormatException($"{source}: rank {r} is missing (ranks must be 0..{count - 1}, each once; the highest is {byRank.Count - 1})");
        return ranks;
    }

    private static string Show(ReadOnlySpan<byte> text)
    {
        string s = Encoding.UTF8.GetString(text[..Math.Min(text.Length, 60)]);
        return text.Length > 60 ? s + "…" : s;
    }
}
