using System.CommandLine;
using Cria.Cli.Commands;

namespace Cria.Cli;

/// <summary>The <c>cria</c> command line: parses arguments, runs a command, and turns user errors into one line on
/// stderr and a non-zero exit code (no stack trace).</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        // Invalid UTF-8 on stdin is an error to report, not something to replace silently.
        Console.InputEncoding = new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        Console.OutputEncoding = new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        return Run(args, Console.In, Console.Out, Console.Error, interactive: !Console.IsInputRedirected);
    }

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, TextReader.Null, stdout, stderr, interactive: false);

    /// <param name="interactive">stdin is a terminal (chat then prompts; otherwise each line is a turn).</param>
    public static int Run(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr, bool interactive)
    {
        var root = new RootCommand("Cria: run Llama models in pure managed .NET")
        {
            GenerateCommand.Create(stdout, stderr),
            ChatCommand.Create(stdin, stdout, stderr, interactive),
            TokenizeCommand.Create(stdin, stdout),
            InspectCommand.Create(stdout),
            ConvertCommand.Create(stdout, stderr),
            QuantizeCommand.Create(stdout, stderr),
            CreateCommand.Create(stdout, stderr),
            BenchCommand.Create(stdout, stderr),
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
        System.Text.DecoderFallbackException => "the input is not valid UTF-8",
        FileNotFoundException f => $"file not found: '{f.FileName}'",
        DirectoryNotFoundException => e.Message,
        UnauthorizedAccessException => e.Message,
        IOException => e.Message,
        OperationCanceledException => "cancelled",
        _ => null,
    };
}
