using System.Text.Json;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Tokenization;

/// <summary>Reads the JSON vector files (shared assets and this folder's Data/).</summary>
internal static class TestJson
{
    public static JsonElement Asset(string relative) => Parse(File.ReadAllText(TestAssets.Path(relative)));

    public static JsonElement Local(string fileName) =>
        Parse(File.ReadAllText(Path.Combine(TestAssets.RepoRoot, "tests", "Cria.Tests", "Tokenization", "Data", fileName)));

    public static int[] Ids(this JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    /// <summary>A JSON string that may hold lone surrogates (<c>"\ud800"</c>), which <see cref="JsonElement.GetString"/> refuses.</summary>
    public static string LooseString(this JsonElement value)
    {
        string raw = value.GetRawText();
        if (value.ValueKind != JsonValueKind.String) throw new InvalidOperationException($"not a JSON string: {raw}");
        var text = new System.Text.StringBuilder(raw.Length);
        for (int i = 1; i < raw.Length - 1; i++)
        {
            char c = raw[i];
            if (c != '\\')
            {
                text.Append(c);
                continue;
            }
            char e = raw[++i];
            text.Append(e switch
            {
                'n' => '\n', 'r' => '\r', 't' => '\t', 'b' => '\b', 'f' => '\f', '/' => '/', '"' => '"', '\\' => '\\',
                'u' => (char)Convert.ToUInt16(raw.Substring(i + 1, 4), 16),
                _ => throw new FormatException($"bad escape \\{e} in {raw}"),
            });
            if (e == 'u') i += 4;
        }
        return text.ToString();
    }

    private static JsonElement Parse(string text)
    {
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }
}
