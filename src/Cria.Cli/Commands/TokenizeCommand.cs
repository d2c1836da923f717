using System.CommandLine;
using System.Text.Json;
using Cria.Model;
using Cria.Tokenization;
using Cria.Tokenization.Chat;

namespace Cria.Cli.Commands;

/// <summary><c>cria tokenize PATH [--text T] …</c>: token ids of text (from --text or stdin) as one JSON array; with
/// --jsonl, one JSON string per stdin line in, one id array per line out; with --chat, the ids of a dialog in the
/// model's chat format.</summary>
public static class TokenizeCommand
{
    public static Command Create(TextReader stdin, TextWriter stdout)
    {
        var path = new Argument<string>("path") { Description = "A model (GGUF, llama2.c) or a tokenizer file" };
        var text = new Option<string?>("--text") { Description = "The text to tokenize (default: all of stdin)" };
        var noBos = new Option<bool>("--no-bos") { Description = "Do not add BOS even if the tokenizer would" };
        var special = new Option<bool>("--special") { Description = "Parse special-token text such as <|eot_id|> into its id" };
        var pieces = new Option<bool>("--pieces") { Description = "Print each token as {\"id\", \"piece\"} instead of bare ids" };
        var jsonl = new Option<bool>("--jsonl") { Description = "Batch mode: each stdin line is a JSON string; prints one JSON id array per line" };
        var chat = new Option<string?>("--chat") { Description = "A JSON file with an array of {\"role\", \"content\"} messages: prints the dialog's ids in the chat format" };
        var noGenerationPrompt = new Option<bool>("--no-generation-prompt") { Description = "With --chat: leave out the assistant header that starts the reply" };
        var format = new Option<string?>("--chat-format") { Description = $"With --chat: the format (default: detected): {string.Join(", ", ChatFormats.Names)}" };
        var command = new Command("tokenize", "Print the token ids of a text, a batch of texts, or a chat dialog")
        {
            path, text, noBos, special, pieces, jsonl, chat, noGenerationPrompt, format,
        };
        command.SetAction(parse =>
        {
            var tokenizer = ModelLoader.OpenTokenizer(parse.GetValue(path)!);
            bool addBos = tokenizer.AddBos && !parse.GetValue(noBos);
            bool parseSpecial = parse.GetValue(special);
            bool showPieces = parse.GetValue(pieces);
            if (parse.GetValue(chat) is string chatFile)
            {
                var chatFormat = ChatFormats.Create(tokenizer, parse.GetValue(format));
                var ids = chatFormat.EncodeDialog(ReadMessages(chatFile), addGenerationPrompt: !parse.GetValue(noGenerationPrompt));
                stdout.WriteLine(Render(tokenizer, ids, showPieces));
            }
            else if (parse.GetValue(jsonl))
            {
                int lineNumber = 0;
                while (stdin.ReadLine() is string line)
                {
                    lineNumber++;
                    if (line.Length == 0) continue;
                    string item;
                    try
                    {
                        item = JsonSerializer.Deserialize<string>(line) ?? throw new JsonException("null is not a string");
                    }
                    catch (JsonException e)
                    {
                        throw new CriaException($"stdin line {lineNumber} is not a JSON string: {e.Message}");
                    }
                    stdout.WriteLine(Render(tokenizer, tokenizer.Encode(item, addBos, parseSpecial: parseSpecial), showPieces));
                }
            }
            else
            {
                string input = parse.GetValue(text) ?? stdin.ReadToEnd();
                stdout.WriteLine(Render(tokenizer, tokenizer.Encode(input, addBos, parseSpecial: parseSpecial), showPieces));
            }
            return 0;
        });
        return command;
    }

    // Pieces print as they are ("<s>", "▁Hello"), not \u-escaped.
    private static readonly JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Render(Tokenizer tokenizer, int[] ids, bool pieces) =>
        pieces ? JsonSerializer.Serialize(ids.Select(id => new { id, piece = tokenizer.TokenText(id) }), Readable) : JsonSerializer.Serialize(ids);

    private static IReadOnlyList<ChatMessage> ReadMessages(string file)
    {
        if (!File.Exists(file)) throw new CriaException($"chat file not found: '{file}'");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new CriaException($"chat file '{file}' should hold a JSON array of messages");
            var messages = new List<ChatMessage>();
            foreach (var m in doc.RootElement.EnumerateArray())
            {
                if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String
                    || !m.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
                    throw new CriaException($"chat file '{file}': message {messages.Count + 1} needs string \"role\" and \"content\"");
                messages.Add(new ChatMessage(role.GetString()!, content.GetString()!));
            }
            return messages;
        }
        catch (JsonException e)
        {
            throw new CriaException($"chat file '{file}' is not valid JSON: {e.Message}");
        }
    }
}
