using System.Globalization;
using System.Text;

namespace Cria.Formats.SafeTensors;

/// <summary>Writes the compact JSON of a safetensors header byte for byte as the reference library does (serde_json):
/// no spaces, strings escaped only where JSON requires it (<c>"</c>, <c>\</c>, control characters as <c>\n</c> or
/// <c>\u00XX</c>), everything else as raw UTF-8.</summary>
internal static class SafeTensorsJson
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static byte[] Header(IReadOnlyList<KeyValuePair<string, string>> metadata, IReadOnlyList<SafeTensorsTensorInfo> tensors)
    {
        var s = new StringBuilder("{");
        bool first = true;
        void Comma()
        {
            if (!first) s.Append(',');
            first = false;
        }
        if (metadata.Count > 0)
        {
            Comma();
            String(s, SafeTensorsHeader.MetadataKey).Append(":{");
            for (int i = 0; i < metadata.Count; i++)
            {
                if (i > 0) s.Append(',');
                String(s, metadata[i].Key).Append(':');
                String(s, metadata[i].Value);
            }
            s.Append('}');
        }
        foreach (var t in tensors)
        {
            Comma();
            String(s, t.Name).Append(":{\"dtype\":");
            String(s, t.DType.Name()).Append(",\"shape\":[");
            s.AppendJoin(',', t.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
            s.Append(CultureInfo.InvariantCulture, $"],\"data_offsets\":[{t.Begin},{t.End}]}}");
        }
        s.Append('}');
        return StrictUtf8.GetBytes(s.ToString());
    }

    private static StringBuilder String(StringBuilder s, string value)
    {
        s.Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': s.Append("\\\""); break;
                case '\\': s.Append("\\\\"); break;
                case '\b': s.Append("\\b"); break;
                case '\f': s.Append("\\f"); break;
                case '\n': s.Append("\\n"); break;
                case '\r': s.Append("\\r"); break;
                case '\t': s.Append("\\t"); break;
                default:
                    if (c < 0x20) s.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    else s.Append(c);
                    break;
            }
        }
        return s.Append('"');
    }
}
