using System.Diagnostics;
using Cria.Formats.Gguf;
using Cria.Tests.Quantization;
using LlamacppQuantize;

// llamacpp-quantize: see README.md.
//   make-synthetic OUT.gguf [--dim 1024] [--ffn 2816] [--layers 8] [--vocab 16000] [--heads 16] [--kv-heads 4] [--seed 1] [--tied]
//   quantize IN.gguf OUT.gguf FTYPE_ID [--pure] [--allow-requantize] [--threads N] [--lib DIR]
//   digests OUT.json [--assets DIR] [--lib DIR]
if (args.Length < 2) return Usage();
return args[0] switch
{
    "make-synthetic" => MakeSynthetic(args),
    "quantize" => Quantize(args),
    "digests" => Digests.Write(args[1], Option(args, "--assets", Digests.DefaultAssets), Option(args, "--lib", LlamaQuantizer.DefaultLibDir)),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: make-synthetic OUT.gguf [--dim N] [--ffn N] [--layers N] [--vocab N] [--heads N] [--kv-heads N] [--seed N] [--tied]\n" +
                            "       quantize IN.gguf OUT.gguf FTYPE_ID [--pure] [--allow-requantize] [--threads N] [--lib DIR]\n" +
                            "       digests OUT.json [--assets DIR] [--lib DIR]");
    return 2;
}

static string Option(string[] args, string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

// A random Llama-shaped F32 GGUF of any shape, written by the tests' own generator.
static int MakeSynthetic(string[] args)
{
    var spec = new SyntheticQuantizeModels.Spec("benchmark", int.Parse(Option(args, "--dim", "1024")), int.Parse(Option(args, "--ffn", "2816")),
        int.Parse(Option(args, "--layers", "8")), int.Parse(Option(args, "--vocab", "16000")), int.Parse(Option(args, "--heads", "16")),
        int.Parse(Option(args, "--kv-heads", "4")), args.Contains("--tied"), ulong.Parse(Option(args, "--seed", "1")));
    SyntheticQuantizeModels.Write(spec, args[1]);
    using var file = GgufFile.Open(args[1]);
    Console.WriteLine($"wrote {args[1]}: {file.Tensors.Count} tensors, {file.Tensors.Sum(t => t.ElementCount):N0} parameters");
    return 0;
}

static int Quantize(string[] args)
{
    if (args.Length < 4) return Usage();
    var llama = new LlamaQuantizer(Option(args, "--lib", LlamaQuantizer.DefaultLibDir));
    var clock = Stopwatch.StartNew();
    uint rc = llama.Quantize(args[1], args[2], int.Parse(args[3]), args.Contains("--pure"), args.Contains("--allow-requantize"),
        int.Parse(Option(args, "--threads", "0")));
    Console.WriteLine($"llama_model_quantize returned {rc} in {clock.Elapsed.TotalSeconds:F2} s");
    return (int)rc;
}
