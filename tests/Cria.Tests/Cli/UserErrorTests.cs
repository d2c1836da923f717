using Cria.Tests.Infrastructure;

namespace Cria.Tests.Cli;

/// <summary>A user error prints one clear line on stderr and exits non-zero; never a stack trace.</summary>
public class UserErrorTests
{
    private static void AssertOneLineError(CliRunner.Result r, string expectedFragment)
    {
        Assert.NotEqual(0, r.ExitCode);
        string line = r.Stderr.TrimEnd('\n');
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("cria: ", line);
        Assert.Contains(expectedFragment, line);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void Missing_model_file() =>
        AssertOneLineError(CliRunner.Run("inspect", "/nonexistent/model.gguf"), "not found");

    [Fact]
    public void A_file_that_is_not_a_model()
    {
        string path = Path.Combine(Path.GetTempPath(), $"cria-not-a-model-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, "hello, this is a text file and not a model at all, but it is long enough");
        try
        {
            AssertOneLineError(CliRunner.Run("inspect", path), "llama2.c checkpoint");
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_folder() =>
        AssertOneLineError(CliRunner.Run("inspect", TestAssets.Path("stories260K")), "folder");

    [Fact]
    public void Unknown_command_and_unknown_option()
    {
        AssertOneLineError(CliRunner.Run("frobnicate"), "frobnicate");
        AssertOneLineError(CliRunner.Run("inspect", TestAssets.Path("stories260K/stories260K.bin"), "--bogus"), "--bogus");
    }
}
