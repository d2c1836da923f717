using System.CommandLine;
using Cria.Generation;

namespace Cria.Cli.Commands;

/// <summary>The sampling options generate and chat share (llama.cpp's names and defaults).</summary>
public sealed class SamplingOptionSet
{
    private readonly Option<float> _temperature = new("--temperature", "--temp") { Description = "Sampling temperature; 0 = greedy", DefaultValueFactory = _ => 0.8f };
    private readonly Option<int> _topK = new("--top-k") { Description = "Keep the K most likely tokens (0 = all)", DefaultValueFactory = _ => 40 };
    private readonly Option<float> _topP = new("--top-p") { Description = "Keep the most likely tokens up to this total probability (1 = all)", DefaultValueFactory = _ => 0.95f };
    private readonly Option<float> _minP = new("--min-p") { Description = "Drop tokens less likely than this fraction of the best one (0 = off)", DefaultValueFactory = _ => 0.05f };
    private readonly Option<float> _repeatPenalty = new("--repeat-penalty") { Description = "Penalty for tokens among the last --repeat-last-n (1 = off)", DefaultValueFactory = _ => 1.0f };
    private readonly Option<int> _repeatLastN = new("--repeat-last-n") { Description = "How many recent tokens the repetition penalty looks at", DefaultValueFactory = _ => 64 };
    private readonly Option<ulong?> _seed = new("--seed", "-s") { Description = "Random seed; the same seed repeats the same text (default: random, printed)" };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _temperature, _topK, _topP, _minP, _repeatPenalty, _repeatLastN, _seed }) command.Options.Add(option);
    }

    public SamplerOptions Read(ParseResult parse)
    {
        var options = new SamplerOptions
        {
            Temperature = parse.GetValue(_temperature),
            TopK = parse.GetValue(_topK),
            TopP = parse.GetValue(_topP),
            MinP = parse.GetValue(_minP),
            RepeatPenalty = parse.GetValue(_repeatPenalty),
            RepeatLastN = parse.GetValue(_repeatLastN),
            Seed = parse.GetValue(_seed),
        };
        options.Validate();
        return options;
    }
}
