using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using GgmlReference;

// Writes tests/Cria.Tests/Data/ggml-dequant-vectors.json: blocks of every type Cria supports and the sha256 of
// ggml's own to_float output for them. See README.md for provenance and the command line.

string libPath = Environment.GetEnvironmentVariable("GGML_BASE_LIB") ?? Path.Combine(
    Environment.GetEnvironmentVariable("LLAMACPP_REF_CACHE") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "llamacpp-ref"),
    "npm", "node_modules", "@node-llama-cpp", "linux-x64", "bins", "linux-x64", "libggml-base.so");
// "quantize" as the first argument writes the quantisation fixture (QuantizeVectors.cs), "dot" the integer dot-product
// fixture (DotVectors.cs), instead.
string mode = args.Length > 0 && args[0] is "quantize" or "dot" ? args[0] : "dequant";
string outPath = mode switch { "quantize" => "ggml-quantize-vectors.json", "dot" => "ggml-q8-dot-vectors.json", _ => "ggml-dequant-vectors.json" };
string cpuVariant = "haswell"; // dot mode: the CPU backend whose kernels the fixture records (AVX2, FMA, F16C)
for (int a = mode == "dequant" ? 0 : 1; a < args.Length; a++)
{
    if (args[a] == "--lib") libPath = args[++a];
    else if (args[a] == "--out") outPath = args[++a];
    else if (args[a] == "--cpu-variant" && mode == "dot") cpuVariant = args[++a];
    else { Console.Error.WriteLine("usage: GgmlReference [quantize | dot [--cpu-variant haswell]] [--lib libggml-base.so] [--out file.json]"); return 2; }
}

var ggml = new Ggml(libPath);
string packageVersion = ReadPackageVersion(libPath);
if (mode == "quantize") return QuantizeVectors.Write(ggml, libPath, packageVersion, outPath);
if (mode == "dot") return DotVectors.Write(ggml, libPath, packageVersion, cpuVariant, outPath);

// (ggml id, name, block elements, block bytes, exported to_float, offsets of the fp16 scale fields, blocks of random bytes, quantised blocks)
var types = new (int Id, string Name, int Block, int Bytes, string? Export, int[] Scales, int RandomBlocks, int QuantizedBlocks)[]
{
    (0, "f32", 1, 4, null, [], 0, 0),
    (1, "f16", 1, 2, "ggml_fp16_to_fp32_row", [], 0, 0),
    (30, "bf16", 1, 2, "ggml_bf16_to_fp32_row", [], 0, 0),
    (8, "q8_0", 32, 34, "dequantize_row_q8_0", [0], 40, 24),
    (2, "q4_0", 32, 18, "dequantize_row_q4_0", [0], 48, 24),
    (3, "q4_1", 32, 20, "dequantize_row_q4_1", [0, 2], 48, 24),
    (6, "q5_0", 32, 22, "dequantize_row_q5_0", [0], 48, 24),
    (7, "q5_1", 32, 24, "dequantize_row_q5_1", [0, 2], 48, 24),
    (10, "q2_K", 256, 84, "dequantize_row_q2_K", [80, 82], 12, 6),
    (11, "q3_K", 256, 110, "dequantize_row_q3_K", [108], 12, 6),
    (12, "q4_K", 256, 144, "dequantize_row_q4_K", [0, 2], 12, 6),
    (13, "q5_K", 256, 176, "dequantize_row_q5_K", [0, 2], 12, 6),
    (14, "q6_K", 256, 210, "dequantize_row_q6_K", [208], 12, 6),
};

var cases = new List<Dictionary<string, object>>();
foreach (var t in types)
{
    var traits = ggml.GetTraits(t.Id, t.Name, t.Block, t.Bytes, t.Export);
    var rng = new SplitMix64(0xC41A_0000UL + (ulong)t.Id);
    if (t.Block == 1)
    {
        if (t.Bytes == 2) cases.Add(Case(traits, t.Id, "all-bit-patterns", AllU16(), storeData: false, generator: "u16-all"));
        byte[] randomBits = new byte[256 * t.Bytes];
        rng.Fill(randomBits);
        cases.Add(Case(traits, t.Id, "random-bits", randomBits, storeData: true));
        if (traits.HasFromFloat) cases.Add(Case(traits, t.Id, "quantized", WeightBlocks.Quantize(traits, rng, 8, 32), storeData: true));
        continue;
    }
    cases.Add(Case(traits, t.Id, "random-blocks", WeightBlocks.Random(rng, t.RandomBlocks, t.Bytes, t.Scales), storeData: true));
    cases.Add(Case(traits, t.Id, "quantized", WeightBlocks.Quantize(traits, rng, t.QuantizedBlocks, t.Block), storeData: true));
}

var doc = new Dictionary<string, object>
{
    ["note"] = "Dequantisation vectors made by tools/ggml-reference: block bytes (base64) and the sha256 of ggml's own " +
               "type_traits.to_float output as float32 little-endian. 'random-blocks' are random bytes with finite fp16 scales " +
               "(zero, negative, subnormal, largest) written over the scale fields; the first block has every quant byte 0x00, " +
               "the second 0xFF. 'quantized' blocks are ggml's from_float_ref of deterministic pseudo-random floats. " +
               "'all-bit-patterns' is every uint16 0..65535 little-endian (not stored). first8/last4 are float32 bit patterns.",
    ["library"] = new Dictionary<string, object>
    {
        ["file"] = Path.GetFileName(libPath),
        ["package"] = packageVersion,
        ["ggml_version"] = ggml.Version,
        ["ggml_commit"] = ggml.Commit,
        ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(libPath))),
    },
    ["cases"] = cases,
};
File.WriteAllText(outPath, JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }) + "\n");
Console.WriteLine($"wrote {cases.Count} cases to {outPath} (ggml {ggml.Version} {ggml.Commit}, {packageVersion})");
return 0;

static unsafe Dictionary<string, object> Case(Ggml.Traits traits, int id, string name, byte[] data, bool storeData, string? generator = null)
{
    long n = data.Length / traits.TypeSize * traits.BlockSize;
    float[] y = new float[n];
    fixed (byte* src = data)
    fixed (float* dst = y)
    {
        if (traits.HasToFloat) traits.ToFloat(src, dst, n);
        else Buffer.MemoryCopy(src, dst, n * 4, n * 4); // f32: ggml uses the data as it is
    }
    byte[] bytes = new byte[n * 4];
    for (long i = 0; i < n; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan((int)i * 4), y[i]);
    var c = new Dictionary<string, object>
    {
        ["type"] = traits.Name,
        ["ggml_type"] = id,
        ["case"] = name,
        ["elements"] = n,
        ["dequant_f32le_sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes)),
        ["first8"] = y.Take(8).Select(Bits).ToArray(),
        ["last4"] = y.Skip((int)n - 4).Select(Bits).ToArray(),
    };
    if (storeData) c["data_base64"] = Convert.ToBase64String(data);
    if (generator != null) c["generator"] = generator;
    return c;
}

static string Bits(float f) => $"0x{BitConverter.SingleToUInt32Bits(f):x8}";

static byte[] AllU16()
{
    byte[] data = new byte[65536 * 2];
    for (int i = 0; i < 65536; i++) BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(2 * i), (ushort)i);
    return data;
}

static string ReadPackageVersion(string libPath)
{
    for (var dir = new FileInfo(libPath).Directory; dir != null; dir = dir.Parent)
    {
        string pkg = Path.Combine(dir.FullName, "package.json");
        if (!File.Exists(pkg)) continue;
        using var json = JsonDocument.Parse(File.ReadAllText(pkg));
        return $"{json.RootElement.GetProperty("name").GetString()}@{json.RootElement.GetProperty("version").GetString()}";
    }
    return "unknown";
}

/// <summary>SplitMix64: a fixed, documented generator, so the fixture is reproducible on any .NET version.</summary>
internal sealed class SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public void Fill(byte[] data)
    {
        for (int i = 0; i < data.Length; i++) data[i] = (byte)Next();
    }

    public ushort FiniteHalf()
    {
        while (true)
        {
            ushort h = (ushort)Next();
            if ((h & 0x7C00) != 0x7C00) return h;
        }
    }

    public float Uniform() => (Next() >> 40) * (1f / (1 << 24));

    /// <summary>Irwin–Hall approximation of a standard normal (sum of 12 uniforms − 6): deterministic, no libm.</summary>
    public float Normal()
    {
        float s = 0;
        for (int i = 0; i < 12; i++) s += Uniform();
        return s - 6;
    }
}
