using System.Text;
using System.Text.RegularExpressions;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Cria.Tokenization;
using Ml = Microsoft.ML.Tokenizers;

namespace Cria.Bench;

/// <summary>Llama 3 encode throughput, Cria's <see cref="TiktokenTokenizer"/> against Microsoft.ML.Tokenizers 2.0.1's
/// <c>TiktokenTokenizer</c> (same tokenizer.model, the Llama 3 pattern as a compiled .NET Regex), on 1 MB of English
/// prose (the licence texts Debian ships in /usr/share/common-licenses) and 1 MB of mixed-script text.
/// The MB/s column counts the text's UTF-8 bytes. <c>dotnet run -c Release --project bench/Cria.Bench -- --filter '*Llama3Tokenizer*'</c></summary>
[MemoryDiagnoser]
[Config(typeof(MegabytesPerSecondConfig))]
public class Llama3TokenizerBenchmarks : IBytesPerOperation
{
    private TiktokenTokenizer _cria = null!;
    private Ml.TiktokenTokenizer _microsoft = null!;
    private string _text = "";

    [Params("english", "mixed")]
    public string Corpus { get; set; } = "english";

    public long BytesPerOperation => Encoding.UTF8.GetByteCount(Text(Corpus));

    [GlobalSetup]
    public void Setup()
    {
        string model = Path.Combine(AssetsFolder(), "llama3-tokenizer", "tokenizer.model");
        _cria = TiktokenTokenizer.FromTiktokenFile(model);
        using (var stream = File.OpenRead(model))
            _microsoft = Ml.TiktokenTokenizer.Create(stream, new Ml.RegexPreTokenizer(new Regex(Llama3PreTokenizer.Pattern, RegexOptions.Compiled), null), null, null);
        _text = Text(Corpus);
        int[] a = _cria.Encode(_text, addBos: false), b = [.. _microsoft.EncodeToIds(_text)];
        Console.WriteLine($"// {Corpus}: {Encoding.UTF8.GetByteCount(_text)} bytes, {a.Length} ids (Microsoft {b.Length})");
    }

    [Benchmark(Baseline = true)]
    public int MicrosoftMlTokenizers() => _microsoft.EncodeToIds(_text).Count;

    [Benchmark]
    public int Cria() => _cria.Encode(_text, addBos: false).Length;

    private static readonly Dictionary<string, string> Texts = [];

    /// <summary>About 1 MB of text (Cria cuts it into Meta's 400,000-character slices, Microsoft does not: the ids
    /// differ only at the two seams).</summary>
    internal static string Text(string corpus)
    {
        lock (Texts)
        {
            if (!Texts.TryGetValue(corpus, out string? text)) Texts[corpus] = text = corpus == "english" ? English() : Mixed();
            return text;
        }
    }

    /// <summary>Paragraphs of Debian's licence texts in a seeded random order, to 1 MB.</summary>
    private static string English()
    {
        string folder = "/usr/share/common-licenses";
        string[] paragraphs = Directory.Exists(folder)
            ? [.. Directory.GetFiles(folder).Order().SelectMany(f => File.ReadAllText(f).Split("\n\n")).Where(p => p.Length > 40)]
            : [File.ReadAllText(Path.Combine(RepoRoot(), "README.md"))];
        return Fill(paragraphs, "\n\n");
    }

    /// <summary>Sentences in 12 scripts, numbers, code and emoji, in a seeded random order, to 1 MB.</summary>
    private static string Mixed() => Fill(
    [
        "The llama is a domesticated South American camelid, widely used as a meat and pack animal by Andean cultures.",
        "羊驼是一种原产于南美洲的驯化骆驼科动物，被安第斯文化广泛用作肉畜和驮畜。",
        "ラマは南アメリカ原産の家畜化されたラクダ科の動物で、アンデスの文化で肉用・荷役用に広く使われてきた。",
        "Лама — одомашненное южноамериканское животное семейства верблюдовых, издавна используемое андскими народами.",
        "اللاما حيوان مستأنس من فصيلة الإبليات موطنه أمريكا الجنوبية، ويستخدم على نطاق واسع للحم والحمل.",
        "लामा दक्षिण अमेरिका का एक पालतू ऊँट-कुल का पशु है, जिसे एंडीज़ की संस्कृतियों ने मांस और बोझ ढोने के लिए पाला।",
        "라마는 남아메리카가 원산지인 가축화된 낙타과 동물로, 안데스 문화에서 고기와 짐 운반용으로 널리 쓰였다.",
        "Το λάμα είναι εξημερωμένο καμηλοειδές της Νότιας Αμερικής, που χρησιμοποιείται για κρέας και μεταφορά φορτίων.",
        "הלאמה היא בעל חיים מבוית ממשפחת הגמליים שמקורו בדרום אמריקה.",
        "ลามะเป็นสัตว์เลี้ยงในวงศ์อูฐจากทวีปอเมริกาใต้ ใช้เป็นอาหารและสัตว์บรรทุก",
        "Η Ελλάδα, Türkiye, Việt Nam, España, Ísland, Polska: zażółć gęślą jaźń, naïve café, Straße.",
        "def forward(self, x):\n    return self.w2(F.silu(self.w1(x)) * self.w3(x))  # SwiGLU\n",
        "In 2023, 1,234,567 tokens were processed at 3.14159 ms each; see https://example.com/path?q=1&x=y.",
        "🦙🦙 llamas 👍🏽 and alpacas 🐪 — “quotes”, «guillemets», and … ellipses! ✅ 🇵🇪",
    ], " ");

    private static string Fill(string[] parts, string separator)
    {
        var random = new Random(7);
        var text = new StringBuilder();
        while (Encoding.UTF8.GetByteCount(text.ToString()) < 1_000_000)
            for (int i = 0; i < 200; i++) text.Append(parts[random.Next(parts.Length)]).Append(separator);
        return text.ToString();
    }

    internal static string AssetsFolder() =>
        Environment.GetEnvironmentVariable("CRIA_ASSETS") is { Length: > 0 } env ? env : Path.GetFullPath(Path.Combine(RepoRoot(), "..", "shared", "assets"));

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Cria.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("cannot find the repository root (Cria.slnx) above " + AppContext.BaseDirectory);
    }
}
