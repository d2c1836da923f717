using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Cria.Tokenization;
using Xunit.Abstractions;
using Ml = Microsoft.ML.Tokenizers;

namespace Cria.Tests.Tokenization;

/// <summary>Differential test against Microsoft.ML.Tokenizers 2.0.1's <c>TiktokenTokenizer</c> built from the same
/// tokenizer.model and the Llama 3 pattern (a .NET <see cref="Regex"/>), on generated text.</summary>
public class Llama3MicrosoftDifferentialTests(ITestOutputHelper output)
{
    internal static readonly Lazy<Ml.TiktokenTokenizer> Microsoft = new(() =>
    {
        var pre = new Ml.RegexPreTokenizer(new Regex(Llama3PreTokenizer.Pattern, RegexOptions.Compiled), null);
        using var stream = File.OpenRead(Llama3TestTokenizers.ModelPath);
        return Ml.TiktokenTokenizer.Create(stream, pre, null, null);
    });

    /// <summary>12,000 strings. Where the two differ, the string must hold a letter or digit outside the BMP: .NET's
    /// Regex matches UTF-16 code units, so \p{L}/\p{N} never match a surrogate pair and Microsoft's tokenizer splits
    /// "𝐀𝐁𝐂" or "𝟘𝟙" apart, where tiktoken (Rust, code points) keeps them in one piece. The tiktoken reference cases
    /// (<see cref="Llama3TiktokenReferenceTests"/>) hold such strings, and there we agree with tiktoken.</summary>
    [Fact]
    public void AgreesOnGeneratedTextExceptWhereDotNetRegexMissesAstralLetters()
    {
        var ours = Llama3TestTokenizers.Get(Llama3TestTokenizers.Model);
        var generator = new Llama3TextGenerator(seed: 3);
        int same = 0, astral = 0, astralDiffering = 0;
        var unexplained = new List<string>();
        for (int i = 0; i < 12_000; i++)
        {
            string text = generator.Next();
            int[] expected = [.. Microsoft.Value.EncodeToIds(text)];
            int[] actual = ours.Encode(text, addBos: false);
            bool hasAstral = HasAstralLetterOrDigit(text);
            if (hasAstral) astral++;
            if (expected.SequenceEqual(actual)) same++;
            else if (hasAstral) astralDiffering++;
            else unexplained.Add($"{System.Text.Json.JsonSerializer.Serialize(text)}: Microsoft [{string.Join(",", expected)}], ours [{string.Join(",", actual)}]");
        }
        output.WriteLine($"12000 strings: {same} identical; {astral} hold an astral letter/digit, {astralDiffering} of them differ; {unexplained.Count} other differences");
        Assert.True(unexplained.Count == 0, $"{unexplained.Count} unexplained differences:\n" + string.Join("\n", unexplained.Take(20)));
        Assert.True(same >= 10_000, $"only {same} identical");
        Assert.True(astralDiffering > 100, "the generator should produce astral letters, to show the difference");
    }

    /// <summary>Who is right where they differ: on the 2,090 strings tiktoken itself encoded
    /// (<c>llama3-tiktoken-cases.json</c>; we match all of them), Microsoft's tokenizer differs from tiktoken only on
    /// strings with a letter or digit outside the BMP, or with a lone surrogate, and on no other.</summary>
    [Fact]
    public void MicrosoftDiffersFromTiktokenOnlyWithAstralLettersOrLoneSurrogates()
    {
        var file = TestJson.Local("llama3-tiktoken-cases.json");
        int astral = 0, lone = 0;
        var unexplained = new List<string>();
        foreach (var c in file.GetProperty("targeted").EnumerateArray().Concat(file.GetProperty("random").EnumerateArray()))
        {
            string text = c.GetProperty("text").LooseString();
            int[] tiktoken = c.GetProperty("ids").Ids();
            if (tiktoken.SequenceEqual(Microsoft.Value.EncodeToIds(text))) continue;
            if (HasLoneSurrogate(text)) lone++;
            else if (HasAstralLetterOrDigit(text)) astral++;
            else unexplained.Add(string.Join(" ", text.Select(ch => $"U+{(int)ch:X4}")));
        }
        output.WriteLine($"Microsoft differs from tiktoken on {astral} tiktoken cases with astral letters/digits, {lone} with lone surrogates, {unexplained.Count} others");
        Assert.Empty(unexplained);
        Assert.True(astral > 10 && lone > 10, $"astral {astral}, lone {lone}");

        // "x𝟘𝟙𝟚𝟛" is "x", "𝟘𝟙𝟚", "𝟛" for tiktoken (\p{N}{1,3} over code points); for .NET's Regex a surrogate is
        // neither letter nor digit, so the four digits make one "other" piece.
        Assert.Equal(["x", "𝟘𝟙𝟚", "𝟛"], Llama3PreTokenizer.Split("x𝟘𝟙𝟚𝟛"));
        Assert.Equal(["x", "𝟘𝟙𝟚𝟛"], new Regex(Llama3PreTokenizer.Pattern).Matches("x𝟘𝟙𝟚𝟛").Select(m => m.Value));
        // A lone surrogate: tiktoken (Python: surrogatepass then errors="replace"; the WebAssembly build: TextEncoder)
        // encodes U+FFFD; Microsoft encodes the surrogate's own 3 bytes (ED A0 80), which are not UTF-8.
        var ours = Llama3TestTokenizers.Get(Llama3TestTokenizers.Model);
        Assert.Equal("EFBFBD", Convert.ToHexString([.. ours.Encode("\ud800", addBos: false).SelectMany(id => ours.DecodeBytes(id).ToArray())]));
        Assert.Equal("EDA080", Convert.ToHexString([.. Microsoft.Value.EncodeToIds("\ud800").SelectMany(id => ours.DecodeBytes(id).ToArray())]));
    }

    private static bool HasLoneSurrogate(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (!char.IsSurrogate(text[i])) continue;
            if (!char.IsHighSurrogate(text[i]) || i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1])) return true;
            i++;
        }
        return false;
    }

    internal static bool HasAstralLetterOrDigit(string text)
    {
        foreach (Rune rune in text.EnumerateRunes())
        {
            if (rune.Value < 0x10000) continue;
            UnicodeCategory c = Rune.GetUnicodeCategory(rune);
            if (c is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter
                or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber) return true;
        }
        return false;
    }
}
