using System.CommandLine;
using Cria.Cli.Commands;

namespace Cria.Cli;

/// <summary>The <c>cria</c> command line: parses arguments, runs a command, and turns user errors into one line on
/// stderr and a non-zero exit code (no stack trace).</summary>
public static class Program
{
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("Cria: run Llama models in pure managed .NET")
        {
            GenerateCommand.Create(stdout, stderr),
            InspectCommand.Create(stdout),
            QuantizeCommand.Create(stdout, stderr),
        };
        var parse = root.Parse(args);
        if (args.Length == 0)
        {
            parse = root.Parse(["--help"]);
            parse.Invoke(new InvocationConfiguration { Output = stderr });
            return 2;
        }
        if (parse.Errors.Count > 0)
        {
            // "Unrecognized …" names the user's mistake; "Required command was not provided" is its consequence.
            var error = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
            stderr.WriteLine($"cria: {error.Message} (see 'cria --help')");
            return 2;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = stdout, Error = stderr });
        }
        catch (Exception e) when (UserError(e) is string message)
        {
            stderr.WriteLine($"cria: {message}");
            return 1;
        }
    }

    // Errors that come from the user's input or environment, told in one line; anything else is a bug and keeps its trace.
    private static string? UserError(Exception e) => e switch
    {
        CriaException => e.Message,
        FileNotFoundException f => $"file not found: '{f.FileName}'",
        DirectoryNotFoundException => e.Message,
        UnauthorizedAccessException => e.Message,
        IOException => e.Message,
        OperationCanceledException => "cancelled",
        _ => null,
    };
}
