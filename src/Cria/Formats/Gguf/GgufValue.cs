using System.Globalization;

namespace Cria.Formats.Gguf;

/// <summary>One metadata value: its GGUF type and the value (a .NET primitive, string or <see cref="GgufArray"/>).</summary>
public sealed record GgufValue(GgufValueType Type, object Value)
{
    public static GgufValue Of(byte value) => new(GgufValueType.UInt8, value);
    public static GgufValue Of(sbyte value) => new(GgufValueType.Int8, value);
    public static GgufValue Of(ushort value) => new(GgufValueType.UInt16, value);
    public static GgufValue Of(short value) => new(GgufValueType.Int16, value);
    public static GgufValue Of(uint value) => new(GgufValueType.UInt32, value);
    public static GgufValue Of(int value) => new(GgufValueType.Int32, value);
    public static GgufValue Of(float value) => new(GgufValueType.Float32, value);
    public static GgufValue Of(bool value) => new(GgufValueType.Bool, value);
    public static GgufValue Of(string value) => new(GgufValueType.String, value);
    public static GgufValue Of(ulong value) => new(GgufValueType.UInt64, value);
    public static GgufValue Of(long value) => new(GgufValueType.Int64, value);
    public static GgufValue Of(double value) => new(GgufValueType.Float64, value);
    public static GgufValue Of(GgufArray value) => new(GgufValueType.Array, value);

    /// <summary>An array value, its element type inferred from <typeparamref name="T"/> (see <see cref="GgufArray.Of{T}"/>).</summary>
    public static GgufValue OfArray<T>(params T[] items) => Of(GgufArray.Of(items));

    /// <summary>The GGUF type whose values .NET holds as <paramref name="clrType"/>.</summary>
    public static GgufValueType TypeOf(Type clrType) =>
        clrType == typeof(byte) ? GgufValueType.UInt8
        : clrType == typeof(sbyte) ? GgufValueType.Int8
        : clrType == typeof(ushort) ? GgufValueType.UInt16
        : clrType == typeof(short) ? GgufValueType.Int16
        : clrType == typeof(uint) ? GgufValueType.UInt32
        : clrType == typeof(int) ? GgufValueType.Int32
        : clrType == typeof(float) ? GgufValueType.Float32
        : clrType == typeof(bool) ? GgufValueType.Bool
        : clrType == typeof(string) ? GgufValueType.String
        : clrType == typeof(ulong) ? GgufValueType.UInt64
        : clrType == typeof(long) ? GgufValueType.Int64
        : clrType == typeof(double) ? GgufValueType.Float64
        : clrType == typeof(GgufArray) ? GgufValueType.Array
        : throw new ArgumentException($"GGUF has no value type for {clrType.Name}");

    /// <summary>The value as a signed 64-bit integer if it is any integer type that fits.</summary>
    public bool TryGetInt64(out long result)
    {
        switch (Value)
        {
            case byte v: result = v; return true;
            case sbyte v: result = v; return true;
            case ushort v: result = v; return true;
            case short v: result = v; return true;
            case uint v: result = v; return true;
            case int v: result = v; return true;
            case long v: result = v; return true;
            case ulong v when v <= long.MaxValue: result = (long)v; return true;
            default: result = 0; return false;
        }
    }

    /// <summary>The value as a double if it is numeric (integer or float).</summary>
    public bool TryGetDouble(out double result)
    {
        switch (Value)
        {
            case float f: result = f; return true;
            case double d: result = d; return true;
            default:
                if (TryGetInt64(out long l)) { result = l; return true; }
                if (Value is ulong u) { result = u; return true; }
                result = 0;
                return false;
        }
    }

    /// <summary>A short human-readable rendering for <c>cria inspect</c>; long arrays are summarised.</summary>
    public string Display(int maxItems = 8, int maxChars = 120)
    {
        string text = Value switch
        {
            string s => Quote(s, maxChars),
            GgufArray a => DisplayArray(a, maxItems, maxChars),
            bool b => b ? "true" : "false",
            float f => f.ToString("R", CultureInfo.InvariantCulture),
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            IFormattable n => n.ToString(null, CultureInfo.InvariantCulture),
            _ => Value.ToString() ?? "",
        };
        return text;
    }

    private static string DisplayArray(GgufArray a, int maxItems, int maxChars)
    {
        var parts = new List<string>();
        for (int i = 0; i < Math.Min(a.Length, maxItems); i++)
        {
            object item = a.Item(i);
            parts.Add(item is GgufArray inner
                ? DisplayArray(inner, maxItems, maxChars)
                : new GgufValue(a.ElementType, item).Display(maxItems, 40));
        }
        string more = a.Length > maxItems ? $", … ({a.Length} items)" : "";
        return $"[{string.Join(", ", parts)}{more}]";
    }

    private static string Quote(string s, int maxChars)
    {
        var escaped = s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n").Replace("\r", "\\r").Replace("\t", "\\t");
        if (escaped.Length > maxChars) escaped = escaped[..maxChars] + $"… ({s.Length} chars)";
        return "\"" + escaped + "\"";
    }

    public override string ToString() => Display();
}
