using Cria.Formats.Gguf;
using Cria.Formats.Llama2c;
using Cria.Tokenization;

namespace Cria.Model;

/// <summary>Recognises a model file by its content and loads it with its tokenizer.</summary>
public static class ModelLoader
{
    public static LlamaModel Load(string path, string? tokenizerPath = null)
    {
        if (Directory.Exists(path))
            throw new CriaException($"'{path}' is a folder; Meta and Hugging Face checkpoint folders are not supported yet (use a GGUF or llama2.c file)");
        if (!File.Exists(path)) throw new CriaException($"model file not found: '{path}'");
        return GgufFile.HasMagic(path) ? LoadGguf(path, tokenizerPath) : LoadLlama2c(path, tokenizerPath);
    }

    private static LlamaModel LoadGguf(string path, string? tokenizerPath)
    {
        var file = GgufFile.Open(path);
        try
        {
            var config = GgufModelLoader.ReadConfig(file);
            var weights = GgufModelLoader.ReadWeights(file, config);
            var tokenizer = tokenizerPath != null ? TokenizerLoader.FromFile(tokenizerPath, config.VocabSize) : TokenizerLoader.FromGguf(file.Metadata, path);
            CheckVocabulary(tokenizer, config, path);
            return new LlamaModel(config, weights, tokenizer, $"GGUF v{file.Version} '{path}'", file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static LlamaModel LoadLlama2c(string path, string? tokenizerPath)
    {
        var checkpoint = Llama2cCheckpoint.Open(path);
        try
        {
            tokenizerPath ??= FindLlama2cTokenizer(path, checkpoint.Config.VocabSize);
            var tokenizer = TokenizerLoader.FromFile(tokenizerPath, checkpoint.Config.VocabSize);
            CheckVocabulary(tokenizer, checkpoint.Config, path);
            string version = checkpoint.Version == 0 ? "legacy" : $"v{checkpoint.Version}";
            return new LlamaModel(checkpoint.Config, checkpoint.Weights, tokenizer, $"llama2.c ({version}) '{path}'", checkpoint);
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    // llama2.c keeps the tokenizer apart: tokenizer.bin (the Llama 2 vocabulary) or tok{N}.bin for a custom one.
    private static string FindLlama2cTokenizer(string modelPath, int vocabSize)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        foreach (string name in new[] { $"tok{vocabSize}.bin", "tokenizer.bin" })
        {
            string candidate = Path.Combine(folder, name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new CriaException($"llama2.c checkpoint '{modelPath}' has no tokenizer beside it (tok{vocabSize}.bin or tokenizer.bin); pass --tokenizer PATH");
    }

    private static void CheckVocabulary(Tokenizer tokenizer, LlamaConfig config, string path)
    {
        if (tokenizer.VocabSize != config.VocabSize)
            throw new CriaException($"the tokenizer has {tokenizer.VocabSize} tokens but '{path}' has a vocabulary of {config.VocabSize}: they do not belong together");
    }
}
