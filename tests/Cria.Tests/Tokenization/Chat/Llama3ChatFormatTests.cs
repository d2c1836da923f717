using System.Text.Json;
using Cria.Tests.Infrastructure;
using Cria.Tokenization;
using Cria.Tokenization.Chat;

namespace Cria.Tests.Tokenization.Chat;

/// <summary>Llama 3 chat formats against the text the Hugging Face templates render (Data/chat-format-cases.json) and
/// against Meta's llama-models test cases.</summary>
public class Llama3ChatFormatTests
{
    private static readonly JsonElement Cases = JsonDocument.Parse(
        File.ReadAllText(Path.Combine(TestAssets.RepoRoot, "tests", "Cria.Tests", "Data", "chat-format-cases.json"))).RootElement.Clone();

    private static readonly Lazy<Tokenizer> Llama3 = new(() => TokenizerLoader.FromFile(TestAssets.Path("llama3-tokenizer/hf/tokenizer.json")));

    public static TheoryData<int> CaseIndexes => new(Enumerable.Range(0, Cases.GetProperty("cases").GetArrayLength()));

    private static List<ChatMessage> Messages(JsonElement c) =>
        c.GetProperty("messages").EnumerateArray().Select(m => new ChatMessage(m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!)).ToList();

    private int[] Rendered(JsonElement c, string key) => Llama3.Value.Encode(c.GetProperty(key).GetString()!, addBos: false, parseSpecial: true);

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void Each_variant_gives_the_tokens_of_its_template(int index)
    {
        var c = Cases.GetProperty("cases")[index];
        var messages = Messages(c);
        Assert.Equal(Rendered(c, "llama3_0_text"), new Llama3ChatFormat(Llama3.Value, Llama3Variant.Llama3_0).EncodeDialog(messages));
        Assert.Equal(Rendered(c, "llama3_1_text"), new Llama3ChatFormat(Llama3.Value, Llama3Variant.Llama3_1).EncodeDialog(messages));
        Assert.Equal(Rendered(c, "llama3_1_text_no_generation_prompt"),
            new Llama3ChatFormat(Llama3.Value, Llama3Variant.Llama3_1).EncodeDialog(messages, addGenerationPrompt: false));
        string date = Cases.GetProperty("llama3_2_date").GetString()!;
        Assert.Equal(Rendered(c, "llama3_2_text"), new Llama3ChatFormat(Llama3.Value, Llama3Variant.Llama3_2, date).EncodeDialog(messages));
    }

    [Fact]
    public void Metas_dialog_prompt_and_message_encoding()
    {
        var meta = Json.Load("llama3-tokenizer/meta-llama-models-test-cases.json");
        var tokenizer = TokenizerLoader.FromFile(TestAssets.Path("llama3-tokenizer/tokenizer.model"));
        var format = new Llama3ChatFormat(tokenizer);
        var dialog = meta.GetProperty("encode_dialog_prompt");
        var messages = dialog.GetProperty("messages").EnumerateArray().Select(m => new ChatMessage(m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!)).ToList();
        Assert.Equal(dialog.GetProperty("ids").Ints(), format.EncodeDialog(messages));
        var user = meta.GetProperty("encode_message_user");
        int[] userTurn = format.EncodeNextUserTurn(user.GetProperty("content").GetString()!);
        int[] expected = user.GetProperty("ids").Ints();
        Assert.Equal(expected, userTurn.Take(expected.Length).ToArray()); // then the assistant header that opens the reply
    }

    [Fact]
    public void Turn_by_turn_tokens_extend_the_dialog_exactly()
    {
        var format = new Llama3ChatFormat(Llama3.Value, Llama3Variant.Llama3_1);
        var history = new List<ChatMessage> { ChatMessage.System("Be brief."), ChatMessage.User("Hi") };
        int[] first = format.EncodeDialog(history);
        int[] answer = Llama3.Value.Encode("Hello there.", addBos: false);
        history.Add(ChatMessage.Assistant("Hello there."));
        history.Add(ChatMessage.User("Bye"));
        int[] turnByTurn = [.. first, .. answer, .. format.EndOfReply(), .. format.EncodeNextUserTurn("Bye")];
        Assert.Equal(format.EncodeDialog(history), turnByTurn);
    }

    [Fact]
    public void Stops_on_eot_end_of_text_and_eom()
    {
        var format = new Llama3ChatFormat(TokenizerLoader.FromFile(TestAssets.Path("llama3-tokenizer/tokenizer.model")));
        Assert.Equal(new[] { 128009, 128001, 128008 }, format.StopTokens);
    }

    [Fact]
    public void Detection_from_the_templates_of_each_release()
    {
        var tokenizer = Llama3.Value;
        Assert.Equal("llama3", ChatFormats.Detect(tokenizer).Name); // tokenizer_config.json's Llama 3 template
        string t31 = File.ReadAllText(TestAssets.Path("llama3-tokenizer/meta-llama-Llama-3.1-8B-Instruct.jinja"));
        string t32 = File.ReadAllText(TestAssets.Path("llama3-tokenizer/meta-llama-Llama-3.2-3B-Instruct.jinja"));
        Assert.Equal("llama3.1", ChatFormats.Detect(tokenizer, template: t31).Name);
        Assert.Equal("llama3.2", ChatFormats.Detect(tokenizer, template: t32).Name);
        var bare = TokenizerLoader.FromFile(TestAssets.Path("llama3-tokenizer/tokenizer.model"));
        Assert.Equal("llama3", ChatFormats.Detect(bare).Name); // no template: the vocabulary has the header tokens
        Assert.Equal("llama3.1", ChatFormats.Create(bare, "Llama3.1").Name);
    }
}
