using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using Cria.Tests.Tensors;

namespace GgmlReference;

/// <summary>Writes tests/Cria.Tests/Data/ggml-q8-dot-vectors.json, llama.cpp's decode path from ggml's own CPU backend:
/// float activation rows (made by <see cref="ActivationInputs"/>, compiled from the test project) quantised by
/// <c>from_float</c> of each <c>vec_dot_type</c> (Q8_0, Q8_1, Q8_K), and the <c>vec_dot</c> of weight rows of every
/// quantised type with them, over prefixes of 1 … many blocks. Every other CPU variant this machine runs is checked
/// against the recorded one: the activation bytes must be identical, and the spread of their dot products is recorded.</summary>
internal static unsafe class DotVectors
{
    // Activation formats: (ggml id, name, block elements, block bytes, exported from_float, elements per row)
    private static readonly (int Id, string Name, int Block, int Bytes, string FromFloat, int Elements)[] ActivationTypes =
    [
        (8, "q8_0", 32, 34, "quantize_row_q8_0", 2048),
        (9, "q8_1", 32, 36, "quantize_row_q8_1", 2048),
        (15, "q8_K", 256, 292, "quantize_row_q8_K", 4096),
    ];

    private static readonly int[] Lengths32 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 33, 64];
    private static readonly int[] Lengths256 = [1, 2, 3, 4, 5, 8, 16];

    // Weight types: (ggml id, name, block elements, block bytes, fp16 scale offsets, activation id, exported vec_dot)
    private static readonly (int Id, string Name, int Block, int Bytes, int[] Scales, int Activation, string VecDot)[] WeightTypes =
    [
        (8, "q8_0", 32, 34, [0], 8, "ggml_vec_dot_q8_0_q8_0"),
        (2, "q4_0", 32, 18, [0], 8, "ggml_vec_dot_q4_0_q8_0"),
        (3, "q4_1", 32, 20, [0, 2], 9, "ggml_vec_dot_q4_1_q8_1"),
        (6, "q5_0", 32, 22, [0], 8, "ggml_vec_dot_q5_0_q8_0"),
        (7, "q5_1", 32, 24, [0, 2], 9, "ggml_vec_dot_q5_1_q8_1"),
        (10, "q2_K", 256, 84, [80, 82], 15, "ggml_vec_dot_q2_K_q8_K"),
        (11, "q3_K", 256, 110, [108], 15, "ggml_vec_dot_q3_K_q8_K"),
        (12, "q4_K", 256, 144, [0, 2], 15, "ggml_vec_dot_q4_K_q8_K"),
        (13, "q5_K", 256, 176, [0, 2], 15, "ggml_vec_dot_q5_K_q8_K"),
        (14, "q6_K", 256, 210, [208], 15, "ggml_vec_dot_q6_K_q8_K"),
    ];

    public static int Write(Ggml ggml, string libPath, string packageVersion, string primaryVariant, string outPath)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(libPath))!;
        var variants = Directory.GetFiles(dir, "libggml-cpu-*.so").Order(StringComparer.Ordinal).Select(p => new GgmlCpu(p)).ToList();
        var primary = variants.SingleOrDefault(v => v.Variant == primaryVariant)
            ?? throw new InvalidOperationException($"no libggml-cpu-{primaryVariant}.so in {dir}");
        primary.Init();

        // Activations: every case of every format, quantised by the primary variant.
        var activations = new List<Dictionary<string, object>>();
        var activationBytes = new Dictionary<(int, string), byte[]>();
        var activationInputs = new Dictionary<(int, string), float[]>();
        foreach (var a in ActivationTypes)
        {
            var from = FromFloat(primary, a.Id, a.FromFloat);
            var cases = ActivationInputs.DotCases.Concat(ActivationInputs.QuantizeOnlyCases).ToArray();
            for (int c = 0; c < cases.Length; c++)
            {
                ulong seed = 0xAC70_0000UL + (ulong)(a.Id * 16 + c);
                float[] x = ActivationInputs.Generate(cases[c], seed, a.Elements, a.Block);
                byte[] q = Quantize(from, x, a.Elements / a.Block * a.Bytes);
                activationBytes[(a.Id, cases[c])] = q;
                activationInputs[(a.Id, cases[c])] = x;
                activations.Add(new Dictionary<string, object>
                {
                    ["type"] = a.Name,
                    ["ggml_type"] = a.Id,
                    ["case"] = cases[c],
                    ["seed"] = seed,
                    ["elements"] = a.Elements,
                    ["block_elements"] = a.Block,
                    ["input_f32le_sha256"] = Sha256(x),
                    ["quantized_sha256"] = Convert.ToHexStringLower(SHA256.HashData(q)),
                    ["quantized_base64"] = Convert.ToBase64String(q),
                });
            }
        }

        // Weights: random blocks with edge-case scales, and ggml's reference quantisation of weight-like floats.
        var weights = new List<Dictionary<string, object>>();
        var weightBytes = new Dictionary<(int, string), byte[]>();
        foreach (var w in WeightTypes)
        {
            var traits = ggml.GetTraits(w.Id, w.Name, w.Block, w.Bytes, null);
            var rng = new SplitMix64(0xD07_0000UL + (ulong)w.Id);
            int blocks = ActivationTypes.Single(a => a.Id == w.Activation).Elements / w.Block;
            foreach (var (name, data) in new[]
                     {
                         ("random-blocks", WeightBlocks.Random(rng, blocks, w.Bytes, w.Scales)),
                         ("quantized", WeightBlocks.Quantize(traits, rng, blocks, w.Block)),
                     })
            {
                weightBytes[(w.Id, name)] = data;
                weights.Add(new Dictionary<string, object>
                {
                    ["type"] = w.Name, ["ggml_type"] = w.Id, ["case"] = name, ["blocks"] = blocks, ["data_base64"] = Convert.ToBase64String(data),
                });
            }
        }

        // Dot products of every weight row with every finite activation row, over prefixes of the rows.
        var dots = new List<Dictionary<string, object>>();
        var recorded = new List<(int Weight, string Weights, string Activation, int Elements, float Dot)>();
        foreach (var w in WeightTypes)
        {
            var vecDot = primary.GetDotTraits(w.Id, w.Activation, ActivationTypes.Single(a => a.Id == w.Activation).FromFloat, w.VecDot);
            int[] lengths = w.Block == 32 ? Lengths32 : Lengths256;
            foreach (string weightsCase in new[] { "random-blocks", "quantized" })
                foreach (string activationCase in ActivationInputs.DotCases)
                {
                    byte[] row = weightBytes[(w.Id, weightsCase)], act = activationBytes[(w.Activation, activationCase)];
                    var results = new List<string>();
                    foreach (int blocks in lengths)
                    {
                        float dot = Dot(vecDot, blocks * w.Block, row, act);
                        if (!float.IsFinite(dot)) // the dot cases are meant to compare finite sums (e.g. Q8_1's s must not overflow)
                            throw new InvalidOperationException($"{w.Name} {weightsCase} x {activationCase}, n = {blocks * w.Block}: vec_dot gives {dot}");
                        results.Add(Bits(dot));
                        recorded.Add((w.Id, weightsCase, activationCase, blocks * w.Block, dot));
                    }
                    dots.Add(new Dictionary<string, object>
                    {
                        ["weight_type"] = w.Name,
                        ["ggml_type"] = w.Id,
                        ["activation_type"] = ActivationTypes.Single(a => a.Id == w.Activation).Name, // type_traits_cpu[type].vec_dot_type
                        ["weights"] = weightsCase,
                        ["activations"] = activationCase,
                        ["elements"] = lengths.Select(b => b * w.Block).ToArray(),
                        ["dot_f32_bits"] = results,
                    });
                }
        }

        var checks = CheckOtherVariants(ggml, variants, primary, activationInputs, activationBytes, weightBytes, recorded);

        var doc = new Dictionary<string, object>
        {
            ["note"] = "Integer dot-product vectors made by tools/ggml-reference ('dot' mode) from ggml's CPU backend " +
                       $"libggml-cpu-{primary.Variant}.so, as llama.cpp's decode matmul runs it. 'activations': float rows from " +
                       "tests/Cria.Tests/Tensors/ActivationInputs.cs (case, seed, elements, block_elements; the sha256 of the float32 LE " +
                       "input guards against drift) and what type_traits_cpu[vec_dot_type].from_float makes of them, written into a " +
                       "zeroed buffer (ggml leaves the bsums of an all-zero Q8_K block unwritten). 'weights': random blocks with " +
                       "edge-case then random finite fp16 scales (block 0 all 0x00, block 1 all 0xFF besides the scales), and " +
                       "from_float_ref of weight-like floats. 'dots': vec_dot(n, &s, 0, weights, 0, activations, 0, 1) of the first " +
                       "'elements' of the weight row and of the activation row of that case, as float32 bit patterns. 'variants': " +
                       "every other CPU variant this machine runs, on the same inputs: whether its activation bytes are identical, " +
                       "and the largest |its dot - the recorded dot| / sum|w*x| (w, x dequantised).",
            ["library"] = new Dictionary<string, object>
            {
                ["file"] = Path.GetFileName(libPath),
                ["package"] = packageVersion,
                ["ggml_version"] = ggml.Version,
                ["ggml_commit"] = ggml.Commit,
                ["sha256"] = FileSha256(libPath),
                ["cpu_file"] = Path.GetFileName(primary.LibraryPath),
                ["cpu_sha256"] = FileSha256(primary.LibraryPath),
            },
            ["variants"] = checks,
            ["activations"] = activations,
            ["weights"] = weights,
            ["dots"] = dots,
        };
        File.WriteAllText(outPath, JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        Console.WriteLine($"wrote {activations.Count} activation rows, {weights.Count} weight rows, {recorded.Count} dot products to {outPath} " +
                          $"(ggml {ggml.Version} {ggml.Commit}, libggml-cpu-{primary.Variant}, {packageVersion})");
        foreach (var c in checks) Console.WriteLine($"  {c["variant"]}: {string.Join(", ", c.Where(kv => kv.Key != "variant").Select(kv => $"{kv.Key} {(kv.Value is List<string> l ? string.Join(" ", l) : kv.Value)}"))}");
        return 0;
    }

    /// <summary>Runs the same inputs through every other variant this CPU can run.</summary>
    private static List<Dictionary<string, object>> CheckOtherVariants(Ggml ggml, List<GgmlCpu> variants, GgmlCpu primary,
        Dictionary<(int, string), float[]> activationInputs, Dictionary<(int, string), byte[]> activationBytes,
        Dictionary<(int, string), byte[]> weightBytes,
        List<(int Weight, string Weights, string Activation, int Elements, float Dot)> recorded)
    {
        var checks = new List<Dictionary<string, object>>();
        foreach (var v in variants.Where(v => v != primary))
        {
            var check = new Dictionary<string, object> { ["variant"] = v.Variant, ["score"] = v.Score };
            checks.Add(check);
            if (v.Score == 0) continue;
            v.Init();
            var differing = new List<string>();
            foreach (var a in ActivationTypes)
            {
                var from = FromFloat(v, a.Id, a.FromFloat);
                foreach (var ((id, name), expected) in activationBytes.Where(kv => kv.Key.Item1 == a.Id))
                {
                    byte[] q = Quantize(from, activationInputs[(id, name)], expected.Length);
                    if (!q.AsSpan().SequenceEqual(expected)) differing.Add($"{a.Name}/{name}");
                }
            }
            check["activations_identical"] = differing.Count == 0;
            if (differing.Count > 0) check["activations_differing"] = differing;
            double worst = 0;
            foreach (var r in recorded)
            {
                var w = WeightTypes.Single(t => t.Id == r.Weight);
                var a = ActivationTypes.Single(t => t.Id == w.Activation);
                var traits = v.GetDotTraits(w.Id, w.Activation, a.FromFloat, w.VecDot);
                byte[] row = weightBytes[(w.Id, r.Weights)], act = activationBytes[(w.Activation, r.Activation)];
                float dot = Dot(traits, r.Elements, row, act);
                double magnitude = Magnitude(ggml.GetTraits(w.Id, w.Name, w.Block, w.Bytes, null), row, a.Id, act, r.Elements);
                double difference = dot == r.Dot ? 0 : Math.Abs((double)dot - r.Dot) / magnitude;
                if (!double.IsFinite(difference))
                    Console.Error.WriteLine($"{v.Variant}: {w.Name} {r.Weights} x {r.Activation}, n = {r.Elements}: {dot:R} vs {r.Dot:R}, sum|w*x| = {magnitude:R}");
                worst = Math.Max(worst, difference);
            }
            check["max_dot_difference_over_sum_abs"] = worst;
        }
        return checks;
    }

    private static GgmlCpu.DotTraits FromFloat(GgmlCpu cpu, int activationId, string export)
    {
        // Any weight type whose vec_dot_type is this format gives its from_float.
        var w = WeightTypes.First(t => t.Activation == activationId);
        return cpu.GetDotTraits(w.Id, activationId, export, w.VecDot);
    }

    private static byte[] Quantize(GgmlCpu.DotTraits traits, float[] x, int bytes)
    {
        byte[] y = new byte[bytes];
        fixed (float* src = x)
        fixed (byte* dst = y)
            traits.FromFloat(src, dst, x.Length);
        return y;
    }

    private static float Dot(GgmlCpu.DotTraits traits, int n, byte[] row, byte[] activations)
    {
        float s = float.NaN;
        fixed (byte* x = row)
        fixed (byte* y = activations)
            traits.VecDot(n, &s, 0, x, 0, y, 0, 1);
        return s;
    }

    /// <summary>Σ|w·x| over the first <paramref name="n"/> elements, w by ggml's to_float, x = d·q of the activation blocks.</summary>
    private static double Magnitude(Ggml.Traits weight, byte[] row, int activationId, byte[] act, int n)
    {
        float[] w = new float[n];
        fixed (byte* src = row)
        fixed (float* dst = w)
            weight.ToFloat(src, dst, n);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.Abs((double)w[i] * ActivationValue(activationId, act, i));
        return sum;
    }

    private static double ActivationValue(int id, byte[] act, int i)
    {
        var (block, bytes, qs) = id switch { 8 => (32, 34, 2), 9 => (32, 36, 4), _ => (256, 292, 4) };
        var b = act.AsSpan((i / block) * bytes);
        double d = id == 15 ? BinaryPrimitives.ReadSingleLittleEndian(b) : (double)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(b));
        return d * (sbyte)b[qs + i % block];
    }

    private static string Bits(float f) => $"0x{BitConverter.SingleToUInt32Bits(f):x8}";

    private static string Sha256(float[] x)
    {
        byte[] bytes = new byte[x.Length * 4];
        for (int i = 0; i < x.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), x[i]);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    private static string FileSha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
}
