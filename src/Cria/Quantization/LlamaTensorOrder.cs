namespace Cria.Quantization;

/// <summary>The order llama.cpp's model loader keeps tensors in (<c>weight_name_comparer</c> in llama-model-loader.h),
/// which is the order llama-quantize writes them and counts layers in: by the layer number of a <c>blk.N.</c> prefix
/// (−1 for tensors outside the blocks, so those come first), then by name, ordinally.</summary>
public sealed class LlamaTensorOrder : IComparer<string>
{
    public static readonly LlamaTensorOrder Instance = new();

    public int Compare(string? a, string? b)
    {
        if (ReferenceEquals(a, b)) return 0;
        if (a is null) return -1;
        if (b is null) return 1;
        int layerA = TryParseLayer(a, out int la) ? la : -1;
        int layerB = TryParseLayer(b, out int lb) ? lb : -1;
        return layerA != layerB ? layerA.CompareTo(layerB) : string.CompareOrdinal(a, b);
    }

    /// <summary>C's <c>sscanf(name, "blk.%d.", &amp;layer) == 1</c>: "blk." then an integer (optional spaces and sign);
    /// what follows the digits is not checked, as in sscanf.</summary>
    public static bool TryParseLayer(string name, out int layer)
    {
        layer = -1;
        if (!name.StartsWith("blk.", StringComparison.Ordinal)) return false;
        int i = 4;
        while (i < name.Length && name[i] is ' ' or '\t' or '\n' or '\v' or '\f' or '\r') i++;
        bool negative = false;
        if (i < name.Length && name[i] is '+' or '-') negative = name[i++] == '-';
        int start = i;
        long value = 0;
        while (i < name.Length && name[i] is >= '0' and <= '9')
        {
            value = Math.Min(value * 10 + (name[i] - '0'), (long)int.MaxValue + 1); // saturate: no model has such layers
            i++;
        }
        if (i == start) return false;
        layer = (int)Math.Clamp(negative ? -value : value, int.MinValue, int.MaxValue);
        return true;
    }
}
