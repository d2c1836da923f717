using System.Text.Json;

namespace Cria.Tests.Infrastructure;

/// <summary>Small helpers for reading the reference JSON files.</summary>
public static class Json
{
    public static JsonElement Load(string assetPath)
    {
        using var stream = File.OpenRead(TestAssets.Path(assetPath));
        return JsonDocument.Parse(stream).RootElement.Clone();
    }

    public static int[] Ints(this JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    public static float[] Floats(this JsonElement e) => e.EnumerateArray().Select(x => (float)x.GetDouble()).ToArray();
}
