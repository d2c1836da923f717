using System.Buffers;

namespace Cria.Tokenization;

/// <summary>Finds special tokens' text in a string: the leftmost occurrence, the longest one there (names like
/// <c>&lt;|eot_id|&gt;</c> are never prefixes of each other, so this is also tiktoken's special-token regex match).
/// A small character trie: a look-up costs the length of the match, not the number of names.</summary>
internal sealed class SpecialTokenMatcher
{
    private readonly List<Dictionary<char, int>> _children = [new()];
    private readonly List<int> _idAt = [-1]; // the token ending at each node, or -1
    private readonly SearchValues<char> _firstChars;

    /// <summary>Builds the matcher over <paramref name="tokens"/> (text, id); empty texts are skipped.</summary>
    public SpecialTokenMatcher(IEnumerable<(string Text, int Id)> tokens)
    {
        var first = new HashSet<char>();
        foreach (var (text, id) in tokens)
        {
            if (text.Length == 0) continue;
            first.Add(text[0]);
            int node = 0;
            foreach (char c in text)
            {
                if (!_children[node].TryGetValue(c, out int child))
                {
                    child = _children.Count;
                    _children.Add([]);
                    _idAt.Add(-1);
                    _children[node][c] = child;
                }
                node = child;
            }
            if (_idAt[node] < 0) _idAt[node] = id; // the first id wins for a duplicated text
        }
        _firstChars = SearchValues.Create([.. first]);
        IsEmpty = first.Count == 0;
    }

    public bool IsEmpty { get; }

    /// <summary>The id of the first token found in <paramref name="text"/>, with where it starts and its length; -1 if none.</summary>
    public int FindFirst(ReadOnlySpan<char> text, out int start, out int length)
    {
        int offset = 0;
        while (true)
        {
            int found = text[offset..].IndexOfAny(_firstChars);
            if (found < 0) break;
            start = offset + found;
            int id = LongestAt(text, start, out length);
            if (id >= 0) return id;
            offset = start + 1;
        }
        start = length = 0;
        return -1;
    }

    private int LongestAt(ReadOnlySpan<char> text, int start, out int length)
    {
        int node = 0, bestId = -1;
        length = 0;
        for (int i = start; i < text.Length && _children[node].TryGetValue(text[i], out int child); i++)
        {
            node = child;
            if (_idAt[node] >= 0)
            {
                bestId = _idAt[node];
                length = i + 1 - start;
            }
        }
        return bestId;
    }
}
