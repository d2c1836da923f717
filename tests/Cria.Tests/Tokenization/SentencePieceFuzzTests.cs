using System.Text.Json;

namespace Cria.Tests.Tokenization;

/// <summary>Randomised vectors from the real sentencepiece 0.1.97 (Data/sentencepiece-fuzz-cases.json, made by
/// Data/make_sentencepiece_fuzz_cases.py): mixed-script text with whitespace runs, emoji and characters outside the
/// vocabulary; invalid UTF-8 input; random id sequences (split and invalid byte tokens, control ids) to decode.</summary>
public class SentencePieceFuzzTests
{
    private static readonly Lazy<JsonElement> Cases = new(() => TestJson.Local("sentencepiece-fuzz-cases.json"));

    public static TheoryData<string> Llama2Loaders() => new(TestTokenizers.Llama2Loaders);

    [Theory]
    [MemberData(nameof(Llama2Loaders))]
    public void EncodesRandomText(string loader) =>
        AssertAll(loader, "llama2_encode", (t, c) => (t.Encode(c.GetProperty("text").GetString()!, addBos: false), c.GetProperty("ids").Ids()));

    [Theory]
    [MemberData(nameof(Llama2Loaders))]
    public void RandomTextRoundTrips(string loader) =>
        AssertAll(loader, "llama2_encode", (t, c) => (t.Decode(c.GetProperty("ids").Ids()), c.GetProperty("decoded").GetString()!));

    [Theory]
    [MemberData(nameof(Llama2Loaders))]
    public void EncodesInvalidUtf8LikeSentencePiece(string loader) =>
        AssertAll(loader, "llama2_encode_utf8", (t, c) => (t.EncodeUtf8(Convert.FromHexString(c.GetProperty("hex").GetString()!), addBos: false), c.GetProperty("ids").Ids()));

    [Theory]
    [MemberData(nameof(Llama2Loaders))]
    public void DecodesRandomIds(string loader) =>
        AssertAll(loader, "llama2_decode", (t, c) => (t.Decode(c.GetProperty("ids").Ids()), c.GetProperty("text").GetString()!));

    [Theory]
    [InlineData(TestTokenizers.Tok512Bin)]
    [InlineData(TestTokenizers.Tok512Gguf)]
    public void EncodesTok512Text(string loader) =>
        AssertAll(loader, "tok512_encode", (t, c) => (t.Encode(c.GetProperty("text").GetString()!, addBos: false), c.GetProperty("ids").Ids()));

    /// <summary>Runs every case of <paramref name="section"/> and reports all mismatches at once.</summary>
    private static void AssertAll<T>(string loader, string section, Func<Cria.Tokenization.SentencePieceTokenizer, JsonElement, (T Actual, T Expected)> check)
    {
        var tokenizer = TestTokenizers.Get(loader);
        var failures = new List<string>();
        int count = 0;
        foreach (JsonElement c in Cases.Value.GetProperty(section).EnumerateArray())
        {
            var (actual, expected) = check(tokenizer, c);
            if (!Same(actual, expected)) failures.Add($"#{count}: {c.GetRawText()[..Math.Min(200, c.GetRawText().Length)]}\n   got {Show(actual)}");
            count++;
        }
        Assert.True(count >= 150, $"{section}: only {count} cases");
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} {section} cases differ:\n" + string.Join("\n", failures.Take(10)));
    }

    private static bool Same<T>(T a, T b) => a is int[] x && b is int[] y ? x.SequenceEqual(y) : Equals(a, b);

    private static string Show<T>(T value) => value is int[] ids ? "[" + string.Join(",", ids) + "]" : JsonSerializer.Serialize(value);
}
