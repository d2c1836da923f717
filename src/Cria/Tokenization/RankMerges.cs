using Cria.IO;

namespace Cria.Tokenization;

/// <summary>The BPE merges a rank table implies, as Hugging Face's <c>TikTokenConverter</c> (which made Meta's
/// <c>tokenizer.json</c>, whose merges llama.cpp's converter copies into GGUF) derives them: for each token in rank
/// order, every split into a left and right part that are both tokens, ordered by (rank of left, rank of right).
/// With all of them, merge-list BPE makes exactly the merges rank-ordered tiktoken makes.</summary>
internal static class RankMerges
{
    public static (int Left, int Right)[] Derive(PackedByteStrings tokenBytes, TokenType[] types, ByteSequenceTable ranks)
    {
        var merges = new List<(int, int)>(tokenBytes.Count * 5 / 2);
        var local = new List<(int, int)>();
        for (int id = 0; id < tokenBytes.Count; id++) // ids are ranks, so this is rank order
        {
            ReadOnlySpan<byte> token = tokenBytes[id];
            if (types[id] != TokenType.Normal || token.Length < 2) continue;
            local.Clear();
            for (int split = 1; split < token.Length; split++)
            {
                int left = ranks.Find(token[..split]);
                if (left < 0) continue;
                int right = ranks.Find(token[split..]);
                if (right >= 0) local.Add((left, right));
            }
            local.Sort();
            merges.AddRange(local);
        }
        return [.. merges];
    }
}
