using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Cria.Tests.Tokenization;

/// <summary>Strings encoded by OpenAI's tiktoken itself (its Rust core and fancy-regex, as WebAssembly: npm
/// tiktoken@1.0.22; <c>Data/make_llama3_tiktoken_cases.cjs</c>): 90 targeted strings (every alternative of the
/// pattern and its backtracking, case folding of 'ſ' and the Kelvin sign, Python-only whitespace, astral letters and
/// digits, combining marks, lone surrogates), 2000 random ones, and 10 long texts through Meta's chunking.</summary>
public class Llama3TiktokenReferenceTests
{
    private static readonly Lazy<JsonElement> File = new(() => TestJson.Local("llama3-tiktoken-cases.json"));

    public static TheoryData<string> Loaders()
    {
        var data = new TheoryData<string>();
        foreach (string loader in Llama3TestTokenizers.All) data.Add(loader);
        return data;
    }

    [Theory]
    [MemberData(nameof(Loaders))]
    public void TargetedStringsEncodeAsTiktoken(string loader) => CheckSection(loader, "targeted", 90);

    [Theory]
    [MemberData(nameof(Loaders))]
    public void RandomStringsEncodeAsTiktoken(string loader) => CheckSection(loader, "random", 2000);

    /// <summary>Texts longer than Meta's limits: a 25,001-space run or 400,000-char text is encoded in chunks, which
    /// changes the ids (the file records that tiktoken without the chunks gives a different count for 7 of them).</summary>
    [Fact]
    public void LongTextsAreChunkedAsMetaDoes()
    {
        var tokenizer = Llama3TestTokenizers.Get(Llama3TestTokenizers.Model);
        int differing = 0;
        foreach (JsonElement c in File.Value.GetProperty("chunked").EnumerateArray())
        {
            var text = new StringBuilder();
            foreach (JsonElement part in c.GetProperty("parts").EnumerateArray())
                text.Insert(text.Length, part[0].GetString()!, part[1].GetInt32());
            int[] ids = tokenizer.Encode(text.ToString(), addBos: false);
            string label = c.GetProperty("parts").GetRawText();
            Assert.True(c.GetProperty("count").GetInt32() == ids.Length, $"{label}: {ids.Length} ids, tiktoken {c.GetProperty("count").GetInt32()}");
            Assert.Equal(c.GetProperty("head").Ids(), ids[..Math.Min(24, ids.Length)]);
            Assert.Equal(c.GetProperty("tail").Ids(), ids[^Math.Min(24, ids.Length)..]);
            string digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(string.Join(",", ids))));
            Assert.True(c.GetProperty("sha256").GetString() == digest, $"{label}: ids differ from tiktoken's");
            Assert.Equal(text.ToString(), tokenizer.Decode(ids));
            if (c.GetProperty("unchunked_count").GetInt32() != ids.Length) differing++;
        }
        Assert.Equal(7, differing); // the chunking matters in these, so it is tested
    }

    private static void CheckSection(string loader, string section, int expectedCount)
    {
        var tokenizer = Llama3TestTokenizers.Get(loader);
        JsonElement cases = File.Value.GetProperty(section);
        Assert.Equal(expectedCount, cases.GetArrayLength());
        var failures = new List<string>();
        foreach (JsonElement c in cases.EnumerateArray())
        {
            string text = c.GetProperty("text").LooseString();
            int[] expected = c.GetProperty("ids").Ids();
            int[] actual = tokenizer.Encode(text, addBos: false);
            if (!expected.SequenceEqual(actual))
                failures.Add($"{JsonSerializer.Serialize(text)}: tiktoken [{string.Join(",", expected)}], ours [{string.Join(",", actual)}]");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {expectedCount} differ:\n" + string.Join("\n", failures.Take(20)));
    }
}
