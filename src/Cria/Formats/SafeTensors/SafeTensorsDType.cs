using Cria.Tensors;

namespace Cria.Formats.SafeTensors;

/// <summary>Element types a safetensors header names, declared in the reference library's order (huggingface/safetensors
/// <c>Dtype</c>): increasing alignment, so its writer's "descending dtype, then name" layout order is this enum's.</summary>
public enum SafeTensorsDType
{
    BOOL,
    F4,
    F6_E2M3,
    F6_E3M2,
    U8,
    I8,
    F8_E5M2,
    F8_E4M3,
    F8_E8M0,
    F8_E4M3FNUZ,
    F8_E5M2FNUZ,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    C64,
    F64,
    I64,
    U64,
}

/// <summary>Sizes and names of <see cref="SafeTensorsDType"/> values.</summary>
public static class SafeTensorsDTypes
{
    /// <summary>Width of one element in bits (BOOL is a byte; F4 and F6 pack below a byte).</summary>
    public static int Bits(this SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.F4 => 4,
        SafeTensorsDType.F6_E2M3 or SafeTensorsDType.F6_E3M2 => 6,
        SafeTensorsDType.BOOL or SafeTensorsDType.U8 or SafeTensorsDType.I8 or SafeTensorsDType.F8_E5M2 or SafeTensorsDType.F8_E4M3
            or SafeTensorsDType.F8_E8M0 or SafeTensorsDType.F8_E4M3FNUZ or SafeTensorsDType.F8_E5M2FNUZ => 8,
        SafeTensorsDType.I16 or SafeTensorsDType.U16 or SafeTensorsDType.F16 or SafeTensorsDType.BF16 => 16,
        SafeTensorsDType.I32 or SafeTensorsDType.U32 or SafeTensorsDType.F32 => 32,
        SafeTensorsDType.C64 or SafeTensorsDType.F64 or SafeTensorsDType.I64 or SafeTensorsDType.U64 => 64,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a safetensors dtype"),
    };

    /// <summary>The header's name for <paramref name="dtype"/> (e.g. "BF16").</summary>
    public static string Name(this SafeTensorsDType dtype) => dtype.ToString();

    /// <summary>Parses a header dtype name; the format's names are upper case and matched exactly.</summary>
    public static bool TryParse(ReadOnlySpan<char> name, out SafeTensorsDType dtype)
    {
        foreach (var candidate in Enum.GetValues<SafeTensorsDType>())
            if (name.SequenceEqual(candidate.ToString())) { dtype = candidate; return true; }
        dtype = default;
        return false;
    }

    /// <summary>The ggml type Cria computes with for this dtype: F32, F16 and BF16 are the same bits in both; every
    /// other dtype has none.</summary>
    public static bool TryGetGgmlType(this SafeTensorsDType dtype, out GgmlType type)
    {
        type = dtype switch
        {
            SafeTensorsDType.F32 => GgmlType.F32,
            SafeTensorsDType.F16 => GgmlType.F16,
            SafeTensorsDType.BF16 => GgmlType.BF16,
            _ => (GgmlType)uint.MaxValue,
        };
        return type != (GgmlType)uint.MaxValue;
    }

    /// <summary>The dtype that stores ggml's F32, F16 or BF16 unchanged.</summary>
    public static bool TryFromGgmlType(GgmlType type, out SafeTensorsDType dtype)
    {
        (bool ok, dtype) = type switch
        {
            GgmlType.F32 => (true, SafeTensorsDType.F32),
            GgmlType.F16 => (true, SafeTensorsDType.F16),
            GgmlType.BF16 => (true, SafeTensorsDType.BF16),
            _ => (false, default),
        };
        return ok;
    }
}
