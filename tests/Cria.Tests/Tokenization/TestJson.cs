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

    private static JsonElement Parse(string text)
    {
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }
}
