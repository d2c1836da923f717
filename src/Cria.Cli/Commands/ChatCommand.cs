using System.CommandLine;
using System.Globalization;
using Cria.Generation;
using Cria.Model;
using Cria.Tokenization.Chat;

namespace Cria.Cli.Commands;

/// <summary><c>cria chat MODEL [--system TEXT]</c>: a multi-turn chat that keeps the dialog in the KV cache. Each stdin
/// line is a user turn (so it can be scripted); <c>/reset</c> starts over, <c>/exit</c> quits.</summary>
public static class ChatCommand
{
    public static Command Create(TextReader stdin, TextWriter stdout, TextWriter stderr, bool interactive)
    {
        var model = new Argument<string>("model") { Description = "A GGUF file or a llama2.c checkpoint" };
        var system = new Option<string?>("--system") { Description = "A system prompt, kept for the whole dialog" };
        var format = new Option<string?>("--chat-format") { Description = $"The chat format (default: detected from the model): {string.Join(", ", ChatFormats.Names)}" };
        var maxTokens = new Option<int>("--max-tokens", "-n") { Description = "Most tokens per reply; -1 = until the end of the turn", DefaultValueFactory = _ => -1 };
        var sampling = new SamplingOptionSet();
        var running = new ModelOptionSet();
        var command = new Command("chat", "Chat with a model; each line of input is a user turn (/reset, /exit)") { model, system, format, maxTokens };
        sampling.AddTo(command);
        running.AddTo(command);
        command.SetAction(parse =>
        {
            var samplerOptions = sampling.Read(parse);
            var contextOptions = running.ReadContextOptions(parse);
            int limit = parse.GetValue(maxTokens);
            if (limit < -1) throw new CriaException($"--max-tokens must be -1 (no limit) or more, got {limit}");

            using var llama = LlamaModel.Load(parse.GetValue(model)!, running.TokenizerPath(parse), running.Repack(parse));
            using var context = new LlamaContext(llama, contextOptions);
            var chatFormat = ChatFormats.Create(llama.Tokenizer!, parse.GetValue(format));
            var sampler = new Sampler(samplerOptions, llama.Config.VocabSize);
            var session = new ChatSession(context, llama.Tokenizer!, chatFormat, sampler, parse.GetValue(system));
            session.HistoryTruncated += n => stderr.WriteLine($"cria: the context is full: dropped the {n} oldest messages (the system prompt is kept)");
            stderr.WriteLine(GenerateCommand.Describe(llama, context) + $", chat format {chatFormat.Name}" +
                             (samplerOptions.Temperature > 0 ? $", seed {sampler.Seed}" : ", greedy"));
            if (interactive) stderr.WriteLine("cria: type a message; /reset starts over, /exit quits");

            int turns = 0, generated = 0;
            var generationTime = TimeSpan.Zero;
            while (true)
            {
                if (interactive) stderr.Write("> ");
                string? line = stdin.ReadLine();
                if (line is null || line.Trim() == "/exit") break;
                if (line.Trim() == "/reset")
                {
                    session.Reset();
                    stderr.WriteLine("cria: the dialog is reset");
                    continue;
                }
                if (line.Trim().Length == 0) continue;
                var result = session.Send(line, stdout, limit);
                stdout.WriteLine();
                stdout.Flush();
                turns++;
                generated += result.GeneratedTokens;
                generationTime += result.GenerationTime;
                if (result.StopReason == StopReason.ContextFull) stderr.WriteLine("cria: the reply filled the context");
            }
            if (turns > 0)
                stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"cria: {turns} turns, {generated} tokens generated at {generated / Math.Max(generationTime.TotalSeconds, 1e-9):F1} tokens/s"));
            return 0;
        });
        return command;
    }
}
