using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace Cria.Tests.Tokenization;

/// <summary>Encoding must stay O(n log n): a quadratic merge loop would take minutes on 1 MB.</summary>
public class SentencePieceThroughputTests(ITestOutputHelper output)
{
    [Fact]
    public void EncodesAMegabyteQuickly()
    {
        var t = TestTokenizers.Get(TestTokenizers.Llama2Gguf);
        string text = MegabyteOfText();
        int[] warm = t.Encode(text); // once to JIT-compile the hot loop, then timed
        var clock = Stopwatch.StartNew();
        int[] ids = t.Encode(text);
        clock.Stop();
        double mb = Encoding.UTF8.GetByteCount(text) / 1e6;
        output.WriteLine($"encoded {mb:F2} MB ({text.Length} chars) into {ids.Length} tokens in {clock.ElapsedMilliseconds} ms: {mb / clock.Elapsed.TotalSeconds:F1} MB/s");
        Assert.Equal(warm, ids);
        Assert.Equal(text, t.Decode(ids));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"1 MB took {clock.Elapsed}");
    }

    [Fact]
    public void LongRunsOfOneCharacterStayFast()
    {
        var t = TestTokenizers.Get(TestTokenizers.Llama2Gguf);
        foreach (string text in new[] { new string(' ', 200_000), new string('a', 200_000), new string('\n', 100_000), string.Concat(Enumerable.Repeat("🦙", 50_000)) })
        {
            var clock = Stopwatch.StartNew();
            int[] ids = t.Encode(text, addBos: false);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"{text.Length} chars took {clock.Elapsed}");
            Assert.Equal(text, t.Decode(ids));
        }
    }

    /// <summary>Encoding word by word (the fast path) must give exactly the ids of merging over the whole text.</summary>
    [Fact]
    public void WordByWordEqualsWholeText()
    {
        var fast = TestTokenizers.FromGguf("llamacpp-vocab/ggml-vocab-llama-spm.gguf");
        var whole = TestTokenizers.FromGguf("llamacpp-vocab/ggml-vocab-llama-spm.gguf");
        Assert.True(fast.Bpe.SplitAtWords);
        whole.Bpe.SplitAtWords = false;
        string text = MegabyteOfText()[..200_000] + "  a\n\n  b   \t c▁▁d ▁e 🦙 x";
        Assert.Equal(whole.Encode(text), fast.Encode(text));
        foreach (string s in new[] { "", " ", "▁", "a ", " a", "  a  b  ", "a▁b", "\n \n" })
            Assert.Equal(whole.Encode(s), fast.Encode(s));
    }

    /// <summary>Mixed English prose, code, numbers and some non-Latin text, about 1 MB of UTF-8.</summary>
    internal static string MegabyteOfText()
    {
        string[] parts =
        [
            "The llama is a domesticated South American camelid, widely used as a meat and pack animal by Andean cultures. ",
            "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.\n",
            "def forward(self, x):\n    return self.w2(F.silu(self.w1(x)) * self.w3(x))\n",
            "In 2023, 1,234,567 tokens were processed at 3.14159 ms each; see https://example.com/path?q=1&x=y. ",
            "Привет, мир! 你好，世界。 日本語のテキスト 🦙 café naïve — “quotes” … ",
        ];
        var random = new Random(1);
        var sb = new StringBuilder();
        while (sb.Length < 1_000_000) sb.Append(parts[random.Next(parts.Length)]);
        return sb.ToString();
    }
}
