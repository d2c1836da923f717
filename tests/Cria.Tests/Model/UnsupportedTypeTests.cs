using Cria.Formats.Gguf;
using Cria.Model;
using Cria.Tensors;
using Cria.Tests.Cli;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Model;

public class UnsupportedTypeTests
{
    [Fact]
    public void A_tensor_in_a_type_without_kernels_is_named_in_the_error()
    {
        string path = Path.Combine(Path.GetTempPath(), $"cria-iq-{Guid.NewGuid():N}.gguf");
        try
        {
            using (var source = GgufFile.Open(TestAssets.Path("stories260K-gguf/stories260K-f32.gguf")))
            using (var writer = new GgufWriter(path))
            {
                writer.AddMetadata(source.Metadata.Entries);
                var info = TensorTypeInfo.Get(GgmlType.IQ4_NL);
                foreach (var t in source.Tensors)
                    writer.AddTensor(t.Name, t.Dimensions, t.Name == "blk.0.ffn_gate.weight" ? GgmlType.IQ4_NL : t.Type);
                foreach (var t in source.Tensors)
                    writer.WriteTensor(t.Name, t.Name == "blk.0.ffn_gate.weight" ? new byte[t.ElementCount / info.BlockElements * info.BlockBytes] : source.TensorBytes(t));
                writer.Complete();
            }
            var e = Assert.Throws<CriaException>(() => LlamaModel.Load(path));
            Assert.Contains("'blk.0.ffn_gate.weight' has type IQ4_NL", e.Message);

            var r = CliRunner.Run("generate", path, "--prompt", "Once");
            Assert.Equal(1, r.ExitCode);
            Assert.Matches("^cria: tensor 'blk.0.ffn_gate.weight' has type IQ4_NL, which Cria cannot compute with", r.Stderr);
            Assert.Equal(0, CliRunner.Run("inspect", path).ExitCode); // inspecting it still works
        }
        finally { File.Delete(path); }
    }
}
