using System.Text.Json;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Cli;

public class BenchCommandTests
{
    [Fact]
    public void Json_output_has_a_test_entry_per_test_and_thread_count()
    {
        var r = CliRunner.Run("bench", TestAssets.Path("stories260K-gguf/stories260K-Q8_0.gguf"), "-p", "32", "-n", "16", "-t", "1,2", "-r", "2", "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        var tests = doc.RootElement.GetProperty("tests").EnumerateArray().ToList();
        Assert.Equal(["pp32", "tg16", "pp32", "tg16"], tests.Select(t => t.GetProperty("test").GetString()));
        Assert.Equal([1, 1, 2, 2], tests.Select(t => t.GetProperty("n_threads").GetInt32()));
        foreach (var t in tests)
        {
            var samples = t.GetProperty("samples_ts").EnumerateArray().Select(s => s.GetDouble()).ToArray();
            Assert.Equal(2, samples.Length);
            Assert.All(samples, s => Assert.True(s > 0));
            Assert.Equal(samples.Average(), t.GetProperty("avg_ts").GetDouble(), 6);
            Assert.True(t.GetProperty("stddev_ts").GetDouble() >= 0);
        }
        Assert.True(doc.RootElement.GetProperty("peak_rss_bytes").GetInt64() > 0);
        Assert.True(doc.RootElement.GetProperty("load_ms").GetDouble() > 0);
        Assert.Equal("Q8_0", doc.RootElement.GetProperty("model_type").GetString());
    }

    [Fact]
    public void Bad_thread_lists_are_one_line_errors()
    {
        var r = CliRunner.Run("bench", TestAssets.Path("stories260K-gguf/stories260K-Q8_0.gguf"), "-t", "1,zero");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--threads takes comma-separated positive counts", r.Stderr);
    }
}
