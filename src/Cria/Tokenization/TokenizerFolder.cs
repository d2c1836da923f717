namespace Cria.Tokenization;

/// <summary>Which file of a model folder holds its tokenizer.</summary>
internal static class TokenizerFolder
{
    /// <summary>The names looked for, in order: Hugging Face's tokenizer.json first (as transformers loads it; it also
    /// carries added tokens), then sentencepiece's or tiktoken's tokenizer.model (Meta's layout).</summary>
    public static readonly string[] FileNames = ["tokenizer.json", "tokenizer.model"];

    /// <summary><paramref name="path"/> itself if it is not a folder, else the tokenizer file inside it.</summary>
    public static string Resolve(string path)
    {
        if (!Directory.Exists(path)) return path;
        foreach (string name in FileNames)
        {
            string candidate = Path.Combine(path, name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new CriaException($"tokenizer folder '{path}' holds none of {string.Join(", ", FileNames)}");
    }
}
