using System.Text;

namespace Cria.Tests.Tokenization;

/// <summary>Random text that exercises the Llama 3 pattern: words in many scripts, digits, whitespace runs (also
/// the kinds only Unicode or only Python call space), contractions in every case, punctuation, emoji, combining marks,
/// letters and digits outside the BMP, random code points, and (when asked) lone surrogates.</summary>
internal sealed class Llama3TextGenerator(int seed, bool loneSurrogates = false)
{
    private static readonly string[] Words = ["the", "The", "THE", "llama", "Llama", "don", "won", "can", "I", "we", "hello", "world", "naïve",
        "café", "Straße", "über", "ſtraſſe", "Kelvin", "ǅemal", "İstanbul", "ß", "ﬁ", "Ⅻ", "x²", "H₂O", "½", "٣٤٥", "१२३", "１２３", "ＡＢＣ", " and", " of"];
    private static readonly string[] Spaces = [" ", "  ", "   ", "\t", "\n", "\r", "\r\n", "\n\n", " \n", "\u00a0", "\u3000", "\u2028", "\u2029",
        "\u0085", "\u000b", "\u000c", "\u1680", "\u2000", "\u200a", "\u202f", "\u205f", "\u001c", "\u001f", "\u200b", "\ufeff", "\u180e"];
    private static readonly string[] Contractions = ["'s", "'S", "'ſ", "'t", "'T", "'re", "'RE", "'rE", "'ve", "'VE", "'m", "'M", "'ll", "'LL",
        "'lL", "'d", "'D", "'K", "'\u212a", "'x", "'", "''", "'r", "'l", "’s"];
    private static readonly string[] Punctuation = [".", ",", "!", "?", "...", "—", "-", "--", "(", ")", "[", "]", "{", "}", "<", ">", "<|", "|>",
        "/", "\\", "#", "$", "%", "&", "*", "+", "=", "@", "^", "_", "|", "~", "`", "\"", ":", ";", "«", "»", "“", "”", "€", "©", "°", "\u0000", "\u007f"];
    private static readonly string[] Scripts = ["日本語のテキスト", "你好，世界", "镇", "한국어", "Привет", "мир", "Ελληνικά", "مرحبا", "שלום", "हिन्दी",
        "नमस्ते", "தமிழ்", "ภาษาไทย", "ქართული", "Հայերեն", "አማርኛ", "ꙊꙋꙌ", "𐌰𐌱𐌲", "𝐀𝐁𝐂𝐚𝐛𝐜", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𠀀𠀁", "𫝀", "𝟘𝟙𝟚"];
    private static readonly string[] Marks = ["e\u0301", "a\u0300", "o\u0308", "\u0301", "\u0301\u0302", "\u0915\u094d\u0937", "\u0e01\u0e34", "\u20dd", "\ufe0f", "\u200d"];
    private static readonly string[] Emoji = ["🦙", "👍🏽", "👨‍👩‍👧", "😀", "🚀", "❤️", "🇫🇷", "🏳️‍🌈", "✅", "🤖", "🧑🏿‍💻", "1️⃣", "🫠"];
    private static readonly string[] Lone = ["\ud800", "\udfff", "\ud83e", "\udd99", "\udc00\ud800"];

    private readonly Random _random = new(seed);

    public string Next(int maxItems = 16)
    {
        var text = new StringBuilder();
        for (int i = _random.Next(maxItems + 1); i > 0; i--) text.Append(Item());
        return text.ToString();
    }

    private string Item()
    {
        double r = _random.NextDouble();
        return r switch
        {
            < 0.16 => Pick(Words),
            < 0.30 => Pick(Spaces),
            < 0.38 => Pick(Contractions),
            < 0.50 => Pick(Punctuation),
            < 0.58 => Digits(),
            < 0.68 => Pick(Scripts),
            < 0.74 => Pick(Marks),
            < 0.80 => Pick(Emoji),
            < 0.82 => loneSurrogates ? Pick(Lone) : Pick(Emoji),
            < 0.90 => RandomCodePoint(),
            _ => string.Concat(Enumerable.Repeat(Pick(Spaces), _random.Next(2, 7))),
        };
    }

    private string Pick(string[] items) => items[_random.Next(items.Length)];

    private string Digits() => string.Concat(Enumerable.Range(0, _random.Next(1, 9)).Select(_ => (char)('0' + _random.Next(10))));

    private string RandomCodePoint()
    {
        while (true)
        {
            double r = _random.NextDouble();
            int c = r < 0.5 ? _random.Next(0x20, 0x3000) : r < 0.8 ? _random.Next(0x3000, 0x10000) : _random.Next(0x10000, 0x110000);
            if (c is < 0xD800 or > 0xDFFF) return char.ConvertFromUtf32(c);
        }
    }
}
