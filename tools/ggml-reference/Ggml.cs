using System.Runtime.InteropServices;

namespace GgmlReference;

/// <summary>The parts of libggml-base.so the generator calls, bound by name at run time.</summary>
internal sealed unsafe class Ggml
{
    // struct ggml_type_traits (ggml.h): { const char* type_name; int64_t blck_size; int64_t blck_size_interleave;
    // size_t type_size; bool is_quantized; ggml_to_float_t to_float; ggml_from_float_t from_float_ref; }
    [StructLayout(LayoutKind.Sequential)]
    private struct TypeTraits
    {
        public byte* TypeName;
        public long BlockSize;
        public long BlockSizeInterleave;
        public nuint TypeSize;
        public byte IsQuantized;
        public delegate* unmanaged<void*, float*, long, void> ToFloat;
        public delegate* unmanaged<float*, void*, long, void> FromFloatRef;
    }

    public sealed class Traits(string name, long blockSize, long typeSize, nint toFloat, nint fromFloatRef)
    {
        public string Name => name;
        public long BlockSize => blockSize;
        public long TypeSize => typeSize;
        public bool HasToFloat => toFloat != 0;
        public bool HasFromFloat => fromFloatRef != 0;
        public delegate* unmanaged<void*, float*, long, void> ToFloat => (delegate* unmanaged<void*, float*, long, void>)toFloat;
        public delegate* unmanaged<float*, void*, long, void> FromFloatRef => (delegate* unmanaged<float*, void*, long, void>)fromFloatRef;
    }

    private readonly nint _lib;
    private readonly delegate* unmanaged<int, TypeTraits*> _getTypeTraits;
    // size_t ggml_quantize_chunk(enum ggml_type type, const float * src, void * dst, int64_t start, int64_t nrows,
    //                            int64_t n_per_row, const float * imatrix): what llama-quantize calls for every tensor.
    private readonly delegate* unmanaged<int, float*, void*, long, long, long, float*, nuint> _quantizeChunk;
    // bool ggml_validate_row_data(enum ggml_type type, const void * data, size_t nbytes): llama-quantize's check.
    private readonly delegate* unmanaged<int, void*, nuint, byte> _validateRowData;

    public string LibraryPath { get; }
    public string Version { get; }
    public string Commit { get; }

    public Ggml(string path)
    {
        LibraryPath = path;
        _lib = NativeLibrary.Load(path);
        _getTypeTraits = (delegate* unmanaged<int, TypeTraits*>)NativeLibrary.GetExport(_lib, "ggml_get_type_traits");
        _quantizeChunk = (delegate* unmanaged<int, float*, void*, long, long, long, float*, nuint>)NativeLibrary.GetExport(_lib, "ggml_quantize_chunk");
        _validateRowData = (delegate* unmanaged<int, void*, nuint, byte>)NativeLibrary.GetExport(_lib, "ggml_validate_row_data");
        Version = Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)NativeLibrary.GetExport(_lib, "ggml_version"))()) ?? "";
        Commit = Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)NativeLibrary.GetExport(_lib, "ggml_commit"))()) ?? "";
    }

    /// <summary>ggml_quantize_chunk without an importance matrix over <paramref name="rows"/> rows of
    /// <paramref name="rowLength"/> floats: the blocks llama-quantize writes.</summary>
    public byte[] QuantizeChunk(int type, float[] src, long rows, long rowLength, long rowBytes)
    {
        byte[] dst = new byte[rows * rowBytes];
        fixed (float* x = src)
        fixed (byte* y = dst)
        {
            nuint written = _quantizeChunk(type, x, y, 0, rows, rowLength, null);
            if ((long)written != dst.Length) throw new InvalidOperationException($"ggml_quantize_chunk wrote {written} bytes, expected {dst.Length}");
        }
        return dst;
    }

    /// <summary>ggml_validate_row_data: false where llama-quantize would reject the data (NaN/inf values or scales).</summary>
    public bool ValidateRowData(int type, byte[] data)
    {
        fixed (byte* p = data) return _validateRowData(type, p, (nuint)data.Length) != 0;
    }

    /// <summary>The traits of <paramref name="type"/>, checked against what the caller expects, so a different struct
    /// layout or library fails loudly instead of calling through a wrong pointer.</summary>
    public Traits GetTraits(int type, string expectedName, int expectedBlock, int expectedBytes, string? exportedToFloat)
    {
        TypeTraits* t = _getTypeTraits(type);
        string name = Marshal.PtrToStringUTF8((nint)t->TypeName) ?? "";
        if (name != expectedName || t->BlockSize != expectedBlock || (long)t->TypeSize != expectedBytes)
            throw new InvalidOperationException($"ggml type {type}: traits say '{name}', block {t->BlockSize}, {t->TypeSize} bytes; " +
                                                $"expected '{expectedName}', {expectedBlock}, {expectedBytes} (struct layout or library changed?)");
        // F32 has no to_float in ggml (the data already is float32); every other type must have one.
        if (t->ToFloat == null && type != 0) throw new InvalidOperationException($"ggml type {name} has no to_float");
        if (exportedToFloat != null && (nint)t->ToFloat != NativeLibrary.GetExport(_lib, exportedToFloat))
            throw new InvalidOperationException($"ggml type {name}: traits.to_float is not {exportedToFloat}");
        if (t->FromFloatRef == null && type != 0) throw new InvalidOperationException($"ggml type {name} has no from_float_ref");
        return new Traits(name, t->BlockSize, (long)t->TypeSize, (nint)t->ToFloat, (nint)t->FromFloatRef);
    }
}
