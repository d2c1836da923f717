namespace Cria.Cli.Commands; public static class GenerateCommand { public static System.CommandLine.Command Create(TextWriter o, TextWriter e) => new("generate"); }
