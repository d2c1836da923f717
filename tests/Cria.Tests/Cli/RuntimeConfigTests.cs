using System.Text.Json;

namespace Cria.Tests.Cli;

public class RuntimeConfigTests
{
    /// <summary>The cria executable's runtime settings, as the host reads them (copied beside the tests with the CLI).</summary>
    private static JsonElement ConfigProperties()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Cria.Cli.runtimeconfig.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties").Clone();
    }

    [Fact]
    public void Hot_methods_tier_up_without_the_default_100_ms_delay()
    {
        // With the delay, the kernels of the first tokens and the loader ran unoptimised: loads 150-500 ms longer and
        // tg128 slower on its first repetition (bench/RESULTS.md, "Tiered compilation").
        var properties = ConfigProperties();
        Assert.Equal(0, properties.GetProperty("System.Runtime.TieredCompilation.CallCountingDelayMs").GetInt32());
        Assert.True(properties.GetProperty("System.Runtime.TieredPGO").GetBoolean());
    }
}
