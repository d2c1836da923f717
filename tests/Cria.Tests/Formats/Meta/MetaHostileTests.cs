using Cria.Formats.Meta;
using Cria.Tests.Formats.Meta.Support;
using Cria.Tests.Formats.PyTorch.Support;
using Tensor = Cria.Tests.Formats.PyTorch.Support.TorchCheckpoint.Tensor;

namespace Cria.Tests.Formats.Meta;

/// <summary>Broken Meta checkpoint folders, each a copy of a fixture broken one way: shards that disagree, a missing
/// shard, bad params.json, tensors Cria cannot use. Each fails with a <see cref="CriaException"/> naming the folder or
/// file and the problem, quickly and in bounded memory.</summary>
public class MetaHostileTests
{
    private const string Single = "stories260K-meta", Sharded = "stories260K-meta-2shard";

    private static IEnumerable<Tensor> Change(List<Tensor> tensors, string name, Func<Tensor, Tensor?> change) =>
        tensors.Select(t => t.Name == name ? change(t) : t).Where(t => t != null)!;

    private static Action<MetaFolder> Shard(int index, string name, Func<Tensor, Tensor?> change) =>
        f => f.RewriteShard(index, ts => Change(ts, name, change));

    private static Action<MetaFolder> Params(string json) => f => f.WriteParams(json);

    // The fixture's params.json with one field replaced (or added, or left out); as json.dump writes it.
    private static string ParamsWith(string field) => ParamsJson(field, null);

    private static string ParamsWithout(string key) => ParamsJson(null, key);

    private static string ParamsJson(string? field, string? without)
    {
        var fields = new List<string> { "\"dim\": 64", "\"n_layers\": 5", "\"n_heads\": 8", "\"n_kv_heads\": 4", "\"vocab_size\": 512", "\"multiple_of\": 4" };
        string Key(string f) => f[..(f.IndexOf(':'))];
        if (field != null) fields = fields.Where(f => Key(f) != Key(field)).Append(field).ToList();
        if (without != null) fields.RemoveAll(f => Key(f) == $"\"{without}\"");
        return "{" + string.Join(", ", fields) + "}";
    }

    private static byte[] Flipped(byte[] bytes, int at)
    {
        var copy = (byte[])bytes.Clone();
        copy[at] ^= 1;
        return copy;
    }

    public static TheoryData<string, string, Action<MetaFolder>, string[]> Cases() => new()
    {
        // Shards that do not fit together.
        { "norm differs", Sharded, Shard(1, "layers.2.ffn_norm.weight", t => t with { Storage = Flipped(t.Storage, 5) }),
            ["replicated tensor 'layers.2.ffn_norm.weight' differs between consolidated.00.pth and consolidated.01.pth"] },
        { "final norm shape differs", Sharded, Shard(1, "norm.weight", t => t with { Shape = [63], Storage = t.Storage[..126] }),
            ["'norm.weight' differs in shape", "63 in consolidated.01.pth"] },
        { "row-split columns disagree", Sharded, Shard(1, "layers.3.attention.wq.weight", t => t with { Shape = [32, 48], Storage = t.Storage[..(32 * 48 * 2)] }),
            ["'layers.3.attention.wq.weight' is split by rows", "column count", "32 x 48 in consolidated.01.pth"] },
        { "column-split rows disagree", Sharded, Shard(1, "layers.1.feed_forward.w2.weight", t => t with { Shape = [60, 86], Storage = t.Storage[..(60 * 86 * 2)] }),
            ["'layers.1.feed_forward.w2.weight' is split by columns", "row count", "60 x 86 in consolidated.01.pth"] },
        { "shards of different dtypes", Sharded, Shard(1, "layers.0.attention.wk.weight", t => t with { StorageType = "HalfStorage" }),
            ["'layers.0.attention.wk.weight' is bfloat16 in consolidated.00.pth but float16 in consolidated.01.pth"] },
        { "embedding split neither way", Sharded, Shard(1, "tok_embeddings.weight", t => t with { Shape = [512, 16], Storage = t.Storage[..(512 * 16 * 2)] }),
            ["'tok_embeddings.weight'", "split neither the embedding dimension 64", "nor the vocabulary"] },
        { "tensor missing in one shard", Sharded, Shard(1, "layers.1.ffn_norm.weight", _ => null),
            ["consolidated.01.pth does not hold the same tensors as consolidated.00.pth", "lacks layers.1.ffn_norm.weight"] },
        { "missing last shard", Sharded, f => File.Delete(f.Shard(1)),
            ["feed-forward width of 172", "has 86 rows", "172 is 2 x 86", "shards missing"] },
        { "missing middle shard", Sharded, f => { File.Copy(f.Shard(1), f.Shard(2)); File.Copy(f.Shard(0), f.Shard(3)); File.Delete(f.Shard(1)); },
            ["shard 01 (consolidated.01.pth) is missing", "consolidated.02.pth"] },
        { "no shard at all", Single, f => File.Delete(f.Shard(0)), ["no consolidated.NN.pth"] },
        { "stray pth", Single, f => File.Copy(f.Shard(0), f.File("backup.pth")), ["'backup.pth' is not named like a shard"] },
        { "shard that is not a zip", Single, f => File.WriteAllText(f.Shard(0), "not a checkpoint"), ["consolidated.00.pth", "not a torch.save checkpoint"] },

        // params.json.
        { "no params.json", Single, f => File.Delete(f.File("params.json")), ["params.json", "not found"] },
        { "params not JSON", Single, Params("{\"dim\": 64, "), ["params.json", "not valid JSON"] },
        { "params an array", Single, Params("[64, 5, 8]"), ["params.json", "expected a JSON object"] },
        { "params empty", Single, Params(""), ["params.json", "not valid JSON"] },
        { "params nested deeply", Single, Params(ParamsWith("\"x\": " + new string('[', 100) + new string(']', 100))), ["not valid JSON"] },
        { "params of 2 MB", Single, Params(ParamsWith("\"x\": \"" + new string('a', 2 << 20) + "\"")), ["params.json", "too large"] },
        { "dim missing", Single, Params(ParamsWithout("dim")), ["required field 'dim' is missing"] },
        { "n_layers missing", Single, Params(ParamsWithout("n_layers")), ["required field 'n_layers' is missing"] },
        { "dim negative", Single, Params(ParamsWith("\"dim\": -64")), ["'dim' = -64, outside"] },
        { "dim a string", Single, Params(ParamsWith("\"dim\": \"64\"")), ["'dim' = \"64\", which is not an integer"] },
        { "dim fractional", Single, Params(ParamsWith("\"dim\": 64.5")), ["'dim' = 64.5, which is not an integer"] },
        { "dim 2^40", Single, Params(ParamsWith("\"dim\": 1099511627776")), ["'dim' = 1099511627776, outside"] },
        { "n_heads not dividing dim", Single, Params(ParamsWith("\"n_heads\": 7")), ["'n_heads' = 7 does not divide dim 64"] },
        { "n_kv_heads not dividing", Single, Params(ParamsWith("\"n_kv_heads\": 3")), ["'n_kv_heads' = 3 does not divide n_heads 8"] },
        { "n_kv_heads absent", Single, Params(ParamsWithout("n_kv_heads")),
            ["'layers.0.attention.wk.weight' is 32 x 64", "n_kv_heads 8", "needs 64 x 64"] },
        { "n_layers too few", Single, Params(ParamsWith("\"n_layers\": 4")), ["'layers.4.attention.wq.weight' is not part of Meta's Llama layout", "n_layers 4"] },
        { "n_layers too many", Single, Params(ParamsWith("\"n_layers\": 6")), ["tensor 'layers.5.attention.wq.weight' is missing", "n_layers 6"] },
        { "vocab_size wrong", Single, Params(ParamsWith("\"vocab_size\": 32000")), ["vocab_size 32000", "tok_embeddings.weight has 512 rows"] },
        { "vocab_size zero", Single, Params(ParamsWith("\"vocab_size\": 0")), ["'vocab_size' = 0"] },
        { "multiple_of changes the width", Single, Params(ParamsWith("\"multiple_of\": 3")), ["feed-forward width of 171", "multiple_of 3", "has 172 rows"] },
        { "ffn_dim_multiplier changes the width", Single, Params(ParamsWith("\"ffn_dim_multiplier\": 1.3")), ["feed-forward width of 224", "ffn_dim_multiplier 1.3"] },
        { "ffn_dim_multiplier negative", Single, Params(ParamsWith("\"ffn_dim_multiplier\": -1")), ["'ffn_dim_multiplier' = -1, outside"] },
        { "norm_eps zero", Single, Params(ParamsWith("\"norm_eps\": 0")), ["'norm_eps' = 0, outside"] },
        { "rope_theta negative", Single, Params(ParamsWith("\"rope_theta\": -10000")), ["'rope_theta' = -10000, outside"] },
        { "use_scaled_rope a string", Single, Params(ParamsWith("\"use_scaled_rope\": \"yes\"")), ["'use_scaled_rope' = \"yes\", which is not true or false"] },
        { "max_seq_len zero", Single, Params(ParamsWith("\"max_seq_len\": 0")), ["'max_seq_len' = 0, outside"] },

        // Tensors Cria cannot use.
        { "unknown tensor", Single, f => f.RewriteShard(0, ts => ts.Append(ts[^1] with { Name = "lora.A.weight", Key = "lora" })),
            ["tensor 'lora.A.weight' is not part of Meta's Llama layout"] },
        { "int64 weight", Single, Shard(0, "layers.0.attention.wq.weight", t => t with { StorageType = "LongStorage", Shape = [64, 16] }),
            ["'layers.0.attention.wq.weight' is int64", "bfloat16, float16 or float32"] },
        { "transposed weight", Single, Shard(0, "layers.0.attention.wo.weight", t => t with { Stride = [1, 64] }),
            ["'layers.0.attention.wo.weight' is not contiguous row-major", "stride [1, 64]"] },
        { "3-D weight", Single, Shard(0, "layers.0.attention.wq.weight", t => t with { Shape = [8, 8, 64] }),
            ["'layers.0.attention.wq.weight'", "expected 2 dimensions"] },
        { "empty weight", Single, Shard(0, "layers.0.attention.wq.weight", t => t with { Shape = [0, 64] }), ["'layers.0.attention.wq.weight'", "is empty"] },
        { "forbidden global in a shard", Single, f => File.WriteAllBytes(f.Shard(0), Exploit()), ["consolidated.00.pth", "'posix.system'", "never runs code"] },
    };

    private static byte[] Exploit()
    {
        var zip = new ZipBuilder();
        zip.Add("consolidated.00/data.pkl", new PickleBuilder().Proto(2).Global("posix", "system").Unicode("echo pwned > pwned.txt").Op(0x85).Reduce().Stop().ToArray());
        return zip.ToArray();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Broken_checkpoints_fail_clearly_and_cheaply(string name, string asset, Action<MetaFolder> breakIt, string[] says)
    {
        _ = name;
        using var folder = MetaFolder.CopyOf(asset);
        breakIt(folder);
        // params.json of 2 MB is refused by size before it is read.
        var e = Rejects.Cheaply<CriaException>(() => MetaCheckpointReader.Open(folder.Path, weightsOnly: true).Dispose(), says);
        Assert.Contains(folder.Path, e.Message);
    }

    [Fact]
    public void Corrupted_shards_open_or_fail_with_a_clear_error()
    {
        // Flips in the pickle (the first 5 KB) and the zip directory (the last 4 KB), where the structure is.
        using var folder = MetaFolder.CopyOf(Single);
        var valid = File.ReadAllBytes(folder.Shard(0));
        var random = new Random(7);
        int failures = 0;
        for (int round = 0; round < 400; round++)
        {
            var corrupt = (byte[])valid.Clone();
            for (int flips = random.Next(1, 4); flips > 0; flips--)
            {
                int at = random.Next(2) == 0 ? random.Next(5000) : valid.Length - 1 - random.Next(4096);
                corrupt[at] = (byte)random.Next(256);
            }
            File.WriteAllBytes(folder.Shard(0), corrupt);
            var e = Record.Exception(() => MetaCheckpointReader.Open(folder.Path, weightsOnly: true).Dispose());
            if (e == null) continue;
            failures++;
            Assert.True(e is CriaException, $"round {round}: {e.GetType().Name}: {e}");
            Assert.DoesNotContain('\n', e.Message);
        }
        Assert.True(failures > 100, $"only {failures} of 400 corruptions were noticed");
    }
}
