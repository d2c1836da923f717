using System.Text.Json;
using Cria.Tokenization;

namespace Cria.Tests.Tokenization;

/// <summary>Every code point's class in the Llama 3 pattern (letter, number, whitespace, other) is the one tiktoken's
/// own regex engine gives it (<c>Data/llama3-char-classes.json</c>, probed from npm tiktoken@1.0.22 by
/// <c>make_llama3_char_classes.cjs</c>): all 1,112,064 of them, so .NET 10's Unicode tables and tiktoken's agree.</summary>
public class Llama3CharClassTests
{
    [Fact]
    public void EveryCodePointHasTiktokensClass()
    {
        JsonElement ranges = TestJson.Local("llama3-char-classes.json").GetProperty("ranges");
        var differences = new List<string>();
        int checkedPoints = 0;
        foreach (JsonElement range in ranges.EnumerateArray())
        {
            int first = range[0].GetInt32(), last = range[1].GetInt32();
            char expected = range[2].GetString()![0];
            for (int c = first; c <= last; c++)
            {
                if (c is >= 0xD800 and <= 0xDFFF) continue;
                checkedPoints++;
                char ours = Llama3PreTokenizer.ClassName(c);
                if (ours != expected) differences.Add($"U+{c:X4} tiktoken {expected} ours {ours}");
            }
        }
        Assert.Equal(0x110000 - 0x800, checkedPoints);
        Assert.True(differences.Count == 0, $"{differences.Count} differ:\n" + string.Join("\n", differences.Take(50)));
    }
}
