using Cria.Formats.HuggingFace;
using Cria.Formats.SafeTensors;

namespace Cria.Cli.Commands;

/// <summary><c>cria inspect</c> for a Hugging Face checkpoint: its files, config, tokenizer files and tensors (HF names).</summary>
internal static class InspectHuggingFace
{
    public static int Write(string path, TextWriter o)
    {
        using var checkpoint = HuggingFaceCheckpointReader.Open(path, withTokenizer: false);
        string folder = checkpoint.Path;
        o.WriteLine($"folder:       {folder}");
        o.WriteLine($"format:       Hugging Face {HuggingFaceConfig.Architecture} (config.json + safetensors)");
        foreach (string file in HuggingFaceCheckpointReader.WeightFiles(path))
        {
            using var st = SafeTensorsFile.Open(file);
            string types = string.Join(", ", st.Tensors.GroupBy(t => t.DType).Select(g => $"{g.Count()} x {g.Key}"));
            o.WriteLine($"  {Path.GetFileName(file)}: {new FileInfo(file).Length:N0} bytes, {types}");
        }
        o.WriteLine("architecture: llama");
        o.WriteLine();
        InspectCommand.WriteConfig(checkpoint.Config, o);
        o.WriteLine();
        var tokenizerFiles = HuggingFaceWriter.TokenizerFileNames.Where(n => File.Exists(Path.Combine(folder, n))).ToList();
        o.WriteLine($"tokenizer:    {(tokenizerFiles.Count == 0 ? "no tokenizer files in the folder (--tokenizer PATH)" : string.Join(", ", tokenizerFiles))}");
        o.WriteLine();
        var tensors = checkpoint.Tensors;
        o.WriteLine($"tensors ({tensors.Count}, Hugging Face naming; size is rows x columns; q_proj/k_proj rows in rotate_half order):");
        for (int i = 0; i < tensors.Count; i++)
            o.WriteLine($"{InspectCommand.Counter(i, tensors.Count)} {tensors[i].SourceName} | size {InspectCommand.Size(tensors[i].Dimensions.Reverse())} | type {tensors[i].TypeInfo.Name}");
        o.WriteLine();
        o.WriteLine($"parameters: {tensors.Sum(t => t.ElementCount):N0}");
        return 0;
    }
}
