using System.Runtime.InteropServices;
using System.Text;

namespace LlamacppQuantize;

/// <summary>llama.cpp's <c>llama_model_quantize</c> from the prebuilt libllama of @node-llama-cpp/linux-x64 (installed by
/// shared/tools/llamacpp-ref/setup.sh), bound by name at run time.</summary>
internal sealed unsafe class LlamaQuantizer
{
    public static string DefaultLibDir => Path.Combine(Environment.GetEnvironmentVariable("LLAMACPP_REF_CACHE")
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "llamacpp-ref"),
        "npm", "node_modules", "@node-llama-cpp", "linux-x64", "bins", "linux-x64");

    private readonly delegate* unmanaged<byte*, byte*> _defaultParams;
    private readonly delegate* unmanaged<byte*, byte*, byte*, uint> _quantize;

    public string LibDir { get; }
    public string LlamaLibrary { get; }

    public LlamaQuantizer(string libDir)
    {
        LibDir = libDir;
        NativeLibrary.Load(Path.Combine(libDir, "libggml-base.so"));
        NativeLibrary.Load(Path.Combine(libDir, "libggml.v0.5.0.so"));
        LlamaLibrary = Path.Combine(libDir, "libllama.v0.5.0.so");
        nint llama = NativeLibrary.Load(LlamaLibrary);
        ((delegate* unmanaged<void>)NativeLibrary.GetExport(llama, "llama_backend_init"))();
        ((delegate* unmanaged<delegate* unmanaged<int, byte*, void*, void>, void*, void>)NativeLibrary.GetExport(llama, "llama_log_set"))(&Log, null);
        _defaultParams = (delegate* unmanaged<byte*, byte*>)NativeLibrary.GetExport(llama, "llama_model_quantize_default_params");
        _quantize = (delegate* unmanaged<byte*, byte*, byte*, uint>)NativeLibrary.GetExport(llama, "llama_model_quantize");
    }

    /// <summary>When true, llama.cpp's log goes to stderr; otherwise it is dropped.</summary>
    public static bool Verbose { get; set; } = true;

    [UnmanagedCallersOnly]
    private static void Log(int level, byte* text, void* user)
    {
        if (Verbose) Console.Error.Write(Marshal.PtrToStringUTF8((nint)text));
    }

    /// <summary>llama_model_quantize(input, output, params) with the given ftype id and flags; 0 on success.</summary>
    public uint Quantize(string input, string output, int ftype, bool pure, bool allowRequantize, int threads)
    {
        // llama_model_quantize_params is returned by value through a hidden pointer (it is larger than 16 bytes), so a
        // generous buffer takes it whatever its exact size; the leading fields are checked against their defaults:
        // { int32 nthread = 0; ftype (Q5_1 = 9 in 2025, Q8_0 = 7 later); output_tensor_type = token_embedding_type =
        //   GGML_TYPE_COUNT; bool allow_requantize = false, quantize_output_tensor = true, only_copy = false, pure = false; … }
        byte* p = stackalloc byte[512];
        new Span<byte>(p, 512).Clear();
        _defaultParams(p);
        int count = *(int*)(p + 8);
        if (*(int*)p != 0 || *(int*)(p + 4) is not (7 or 9) || *(int*)(p + 12) != count || count < 30 || p[16] != 0 || p[17] != 1 || p[18] != 0 || p[19] != 0)
            throw new InvalidOperationException("llama_model_quantize_params has an unexpected layout in this library");
        *(int*)p = threads;
        *(int*)(p + 4) = ftype;
        p[16] = allowRequantize ? (byte)1 : (byte)0;
        p[19] = pure ? (byte)1 : (byte)0;
        byte[] i = Encoding.UTF8.GetBytes(input + "\0"), o = Encoding.UTF8.GetBytes(output + "\0");
        fixed (byte* ip = i)
        fixed (byte* op = o)
            return _quantize(ip, op, p);
    }
}
