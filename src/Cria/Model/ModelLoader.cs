using Cria.Formats.Gguf;
using Cria.Formats.HuggingFace;
using Cria.Formats.Llama2c;
using Cria.Formats.Meta;
using Cria.Tokenization;

namespace Cria.Model;

/// <summary>Recognises a model file by its content and opens it as a checkpoint with its tokenizer.</summary>
public static class ModelLoader
{
    /// <summary>Opens <paramref name="path"/> (GGUF, llama2.c, or a Meta checkpoint folder or .pth) as a checkpoint. <paramref name="tokenizerPath"/> replaces the
    /// file's own tokenizer; a llama2.c checkpoint otherwise takes tok{vocab}.bin or tokenizer.bin from beside it.</summary>
    public static LlamaCheckpoint OpenCheckpoint(string path, string? tokenizerPath = null)
    {
        if (HuggingFaceCheckpointReader.IsHuggingFace(path)) return HuggingFaceCheckpointReader.Open(path, tokenizerPath);
        if (MetaCheckpointReader.Recognizes(path)) return MetaCheckpointReader.Open(path, tokenizerPath);
        if (Directory.Exists(path))
            throw new CriaException($"'{path}' is a folder with neither a Meta checkpoint (params.json + consolidated.NN.pth) nor a Hugging Face one (config.json + safetensors)");
        if (!File.Exists(path)) throw new CriaException($"model file not found: '{path}'");
        return GgufFile.HasMagic(path) ? OpenGguf(path, tokenizerPath) : OpenLlama2c(path, tokenizerPath);
    }

    /// <summary>Opens a model for inference. Matrices this machine multiplies faster in another layout are repacked at
    /// load into memory of their own (<see cref="Tensors.Interleaved.InterleavedLayout"/>) unless <paramref name="repack"/>
    /// is false; the file is only read.</summary>
    public static LlamaModel Load(string path, string? tokenizerPath = null, bool repack = true)
    {
        var checkpoint = OpenCheckpoint(path, tokenizerPath);
        try
        {
            var tokenizer = checkpoint.Tokenizer ?? throw new CriaException($"{checkpoint.Description} has no tokenizer; pass --tokenizer PATH");
            CheckVocabulary(tokenizer, checkpoint);
            var storage = new List<IDisposable>();
            try
            {
                var weights = repack ? LlamaWeightsBuilder.Build(checkpoint, storage) : LlamaWeightsBuilder.Build(checkpoint);
                var model = new LlamaModel(checkpoint.Config, weights, tokenizer, checkpoint.Description, [checkpoint, .. storage]);
                // Parsing leaves tens of MiB of garbage and free heap behind, which the GC would keep committed for
                // the life of the model; an aggressive collection (a few ms) gives it back to the OS.
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                return model;
            }
            catch
            {
                foreach (var s in storage) s.Dispose();
                throw;
            }
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    /// <summary>The tokenizer of a model (GGUF, llama2.c with its tokenizer beside it) or a tokenizer file itself,
    /// without touching the weights.</summary>
    public static Tokenizer OpenTokenizer(string path)
    {
        if (Directory.Exists(path))
        {
            using var checkpoint = OpenCheckpoint(path);
            return checkpoint.Tokenizer ?? throw new CriaException($"{checkpoint.Description} has no tokenizer");
        }
        if (!File.Exists(path)) throw new CriaException($"file not found: '{path}'");
        if (GgufFile.HasMagic(path))
        {
            using var file = GgufFile.Open(path);
            return TokenizerLoader.FromGguf(file.Metadata, path);
        }
        if (Llama2cCheckpoint.LooksLikeCheckpoint(path, out int vocabSize))
            return TokenizerLoader.FromFile(FindLlama2cTokenizer(path, vocabSize), vocabSize);
        return TokenizerLoader.FromFile(path);
    }

    private static LlamaCheckpoint OpenGguf(string path, string? tokenizerPath)
    {
        var checkpoint = GgufCheckpointReader.Open(path);
        if (tokenizerPath == null) return checkpoint;
        try
        {
            var tokenizer = TokenizerLoader.FromFile(tokenizerPath, checkpoint.Config.VocabSize);
            return new LlamaCheckpoint(checkpoint.Format, checkpoint.Naming, checkpoint.Path, checkpoint.Config, checkpoint.Tensors, tokenizer,
                checkpoint.Metadata, checkpoint) { Mapping = checkpoint.Mapping };
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    private static LlamaCheckpoint OpenLlama2c(string path, string? tokenizerPath)
    {
        var file = Llama2cCheckpoint.Open(path);
        try
        {
            tokenizerPath ??= FindLlama2cTokenizer(path, file.Config.VocabSize);
            return file.ToCheckpoint(TokenizerLoader.FromFile(tokenizerPath, file.Config.VocabSize));
        }
        catch
        {
            file.Dispose();
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

    private static void CheckVocabulary(Tokenizer tokenizer, LlamaCheckpoint checkpoint)
    {
        if (tokenizer.VocabSize != checkpoint.Config.VocabSize)
            throw new CriaException($"the tokenizer has {tokenizer.VocabSize} tokens but {checkpoint.Description} has a vocabulary of " +
                                    $"{checkpoint.Config.VocabSize}: they do not belong together");
    }
}
