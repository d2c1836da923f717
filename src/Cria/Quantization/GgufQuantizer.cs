using System.Diagnostics;
using Cria.Formats.Gguf;
using Cria.IO;
using Cria.Tensors;

namespace Cria.Quantization;

/// <summary>How to quantise a file.</summary>
public sealed record QuantizeOptions
{
    /// <summary>The mix, e.g. <see cref="LlamaFileType.MostlyQ4_K_M"/>.</summary>
    public required LlamaFileType FileType { get; init; }
    /// <summary>Every quantisable matrix in the mix's base type, without llama.cpp's per-tensor choices (llama-quantize <c>--pure</c>).</summary>
    public bool Pure { get; init; }
    /// <summary>Allow already-quantised input tensors, which are dequantised to float32 first (llama-quantize <c>--allow-requantize</c>).</summary>
    public bool AllowRequantize { get; init; }
    /// <summary>Threads quantising rows (0 = one per processor). The output is the same for any count.</summary>
    public int Threads { get; init; }
}

/// <summary>One tensor as it was written.</summary>
/// <param name="Index">1-based position in the output.</param>
/// <param name="Count">Tensors in the output.</param>
public sealed record QuantizedTensorReport(int Index, int Count, PlannedTensor Tensor, long SourceBytes, long OutputBytes, TimeSpan Elapsed);

/// <summary>The whole run.</summary>
public sealed record QuantizeSummary(QuantizationPlan Plan, long InputDataBytes, long OutputDataBytes, long InputFileBytes,
    long OutputFileBytes, TimeSpan Elapsed);

/// <summary>Quantises a GGUF file as llama-quantize does without an importance matrix: the same tensor types
/// (<see cref="QuantizationPlan"/>), the same blocks (each type's <see cref="IBlockFormat.Quantize"/>), the same order
/// and metadata (<see cref="OutputMetadata"/>). Tensors stream through one at a time, in chunks of rows split over
/// threads, from the memory-mapped input into <see cref="GgufWriter"/> (a temporary file renamed at the end), so memory
/// use stays at a few chunk buffers whatever the model size.</summary>
public static unsafe class GgufQuantizer
{
    /// <summary>llama.cpp's <c>GGML_QNT_VERSION</c>, written as general.quantization_version.</summary>
    public const uint QuantizationVersion = 2;

    private const long ElementsPerTask = 32 * 1024;   // about llama.cpp's chunk of 32*512 elements, a little larger
    private const long ChunkOutputBytes = 16 << 20;   // quantised bytes buffered before they are written

    /// <summary>Quantises <paramref name="inputPath"/> into <paramref name="outputPath"/>. <paramref name="onPlan"/> sees
    /// the plan before anything is written, <paramref name="onTensor"/> each tensor once it is written. Cancelling
    /// stops within one chunk of rows and leaves no output (and no temporary file).</summary>
    public static QuantizeSummary Quantize(string inputPath, string outputPath, QuantizeOptions options,
        Action<QuantizationPlan>? onPlan = null, Action<QuantizedTensorReport>? onTensor = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Threads < 0) throw new CriaException($"the thread count must be positive, got {options.Threads}");
        if (!File.Exists(inputPath)) throw new CriaException($"input file not found: '{inputPath}'");
        if (!GgufFile.HasMagic(inputPath))
            throw new CriaException($"'{inputPath}' is not a GGUF file; quantisation reads GGUF files (convert other layouts to GGUF first)");
        if (string.Equals(Path.GetFullPath(inputPath), Path.GetFullPath(outputPath), StringComparison.Ordinal))
            throw new CriaException($"the output '{outputPath}' is the input file; write to another path");

        var clock = Stopwatch.StartNew();
        using var file = GgufFile.Open(inputPath);
        var plan = QuantizationPlan.Create(file, options.FileType, options.Pure, options.AllowRequantize, inputPath);
        onPlan?.Invoke(plan);
        int threads = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;

        long inputBytes = 0, outputBytes = 0;
        using (var writer = new GgufWriter(outputPath))
        {
            writer.AddMetadata(OutputMetadata(file.Metadata, options.FileType));
            foreach (var t in plan.Tensors) writer.AddTensor(t.Source.Name, t.Source.Dimensions, t.Type);
            for (int i = 0; i < plan.Tensors.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var tensorClock = Stopwatch.StartNew();
                var t = plan.Tensors[i];
                long size = writer.Tensors[i].ByteSize;
                if (t.Convert) writer.WriteTensor(t.Source.Name, sink => Convert(file, t, threads, sink, inputPath, cancellationToken));
                else
                {
                    CheckInput(t.Source, file.TensorData(t.Source), 0, t.Source.ElementCount, inputPath);
                    using var data = file.OpenTensorStream(t.Source);
                    writer.WriteTensor(t.Source.Name, data);
                }
                inputBytes += t.Source.ByteSize;
                outputBytes += size;
                onTensor?.Invoke(new QuantizedTensorReport(i + 1, plan.Tensors.Count, t, t.Source.ByteSize, size, tensorClock.Elapsed));
            }
            cancellationToken.ThrowIfCancellationRequested();
            writer.Complete();
        }
        return new QuantizeSummary(plan, inputBytes, outputBytes, file.FileLength, new FileInfo(outputPath).Length, clock.Elapsed);
    }

    /// <summary>The output metadata, as llama-quantize makes it: every input key in order, without the split keys,
    /// and with general.quantization_version and general.file_type removed and appended last (gguf_set_val_u32
    /// removes a key before adding it).</summary>
    public static IEnumerable<KeyValuePair<string, GgufValue>> OutputMetadata(GgufMetadata input, LlamaFileType fileType)
    {
        string[] dropped = ["general.quantization_version", "general.file_type", "split.no", "split.count", "split.tensors.count"];
        foreach (var entry in input.Entries)
            if (!dropped.Contains(entry.Key)) yield return entry;
        yield return new("general.quantization_version", GgufValue.Of(QuantizationVersion));
        yield return new("general.file_type", GgufValue.Of((uint)fileType));
    }

    // Converts one tensor chunk by chunk: each chunk's rows are split into tasks of about ElementsPerTask elements,
    // quantised on the thread pool into one buffer, checked, and written in order.
    private static void Convert(GgufFile file, PlannedTensor t, int threads, Stream sink, string fileName, CancellationToken cancellationToken)
    {
        long columns = t.Source.Dimensions[0];
        if (t.Source.ElementCount == 0) return; // an empty tensor has no data
        long rows = t.Source.ElementCount / columns;
        var from = TensorTypeInfo.Get(t.Source.Type);
        var to = TensorTypeInfo.Get(t.Type);
        var source = BlockKernels.Get(t.Source.Type, t.Source.Name);
        var target = BlockKernels.Get(t.Type, t.Source.Name);
        long sourceRowBytes = from.RowBytes(columns), targetRowBytes = to.RowBytes(columns);
        long taskRows = Math.Max(1, ElementsPerTask / columns);
        long chunkRows = Math.Max(taskRows, ChunkOutputBytes / targetRowBytes / taskRows * taskRows);
        byte* input = file.TensorData(t.Source);
        bool floatInput = t.Source.Type == GgmlType.F32;

        using var output = new NativeBuffer((Math.Min(chunkRows, rows) * targetRowBytes + 3) / 4, clear: false);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancellationToken };
        for (long first = 0; first < rows; first += chunkRows)
        {
            long chunk = Math.Min(chunkRows, rows - first);
            long tasks = (chunk + taskRows - 1) / taskRows;
            var failures = new string?[tasks];
            byte* chunkOutput = (byte*)output.Pointer;
            long chunkFirst = first;
            Parallel.For(0L, tasks, parallel,
                () => floatInput ? null : new NativeBuffer(columns, clear: false),
                (task, _, scratch) =>
                {
                    long begin = chunkFirst + task * taskRows, end = Math.Min(chunkFirst + chunk, begin + taskRows);
                    for (long row = begin; row < end && failures[task] is null; row++)
                    {
                        byte* rowInput = input + row * sourceRowBytes;
                        failures[task] = InputProblem(t.Source, rowInput, row, columns, fileName);
                        if (failures[task] is not null) break;
                        float* x = (float*)rowInput;
                        if (scratch is not null)
                        {
                            source.Dequantize(rowInput, scratch.Pointer, columns);
                            x = scratch.Pointer;
                        }
                        byte* y = chunkOutput + (row - chunkFirst) * targetRowBytes;
                        target.Quantize(x, y, columns);
                        long bad = TensorDataValidator.FindInvalid(t.Type, y, TensorDataValidator.Units(t.Type, columns));
                        if (bad >= 0)
                            failures[task] = $"tensor '{t.Source.Name}': quantising it to {to.Name} gives a non-finite value in row {row} " +
                                             $"({(to.BlockElements > 1 ? $"the fp16 scale of block {bad}: a value there is too large for {to.Name}" : $"column {bad}: the value is too large for {to.Name}")}); " +
                                             "llama-quantize's validation rejects this too";
                    }
                    return scratch;
                },
                scratch => scratch?.Dispose());
            if (failures.FirstOrDefault(f => f is not null) is { } failure) throw new CriaException(failure);
            WriteLong(sink, chunkOutput, chunk * targetRowBytes);
        }
    }

    private static void CheckInput(GgufTensorInfo tensor, byte* data, long row, long elements, string fileName)
    {
        if (InputProblem(tensor, data, row, elements, fileName) is { } problem) throw new CriaException(problem);
    }

    // llama-quantize loads every tensor with validation (check_tensors), so it refuses NaN/inf weights and blocks
    // with non-finite scales; so does Cria, naming the place.
    private static string? InputProblem(GgufTensorInfo tensor, byte* data, long row, long elements, string fileName)
    {
        if (!TensorTypeInfo.TryGet(tensor.Type, out var info)) return null;
        long bad = TensorDataValidator.FindInvalid(tensor.Type, data, TensorDataValidator.Units(tensor.Type, elements));
        if (bad < 0) return null;
        string where = info.BlockElements > 1 ? $"block {bad} has a non-finite fp16 scale" : $"element {bad} is NaN or infinite";
        return $"'{fileName}': tensor '{tensor.Name}' has invalid data ({(elements == tensor.ElementCount ? "" : $"row {row}, ")}{where}); " +
               "llama-quantize refuses such input too";
    }

    private static void WriteLong(Stream sink, byte* data, long length)
    {
        for (long done = 0; done < length;)
        {
            int piece = (int)Math.Min(length - done, 1 << 30);
            sink.Write(new ReadOnlySpan<byte>(data + done, piece));
            done += piece;
        }
    }
}
