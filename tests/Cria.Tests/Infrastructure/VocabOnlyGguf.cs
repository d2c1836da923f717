using Cria.Formats.Gguf;
using Cria.Tokenization;

namespace Cria.Tests.Infrastructure;

/// <summary>Writes a GGUF with no tensors, like llama.cpp's <c>ggml-vocab-*.gguf</c> files: llama hyper-parameters
/// (so that llama.cpp can open it vocab-only), a tokenizer's <see cref="Tokenizer.ToGgufMetadata"/> and its chat template.</summary>
public static class VocabOnlyGguf
{
    public static string Write(Tokenizer tokenizer, string path)
    {
        using var writer = new GgufWriter(path);
        writer.AddMetadata("general.architecture", GgufValue.Of("llama"));
        writer.AddMetadata("general.name", GgufValue.Of("cria-vocab"));
        writer.AddMetadata("llama.block_count", GgufValue.Of(1u));
        writer.AddMetadata("llama.context_length", GgufValue.Of(8192u));
        writer.AddMetadata("llama.embedding_length", GgufValue.Of(64u));
        writer.AddMetadata("llama.feed_forward_length", GgufValue.Of(128u));
        writer.AddMetadata("llama.attention.head_count", GgufValue.Of(4u));
        writer.AddMetadata("llama.attention.head_count_kv", GgufValue.Of(4u));
        writer.AddMetadata("llama.attention.layer_norm_rms_epsilon", GgufValue.Of(1e-5f));
        writer.AddMetadata("llama.rope.freq_base", GgufValue.Of(500000f));
        writer.AddMetadata("llama.vocab_size", GgufValue.Of((uint)tokenizer.VocabSize));
        writer.AddMetadata(tokenizer.ToGgufMetadata());
        writer.Complete();
        return path;
    }
}
