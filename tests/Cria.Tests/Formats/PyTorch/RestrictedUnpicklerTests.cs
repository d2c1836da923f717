using System.IO.Compression;
using Cria.Formats.PyTorch;
using Cria.Tests.Formats.PyTorch.Support;
using Cria.Tests.Infrastructure;

namespace Cria.Tests.Formats.PyTorch;

/// <summary>The restricted unpickler: what torch.save writes is rebuilt, anything that would run code is refused by
/// name before any object is built, and hostile pickles (huge lengths, deep nesting, memo abuse, truncation,
/// corruption) fail with a clear message and bounded memory.</summary>
public class RestrictedUnpicklerTests
{
    private static object? Load(byte[] pickle) => RestrictedUnpickler.Load(pickle, "test.pkl");

    private static byte[] RealPickle(string asset = "stories260K-meta/consolidated.00.pth")
    {
        using var zip = ZipFile.OpenRead(TestAssets.Path(asset));
        var entry = zip.Entries.Single(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal));
        using var stream = entry.Open();
        var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    }

    // The classic exploit: GLOBAL module.name, then call it with a string argument.
    private static byte[] CallGlobal(string module, string name, string argument = "echo pwned") =>
        new PickleBuilder().Proto(2).Global(module, name).Unicode(argument).Op(0x85).Reduce().Stop().ToArray();

    public static TheoryData<string, string> ForbiddenGlobals => new()
    {
        { "os", "system" },
        { "posix", "system" },
        { "nt", "system" },
        { "builtins", "eval" },
        { "builtins", "exec" },
        { "__builtin__", "exec" },
        { "__builtin__", "eval" },
        { "builtins", "getattr" },
        { "builtins", "__import__" },
        { "subprocess", "Popen" },
        { "subprocess", "check_output" },
        { "runpy", "_run_code" },
        { "torch", "load" },
        { "torch.serialization", "load" },
        { "torch._tensor", "_rebuild_from_type_v2" },
        { "collections", "defaultdict" },
        { "torch", "Tensor" },
        { "numpy.core.multiarray", "_reconstruct" },
    };

    [Theory]
    [MemberData(nameof(ForbiddenGlobals))]
    public void A_forbidden_global_is_refused_by_name(string module, string name)
    {
        Rejects.Cheaply<ModelFormatException>(() => Load(CallGlobal(module, name)), $"'{module}.{name}'", "never runs code", "test.pkl");
        // Protocol 4 names globals with STACK_GLOBAL; INST (protocol 0) instantiates one.
        var stackGlobal = new PickleBuilder().Proto(4).StackGlobal(module, name).Unicode("x").Op(0x85).Reduce().Stop().ToArray();
        Rejects.Cheaply<ModelFormatException>(() => Load(stackGlobal), $"'{module}.{name}'");
        var inst = new PickleBuilder().Mark().Unicode("x").Op('i').Raw(System.Text.Encoding.UTF8.GetBytes($"{module}\n{name}\n")).Stop().ToArray();
        Rejects.Cheaply<ModelFormatException>(() => Load(inst), $"'{module}.{name}'");
    }

    [Fact]
    public void A_forbidden_global_is_refused_before_anything_is_built()
    {
        // 200,000 list items precede the call: the first pass refuses the global without building them.
        var p = new PickleBuilder().Proto(2).EmptyList().Mark();
        for (int i = 0; i < 200_000; i++) p.Int(i % 200);
        p.Op('e').Global("os", "system").Unicode("rm -rf /").Op(0x85).Reduce().Stop();
        var pickle = p.ToArray();
        Rejects.Cheaply<ModelFormatException>(() => Load(pickle), 64 << 10, "'os.system'");
    }

    [Fact]
    public void A_forbidden_global_reached_through_the_memo_is_refused_when_named()
    {
        // STACK_GLOBAL on memoized strings is not resolved by the first pass; the second refuses it as it is named.
        var pickle = new PickleBuilder().Proto(4).ShortUnicode("os").Put(0).ShortUnicode("system").Put(1).Op('0').Op('0')
            .Get(0).Get(1).Op(0x93).Unicode("x").Op(0x85).Reduce().Stop().ToArray();
        Rejects.Cheaply<ModelFormatException>(() => Load(pickle), "'os.system'");
    }

    [Fact]
    public void Real_data_pkl_of_every_fixture_is_read()
    {
        foreach (string asset in new[] { "stories260K-meta/consolidated.00.pth", "stories260K-meta/f32/consolidated.00.pth",
                     "stories260K-meta-2shard/consolidated.00.pth", "stories260K-meta-2shard/consolidated.01.pth" })
        {
            var root = Assert.IsType<PickleDict>(Load(RealPickle(asset)));
            Assert.Equal(49, root.Count);
            Assert.All(root.Items, p => Assert.IsType<TorchTensorRef>(p.Value));
        }
    }

    [Fact]
    public void OrderedDict_state_dicts_parameters_and_protocol_4_are_read()
    {
        // OrderedDict root with its _metadata attribute set by BUILD, a Parameter around a tensor, protocol 4 framing.
        var p = new PickleBuilder().Proto(4).Op(0x95).U64(0).StackGlobal("collections", "OrderedDict").EmptyTuple().Reduce().Memoize()
            .Mark().ShortUnicode("w").Global("torch._utils", "_rebuild_parameter");
        p.Mark();
        p.Tensor("FloatStorage", "0", 6, 0, [2, 3], [3, 1]).True().Global("collections", "OrderedDict").EmptyTuple().Reduce();
        p.Tuple().Reduce().SetItems();
        p.EmptyDict().ShortUnicode("_metadata").Global("collections", "OrderedDict").EmptyTuple().Reduce().SetItem().Build().Stop();
        var root = Assert.IsType<PickleDict>(Load(p.ToArray()));
        var (key, value) = Assert.Single(root.Items);
        Assert.Equal("w", key);
        var t = Assert.IsType<TorchTensorRef>(value);
        Assert.Equal([2L, 3L], t.Shape);
        Assert.Equal(TorchDtype.Float32, t.Dtype);
    }

    [Fact]
    public void Rebuild_tensor_v3_views_an_untyped_storage_with_a_dtype()
    {
        var p = new PickleBuilder().Proto(2).EmptyDict().Unicode("t").Global("torch._utils", "_rebuild_tensor_v3").Mark();
        p.Mark().Unicode("storage").Global("torch", "UntypedStorage").Unicode("0").Unicode("cpu").Int(16).Tuple().BinPersId();
        p.Int(2).IntTuple(4).IntTuple(1).False().Global("collections", "OrderedDict").EmptyTuple().Reduce().Global("torch", "bfloat16");
        p.Tuple().Reduce().SetItem().Stop();
        var t = Assert.IsType<TorchTensorRef>(Assert.IsType<PickleDict>(Load(p.ToArray())).Items.Single().Value);
        Assert.Equal(TorchDtype.BFloat16, t.Dtype);
        Assert.Equal(TorchDtype.UInt8, t.Storage.Dtype);
        Assert.Equal(16, t.Storage.ByteCount);
        Assert.Equal(2, t.StorageOffset);
    }

    [Fact]
    public void Views_of_one_storage_share_it()
    {
        var p = new PickleBuilder().Proto(2).EmptyDict().Mark();
        p.Unicode("a").Tensor("HalfStorage", "7", 16, 0, [2, 4], [4, 1]);
        p.Unicode("b").Tensor("HalfStorage", "7", 16, 8, [8], [1]);
        var root = Assert.IsType<PickleDict>(Load(p.SetItems().Stop().ToArray()));
        var tensors = root.Items.Select(i => Assert.IsType<TorchTensorRef>(i.Value)).ToArray();
        Assert.Same(tensors[0].Storage, tensors[1].Storage);
        Assert.Equal(8, tensors[1].StorageOffset);

        var conflicting = new PickleBuilder().Proto(2).EmptyDict().Mark();
        conflicting.Unicode("a").Tensor("HalfStorage", "7", 16, 0, [16], [1]).Unicode("b").Tensor("FloatStorage", "7", 8, 0, [8], [1]);
        Rejects.Cheaply<ModelFormatException>(() => Load(conflicting.SetItems().Stop().ToArray()), "storage '7'", "float16", "float32");
    }

    public static TheoryData<string, byte[], string[]> HostilePickles()
    {
        PickleBuilder P(int proto = 2) => new PickleBuilder().Proto(proto);
        var data = new TheoryData<string, byte[], string[]>
        {
            { "BINUNICODE of 4 GiB", P().Op('X').U32(uint.MaxValue).Raw("abc"u8).Stop().ToArray(), ["BINUNICODE", "4294967295 bytes"] },
            { "BINUNICODE8 of 2^62", P(4).Op(0x8d).U64(1UL << 62).Raw("abc"u8).Stop().ToArray(), ["BINUNICODE8", "4611686018427387904 bytes"] },
            { "BINBYTES8 of 2^64-1", P(4).Op(0x8e).U64(ulong.MaxValue).Stop().ToArray(), ["BINBYTES8", "declares"] },
            { "BYTEARRAY8 of 2^40", P(5).Op(0x96).U64(1UL << 40).Stop().ToArray(), ["BYTEARRAY8", "1099511627776 bytes"] },
            { "BINSTRING of negative length", P().Op('T').U32(0x80000000).Stop().ToArray(), ["BINSTRING", "-2147483648 bytes"] },
            { "LONG4 of 2 GiB", P().Op(0x8b).U32(int.MaxValue).Stop().ToArray(), ["LONG4", "2147483647-byte integer"] },
            { "LONG1 of 200 bytes", P().Op(0x8a).U8(200).Raw(new byte[200]).Stop().ToArray(), ["200-byte integer"] },
            { "FRAME of 2^63", P(4).Op(0x95).U64(1UL << 63).Stop().ToArray(), ["FRAME", "truncated"] },
            { "GLOBAL without end of line", P().Op('c').Raw("os system"u8).ToArray(), ["GLOBAL", "no end of line"] },
            { "unknown opcode", P().Op(0xff).Stop().ToArray(), ["unknown pickle opcode 0xff"] },
            { "no STOP", P().None().ToArray(), ["without a STOP", "truncated"] },
            { "empty", [], ["without a STOP"] },
            { "protocol 6", P(6).None().Stop().ToArray(), ["protocol 6"] },
            { "stack underflow", P().Reduce().Stop().ToArray(), ["empty stack"] },
            { "pop below a mark", P().None().Mark().Op(0x85).Stop().ToArray(), ["empty stack"] },
            { "close an unopened mark", P().Tuple().Stop().ToArray(), ["MARK it never opened"] },
            { "read an unset memo entry", P().Op('j').U32(0xFFFFFFFF).Stop().ToArray(), ["memo entry 4294967295", "before it is written"] },
            { "append to a dict", P().EmptyDict().None().Append().Stop().ToArray(), ["APPEND applies to a dict"] },
            { "set an item of a list", P().EmptyList().None().None().SetItem().Stop().ToArray(), ["SETITEM applies to a list"] },
            { "unhashable key", P().EmptyDict().EmptyList().None().SetItem().Stop().ToArray(), ["unhashable"] },
            { "odd dict items", P().EmptyDict().Mark().None().SetItems().Stop().ToArray(), ["not key/value pairs"] },
            { "call a string", P().Unicode("os.system").EmptyTuple().Reduce().Stop().ToArray(), ["REDUCE calls str 'os.system'"] },
            { "call a storage class", P().Global("torch", "FloatStorage").EmptyTuple().Reduce().Stop().ToArray(), ["torch.FloatStorage is not callable"] },
            { "NEWOBJ of a rebuild function", P().Global("torch._utils", "_rebuild_tensor_v2").EmptyTuple().Op(0x81).Stop().ToArray(), ["NEWOBJ"] },
            { "BUILD on a list", P().EmptyList().EmptyDict().Build().Stop().ToArray(), ["BUILD", "a list"] },
            { "EXT1", P().Op(0x82).U8(1).Stop().ToArray(), ["EXT1", "not supported"] },
            { "NEXT_BUFFER", P(5).Op(0x97).Stop().ToArray(), ["NEXT_BUFFER", "not supported"] },
            { "NEWOBJ_EX", P(4).Op(0x92).Stop().ToArray(), ["NEWOBJ_EX", "not supported"] },
            { "text persistent id", P().Op('P').Raw("0\n"u8).Stop().ToArray(), ["PERSID", "not supported"] },
            { "persistent id that is not a storage", P().Unicode("storage").Op(0x85).BinPersId().Stop().ToArray(), ["persistent id", "not ('storage'"] },
            { "storage of a forbidden type", P().Mark().Unicode("storage").Global("builtins", "open").Stop().ToArray(), ["'builtins.open'"] },
            { "storage typed by a string", P().Mark().Unicode("storage").Unicode("FloatStorage").Unicode("0").Unicode("cpu").Int(4).Tuple().BinPersId().Stop().ToArray(),
                ["storage's type is str 'FloatStorage'"] },
            { "negative storage size", P().Mark().Unicode("storage").Global("torch", "FloatStorage").Unicode("0").Unicode("cpu").Int(-4).Tuple().BinPersId().Stop().ToArray(),
                ["malformed key, location or element count"] },
            { "tensor of a non-storage", P().Global("torch._utils", "_rebuild_tensor_v2").Mark().None().Int(0).IntTuple(1).IntTuple(1).False().None().Tuple().Reduce().Stop().ToArray(),
                ["_rebuild_tensor_v2 is given None, not a storage"] },
            { "tensor with too few arguments", P().Global("torch._utils", "_rebuild_tensor_v2").EmptyTuple().Reduce().Stop().ToArray(), ["called with 0 arguments, expected 6 or 7"] },
        };
        var negative = P().Global("torch._utils", "_rebuild_tensor_v2").Mark();
        negative.Mark().Unicode("storage").Global("torch", "FloatStorage").Unicode("0").Unicode("cpu").Int(4).Tuple().BinPersId();
        negative.Int(0).Mark().Int(-1).Tuple().IntTuple(1).False().None().Tuple().Reduce().Stop();
        data.Add("negative size", negative.ToArray(), ["size holds int -1"]);
        return data;
    }

    [Theory]
    [MemberData(nameof(HostilePickles))]
    public void Hostile_pickles_fail_clearly_and_cheaply(string name, byte[] pickle, string[] says)
    {
        _ = name;
        Rejects.Cheaply<ModelFormatException>(() => Load(pickle), says.Append("test.pkl").ToArray());
    }

    [Fact]
    public void Too_many_instructions_are_refused_before_running_any()
    {
        var p = new PickleBuilder().Proto(2);
        for (int i = 0; i <= RestrictedUnpickler.MaxInstructions; i++) p.Op('N');
        var pickle = p.Stop().ToArray();
        Rejects.Cheaply<ModelFormatException>(() => Load(pickle), 64 << 10, "more than 2,000,000 pickle instructions");
    }

    [Fact]
    public void Floods_of_marks_and_memo_entries_stay_bounded()
    {
        // A million MARKs then STOP on an empty stack; a million memo writes at huge indices: bounded by the instruction cap.
        var marks = new PickleBuilder().Proto(2);
        for (int i = 0; i < 1_000_000; i++) marks.Mark();
        Rejects.Cheaply<ModelFormatException>(() => Load(marks.Stop().ToArray()), 48 << 20, "empty stack");

        var memo = new PickleBuilder().Proto(2).None();
        for (int i = 0; i < 300_000; i++) memo.Op('r').U32(uint.MaxValue - (uint)i);
        memo.Op('j').U32(uint.MaxValue).Op('j').U32(5).Stop();
        Rejects.Cheaply<ModelFormatException>(() => Load(memo.ToArray()), 64 << 20, "memo entry 5");
    }

    [Fact]
    public void A_million_nested_tuples_neither_overflow_the_stack_nor_recurse()
    {
        var p = new PickleBuilder().Proto(2).None();
        for (int i = 0; i < 1_000_000; i++) p.Op(0x85);
        var root = Assert.IsType<PickleTuple>(Load(p.Stop().ToArray()));
        Assert.Equal("a tuple of 1", Describe.Value(root));
    }

    [Fact]
    public void Every_truncation_of_a_real_pickle_fails_clearly()
    {
        var pickle = RealPickle();
        for (int length = 0; length < pickle.Length; length++)
        {
            var cut = pickle.AsSpan(0, length).ToArray();
            var e = Record.Exception(() => Load(cut));
            Assert.True(e is ModelFormatException, $"cut at {length}: {e?.GetType().Name ?? "no exception"} {e?.Message}");
            Assert.Contains("test.pkl", e!.Message);
        }
    }

    [Fact]
    public void Corrupted_real_pickles_load_or_fail_with_a_format_error()
    {
        var pickle = RealPickle();
        var random = new Random(1234);
        int failures = 0;
        for (int round = 0; round < 3000; round++)
        {
            var corrupt = (byte[])pickle.Clone();
            for (int flips = random.Next(1, 4); flips > 0; flips--) corrupt[random.Next(corrupt.Length)] = (byte)random.Next(256);
            var e = Record.Exception(() => Load(corrupt));
            if (e == null) continue;
            failures++;
            Assert.True(e is ModelFormatException, $"round {round}: {e.GetType().Name}: {e.Message}");
            Assert.DoesNotContain('\n', e.Message);
        }
        Assert.True(failures > 1000, $"only {failures} of 3000 corruptions were noticed");
    }
}
