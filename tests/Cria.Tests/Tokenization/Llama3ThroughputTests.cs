using System.Diagnostics;
using System.Text;
using Cria.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Cria.Tests.Tokenization;

/// <summary>Encoding is linear in the text: 10 MB takes about ten times as long as 1 MB (a generous bound: the
/// machine is shared), also for pathological texts (one letter, spaces, digits, emoji, punctuation repeated),
/// which Meta's chunking and the heap merge keep from going quadratic.</summary>
[Collection(SerialCollection.Name)]
public class Llama3ThroughputTests(ITestOutputHelper output)
{
    [Fact]
    public void TenMegabytesTakeLinearTime()
    {
        var tokenizer = Llama3TestTokenizers.Get(Llama3TestTokenizers.Model);
        string one = SentencePieceThroughputTests.MegabyteOfText();
        string ten = string.Concat(Enumerable.Repeat(one, 10));
        int[] warm = tokenizer.Encode(one, addBos: false); // JIT first
        TimeSpan tOne = Time(() => tokenizer.Encode(one, addBos: false), out int[] idsOne);
        TimeSpan tTen = Time(() => tokenizer.Encode(ten, addBos: false), out int[] idsTen);
        double mb = Encoding.UTF8.GetByteCount(one) / 1e6;
        output.WriteLine($"1x {mb:F2} MB: {tOne.TotalMilliseconds:F0} ms ({mb / tOne.TotalSeconds:F1} MB/s); 10x: {tTen.TotalMilliseconds:F0} ms ({10 * mb / tTen.TotalSeconds:F1} MB/s)");
        Assert.Equal(warm, idsOne);
        Assert.InRange(idsTen.Length, 10 * idsOne.Length - 20, 10 * idsOne.Length + 20); // (only the seams may differ)
        Assert.Equal(ten, tokenizer.Decode(idsTen));
        Assert.True(tTen < 30 * tOne + TimeSpan.FromSeconds(1), $"10 MB took {tTen}, 1 MB {tOne}");
    }

    [Theory]
    [InlineData("a")]
    [InlineData(" ")]
    [InlineData("7")]
    [InlineData("!")]
    [InlineData("\n")]
    [InlineData("🦙")]
    [InlineData("ab ")]
    [InlineData("日本語")]
    public void PathologicalRunsTakeLinearTime(string unit)
    {
        var tokenizer = Llama3TestTokenizers.Get(Llama3TestTokenizers.Model);
        string small = string.Concat(Enumerable.Repeat(unit, 200_000 / unit.Length));
        string large = string.Concat(Enumerable.Repeat(unit, 2_000_000 / unit.Length));
        tokenizer.Encode(small, addBos: false);
        TimeSpan tSmall = Time(() => tokenizer.Encode(small, addBos: false), out _);
        TimeSpan tLarge = Time(() => tokenizer.Encode(large, addBos: false), out int[] ids);
        output.WriteLine($"'{unit}' x {large.Length}: {tLarge.TotalMilliseconds:F0} ms; a tenth: {tSmall.TotalMilliseconds:F0} ms");
        Assert.Equal(large, tokenizer.Decode(ids));
        Assert.True(tLarge < 30 * tSmall + TimeSpan.FromSeconds(1), $"2M chars took {tLarge}, 200K {tSmall}");
        Assert.True(tLarge < TimeSpan.FromSeconds(20), $"2M chars took {tLarge}");
    }

    private static TimeSpan Time(Func<int[]> encode, out int[] ids)
    {
        var clock = Stopwatch.StartNew();
        ids = encode();
        return clock.Elapsed;
    }
}
