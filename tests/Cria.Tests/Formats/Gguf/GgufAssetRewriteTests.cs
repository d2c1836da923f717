using System.Security.Cryptography;
using Cria.Formats.Gguf;
using Cria.Tests.Formats.Gguf.Support;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Formats.Gguf;

/// <summary>Re-writing each real asset (its metadata, then its tensors streamed from the mapped source) gives a file
/// the reader reads back identically, and the very same bytes as llama.cpp / gguf-py wrote.</summary>
public class GgufAssetRewriteTests
{
    public static TheoryData<string> AllAssetFiles => GgufAssetReaderTests.AllAssetFiles;

    [Theory]
    [MemberData(nameof(AllAssetFiles))]
    public void RewriteReadsBackIdenticallyAndIsByteIdentical(string asset)
    {
        using var dir = new TempDir();
        string source = TestAssets.Path(asset);
        string copy = dir.File("copy.gguf");
        using (var src = GgufFile.Open(source))
        {
            Rewrite(src, copy);
            using var back = GgufFile.Open(copy);
            Assert.Equal(src.Version, back.Version);
            Assert.Equal(src.Alignment, back.Alignment);
            Assert.Equal(src.DataOffset, back.DataOffset);
            GgufAssert.SameMetadata(src.Metadata.Entries, back.Metadata);
            GgufAssert.SameTensors(src.Tensors, back.Tensors);
            foreach (var t in src.Tensors)
                Assert.True(src.TensorBytes(t).SequenceEqual(back.TensorBytes(back.Tensors.Single(b => b.Name == t.Name))), t.Name);
        }
        Assert.Equal(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(source))), Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(copy))));
    }

    /// <summary>What <c>cria convert</c> / <c>quantize</c> will do: declare everything, then stream tensor by tensor.</summary>
    internal static void Rewrite(GgufFile src, string path)
    {
        using var w = new GgufWriter(path, src.Version);
        w.AddMetadata(src.Metadata.Entries);
        foreach (var t in src.Tensors) w.AddTensor(t);
        foreach (var t in src.Tensors)
        {
            using var data = src.OpenTensorStream(t);
            w.WriteTensor(t.Name, data);
        }
        w.Complete();
    }
}
