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
        Assert.All(tests, t => Assert.Equal(256, t.GetProperty("n_ubatch").GetInt32()));
    }

    [Fact]
    public void A_prompt_longer_than_the_batch_size_runs_and_reports_it()
    {
        var r = CliRunner.Run("bench", TestAssets.Path("stories260K-gguf/stories260K-Q8_0.gguf"), "-p", "100", "-n", "0", "-t", "1", "-r", "1", "-b", "32", "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        var test = doc.RootElement.GetProperty("tests").EnumerateArray().Single();
        Assert.Equal("pp100", test.GetProperty("test").GetString());
        Assert.Equal(32, test.GetProperty("n_ubatch").GetInt32());
        Assert.True(test.GetProperty("avg_ts").GetDouble() > 0);
    }

    [Fact]
    public void No_repack_is_reported_in_the_json()
    {
        string model = TestAssets.Path("stories260K-gguf/stories260K-Q8_0.gguf");
        foreach (bool repack in new[] { true, false })
        {
            var r = CliRunner.Run(["bench", model, "-p", "8", "-n", "4", "-t", "1", "-r", "1", "--json", .. repack ? Array.Empty<string>() : ["--no-repack"]]);
            Assert.Equal(0, r.ExitCode);
            using var doc = JsonDocument.Parse(r.Stdout);
            Assert.Equal(repack, doc.RootElement.GetProperty("repack").GetBoolean());
            Assert.Equal(2, doc.RootElement.GetProperty("tests").GetArrayLength());
        }
    }

    [Fact]
    public void A_batch_size_below_one_is_a_one_line_error()
    {
        var r = CliRunner.Run("bench", TestAssets.Path("stories260K-gguf/stories260K-Q8_0.gguf"), "-b", "0");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("batch size must be at least 1", r.Stderr);
    }

    [Fact]
    public void Bad_thread_lists_are_one_line_errors()
    {
        var r = CliRunner.Run("bench", TestAssets.Path("stories260K-gguf/stories260K-Q8_0.gguf"), "-t", "1,zero");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--threads takes comma-separated positive counts", r.Stderr);
    }
}
