using Cria.Formats.Gguf;
using Cria.Tensors;
using Cria.Tests.Formats.Gguf.Support;

namespace Cria.Tests.Formats.Gguf;

/// <summary>Write with <see cref="GgufWriter"/>, read back with <see cref="GgufFile"/>: every value type, nested and
/// empty arrays, unicode, alignments, versions, tensor types and shapes, and the data bytes.</summary>
public class GgufWriterRoundTripTests
{
    private static readonly GgufValueType[] AllValueTypes = Enum.GetValues<GgufValueType>();

    /// <summary>One entry per value type and edge value, plus arrays of each type (empty ones too) and nested arrays.</summary>
    public static List<KeyValuePair<string, GgufValue>> EveryKindOfMetadata()
    {
        var m = new List<KeyValuePair<string, GgufValue>>();
        void Add(string key, GgufValue value) => m.Add(new(key, value));
        Add("u8.min", GgufValue.Of((byte)0));
        Add("u8.max", GgufValue.Of(byte.MaxValue));
        Add("i8.min", GgufValue.Of(sbyte.MinValue));
        Add("u16.max", GgufValue.Of(ushort.MaxValue));
        Add("i16.min", GgufValue.Of(short.MinValue));
        Add("u32.max", GgufValue.Of(uint.MaxValue));
        Add("i32.min", GgufValue.Of(int.MinValue));
        Add("f32", GgufValue.Of(1e-5f));
        Add("f32.nan", GgufValue.Of(BitConverter.Int32BitsToSingle(0x7FC00123))); // a NaN payload survives
        Add("f32.negative_zero", GgufValue.Of(-0f));
        Add("f32.infinity", GgufValue.Of(float.NegativeInfinity));
        Add("f32.subnormal", GgufValue.Of(float.Epsilon));
        Add("bool.true", GgufValue.Of(true));
        Add("bool.false", GgufValue.Of(false));
        Add("string", GgufValue.Of("llama"));
        Add("string.empty", GgufValue.Of(""));
        Add("string.unicode", GgufValue.Of("héllo wörld — 世界 🦙 ▁tok <0x0A> \u0000 after NUL"));
        Add("string.long", GgufValue.Of(new string('x', 100_000)));
        Add("u64.max", GgufValue.Of(ulong.MaxValue));
        Add("i64.min", GgufValue.Of(long.MinValue));
        Add("f64", GgufValue.Of(Math.PI));
        Add("f64.nan", GgufValue.Of(double.NaN));
        Add("ключ.名前.🔑", GgufValue.Of("unicode key"));
        Add("", GgufValue.Of("empty key"));

        Add("array.u8", GgufValue.OfArray<byte>(0, 1, 255));
        Add("array.i8", GgufValue.OfArray<sbyte>(-128, 0, 127));
        Add("array.u16", GgufValue.OfArray<ushort>(0, 65535));
        Add("array.i16", GgufValue.OfArray<short>(-32768, 32767));
        Add("array.u32", GgufValue.OfArray(0u, 4294967295u));
        Add("array.i32", GgufValue.OfArray(1, 2, 3, -1));
        Add("array.f32", GgufValue.OfArray(0.5f, -0f, float.NaN, float.MaxValue));
        Add("array.bool", GgufValue.OfArray(true, false, true));
        Add("array.string", GgufValue.OfArray("", "a", "ü🦙", "<s>"));
        Add("array.u64", GgufValue.OfArray(ulong.MaxValue, 0UL));
        Add("array.i64", GgufValue.OfArray(long.MinValue, long.MaxValue));
        Add("array.f64", GgufValue.OfArray(double.Epsilon, -1e300));
        foreach (var type in AllValueTypes)
            Add($"array.empty.{type}", GgufValue.Of(new GgufArray(type, Array.CreateInstance(GgufValueEncoder.ClrType(type)!, 0))));

        Add("nested.strings", GgufValue.OfArray(GgufArray.Of("a", "b"), GgufArray.Of<string>(), GgufArray.Of("🦙", "")));
        Add("nested.mixed", GgufValue.OfArray(GgufArray.Of(1, 2), GgufArray.Of("x"), GgufArray.Of(true), GgufArray.Of<GgufArray>()));
        Add("nested.three", GgufValue.OfArray(GgufArray.Of(GgufArray.Of(1u, 2u), GgufArray.Of<uint>()), GgufArray.Of<GgufArray>()));
        var deepest = GgufArray.Of(7u);
        for (int i = 1; i < 8; i++) deepest = GgufArray.Of(deepest); // 8 levels: the most the reader accepts
        Add("nested.eight_deep", GgufValue.Of(deepest));
        return m;
    }

    /// <summary>Tensors of many types and shapes, including a 4-D one and an empty one, with random bytes.</summary>
    public static List<(string Name, long[] Dims, GgmlType Type)> ManyTensors() =>
    [
        ("f32", [7], GgmlType.F32), ("f16", [3, 5], GgmlType.F16), ("bf16", [2, 2, 2], GgmlType.BF16),
        ("q8_0", [64, 3], GgmlType.Q8_0), ("q4_0", [32], GgmlType.Q4_0), ("q5_0", [32, 3], GgmlType.Q5_0),
        ("q4_k", [256, 2], GgmlType.Q4_K), ("q6_k", [512, 1, 1, 2], GgmlType.Q6_K), ("iq4_xs", [256], GgmlType.IQ4_XS),
        ("mxfp4", [32], GgmlType.MXFP4), ("i8", [5], GgmlType.I8), ("i32", [3], GgmlType.I32), ("f64", [1], GgmlType.F64),
        ("empty", [0, 4], GgmlType.F32), ("blk.0.attn_q.weight", [64, 64], GgmlType.Q8_0),
    ];

    [Theory]
    [InlineData(3u)]
    [InlineData(2u)]
    public void EveryValueTypeAndNestedArrays(uint version)
    {
        using var dir = new TempDir();
        var metadata = EveryKindOfMetadata();
        string path = dir.File("meta.gguf");
        using (var w = new GgufWriter(path, version))
        {
            w.AddMetadata(metadata);
            w.Complete();
        }
        using var f = GgufFile.Open(path);
        Assert.Equal(version, f.Version);
        GgufAssert.SameMetadata(metadata, f.Metadata);
        Assert.Empty(f.Tensors);
    }

    [Theory]
    [InlineData(3u, 32u)]
    [InlineData(2u, 32u)]
    [InlineData(3u, 1u)]
    [InlineData(3u, 2u)]
    [InlineData(3u, 8u)]
    [InlineData(3u, 64u)]
    [InlineData(3u, 128u)]
    [InlineData(3u, 4096u)]
    [InlineData(3u, 1u << 20)]
    [InlineData(3u, 0u)] // 0: no general.alignment key, so the default 32
    public void TensorsOfManyTypesAndShapes(uint version, uint alignment)
    {
        using var dir = new TempDir();
        var rng = new Random((int)(version * 1000 + alignment));
        var tensors = ManyTensors();
        string path = dir.File("tensors.gguf");
        var data = new Dictionary<string, byte[]>();
        using (var w = new GgufWriter(path, version))
        {
            w.AddMetadata("general.architecture", GgufValue.Of("llama"));
            if (alignment != 0) w.AddMetadata("general.alignment", GgufValue.Of(alignment));
            foreach (var (name, dims, type) in tensors)
            {
                long size = w.AddTensor(name, dims, type);
                rng.NextBytes(data[name] = new byte[size]);
            }
            foreach (var (name, _, _) in tensors) w.WriteTensor(name, data[name]);
            w.Complete();
        }

        int expectedAlignment = alignment == 0 ? 32 : (int)alignment;
        using var f = GgufFile.Open(path);
        Assert.Equal(version, f.Version);
        Assert.Equal(expectedAlignment, f.Alignment);
        Assert.Equal(0, f.DataOffset % expectedAlignment);
        Assert.Equal(tensors.Select(t => t.Name), f.Tensors.Select(t => t.Name));
        long expectedOffset = 0;
        foreach (var (t, (name, dims, type)) in f.Tensors.Zip(tensors))
        {
            Assert.Equal(dims, t.Dimensions);
            Assert.Equal(type, t.Type);
            Assert.Equal(expectedOffset, t.Offset); // back to back, each padded to the alignment
            Assert.True(f.TensorBytes(t).SequenceEqual(data[name]), name);
            expectedOffset += (t.ByteSize + expectedAlignment - 1) / expectedAlignment * expectedAlignment;
        }
        Assert.Equal(f.DataOffset + expectedOffset, f.FileLength); // the last tensor is padded too, as in llama.cpp
    }

    [Fact]
    public void StreamingInPiecesGivesTheSameFile()
    {
        using var dir = new TempDir();
        var rng = new Random(7);
        var a = new byte[4 * 1000];
        var b = new byte[34 * 40];
        rng.NextBytes(a);
        rng.NextBytes(b);

        string whole = dir.File("whole.gguf"), pieces = dir.File("pieces.gguf"), streamed = dir.File("streamed.gguf");
        Write(whole, w => { w.WriteTensor("a", a); w.WriteTensor("b", b); });
        Write(pieces, w =>
        {
            var sink = w.BeginTensor("a");
            for (int i = 0; i < a.Length; i += 333) sink.Write(a, i, Math.Min(333, a.Length - i));
            w.WriteTensor("b", s => { foreach (byte x in b) s.WriteByte(x); });
        });
        Write(streamed, w => { w.WriteTensor("a", new MemoryStream(a)); w.WriteTensor("b", new MemoryStream(b)); });

        Assert.Equal(File.ReadAllBytes(whole), File.ReadAllBytes(pieces));
        Assert.Equal(File.ReadAllBytes(whole), File.ReadAllBytes(streamed));
        using var f = GgufFile.Open(whole);
        Assert.True(f.TensorBytes(f.Tensors[1]).SequenceEqual(b));

        static void Write(string path, Action<GgufWriter> data)
        {
            using var w = new GgufWriter(path);
            w.AddTensor("a", [1000], GgmlType.F32);
            w.AddTensor("b", [32, 40], GgmlType.Q8_0);
            data(w);
            w.Complete();
        }
    }

    [Fact]
    public void BigTensorStreamsWithoutBeingHeldInMemory()
    {
        using var dir = new TempDir();
        const int chunk = 1 << 20, chunks = 32;
        string path = dir.File("big.gguf");
        var buffer = new byte[chunk];
        using (var w = new GgufWriter(path))
        {
            w.AddTensor("big", [chunk / 4, chunks], GgmlType.F32);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var sink = w.BeginTensor("big");
            for (int i = 0; i < chunks; i++)
            {
                buffer.AsSpan().Fill((byte)i);
                sink.Write(buffer);
            }
            w.Complete();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 2 << 20, $"writing {chunks} MB allocated {allocated:N0} bytes");
        }
        using var f = GgufFile.Open(path);
        var t = f.Tensors.Single();
        Assert.Equal((long)chunk * chunks, t.ByteSize);
        Assert.Equal(chunks - 1, f.TensorBytes(t)[^1]);
    }

    [Fact]
    public void FileWithoutTensorsEndsAfterItsHeader()
    {
        using var dir = new TempDir();
        string path = dir.File("vocab.gguf");
        using (var w = new GgufWriter(path))
        {
            w.AddMetadata("general.name", GgufValue.Of("odd"));
            w.Complete();
        }
        // 4 magic + 4 version + 8 + 8 counts + (8 + 12 key) + 4 type + (8 + 3 value) = 59, not padded to 32.
        Assert.Equal(59, new FileInfo(path).Length);
        using var f = GgufFile.Open(path);
        Assert.Equal("odd", f.Metadata.GetString("general.name"));
    }

    [Fact]
    public void WriterReportsTheLayoutItWillWrite()
    {
        using var dir = new TempDir();
        using var w = new GgufWriter(dir.File("x.gguf"));
        w.AddMetadata("general.alignment", GgufValue.Of(64u));
        Assert.Equal(12, w.AddTensor("a", [3], GgmlType.F32));
        Assert.Equal(18, w.AddTensor("b", [32], GgmlType.Q4_0));
        Assert.Equal(64, w.Alignment);
        Assert.Equal([0L, 64L], w.Tensors.Select(t => t.Offset));
        Assert.Equal([12L, 18L], w.Tensors.Select(t => t.ByteSize));
    }
}
