using System.Text.Json;
using Cria.Model;
using Cria.Tests.Infrastructure;
using Cria.Tokenization;
using Cria.Tokenization.Chat;

namespace Cria.Tests.Tokenization.Chat;

/// <summary>Chat formats against Data/chat-format-cases.json (tools/chat-fixtures): Llama 2 ids from Meta's own
/// chat_completion over sentencepiece; Llama 3.0/3.1/3.2 text rendered by the Hugging Face templates (jinja2).</summary>
public class ChatFormatTests
{
    private static readonly JsonElement Cases = JsonDocument.Parse(
        File.ReadAllText(Path.Combine(TestAssets.RepoRoot, "tests", "Cria.Tests", "Data", "chat-format-cases.json"))).RootElement.Clone();

    public static TheoryData<int> CaseIndexes => new(Enumerable.Range(0, Cases.GetProperty("cases").GetArrayLength()));

    private static List<ChatMessage> Messages(JsonElement c) =>
        c.GetProperty("messages").EnumerateArray().Select(m => new ChatMessage(m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!)).ToList();

    private static readonly Lazy<Tokenizer> Llama2 = new(() => ModelLoader.OpenTokenizer(TestAssets.Path("llama2-tokenizer/tokenizer.bin")));

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void Llama2_dialogs_match_metas_chat_completion(int index)
    {
        var c = Cases.GetProperty("cases")[index];
        var format = new Llama2ChatFormat(Llama2.Value);
        Assert.Equal(c.GetProperty("llama2_ids").Ints(), format.EncodeDialog(Messages(c)));
    }

    [Fact]
    public void Llama2_turn_by_turn_tokens_extend_the_dialog()
    {
        // After a reply, the session appends EOS and the next [INST] turn; Meta's dialog differs only by the space
        // it writes after each answer ("{answer} </s>"), which a generated reply does not have.
        var format = new Llama2ChatFormat(Llama2.Value);
        var history = new List<ChatMessage> { ChatMessage.System("Be brief."), ChatMessage.User("Hi") };
        int[] first = format.EncodeDialog(history);
        int[] answer = Llama2.Value.Encode("Hello there.", addBos: false);
        int[] next = format.EncodeNextUserTurn("Bye");
        history.Add(ChatMessage.Assistant("Hello there."));
        history.Add(ChatMessage.User("Bye"));
        int[] whole = format.EncodeDialog(history);
        int space = Llama2.Value.FindToken("▁");
        int[] turnByTurn = [.. first, .. answer, space, .. format.EndOfReply(), .. next];
        Assert.Equal(whole, turnByTurn);
    }

    [Fact]
    public void Dialog_errors_name_the_problem()
    {
        var format = new Llama2ChatFormat(Llama2.Value);
        Assert.Contains("alternate", Assert.Throws<CriaException>(() => format.EncodeDialog([ChatMessage.User("a"), ChatMessage.User("b")])).Message);
        Assert.Contains("unknown role", Assert.Throws<CriaException>(() => format.EncodeDialog([new ChatMessage("wizard", "a")])).Message);
        Assert.Contains("empty", Assert.Throws<CriaException>(() => format.EncodeDialog([])).Message);
        Assert.Contains("<|start_header_id|>", Assert.Throws<CriaException>(() => new Llama3ChatFormat(Llama2.Value)).Message);
    }

    [Fact]
    public void Detection_uses_the_template_then_the_vocabulary_and_names_can_override()
    {
        Assert.IsType<Llama2ChatFormat>(ChatFormats.Detect(Llama2.Value));
        Assert.Equal("llama2", ChatFormats.Create(Llama2.Value, "LLaMA2").Name);
        Assert.Contains("unknown chat format 'chatml'", Assert.Throws<CriaException>(() => ChatFormats.Create(Llama2.Value, "chatml")).Message);
    }
}
