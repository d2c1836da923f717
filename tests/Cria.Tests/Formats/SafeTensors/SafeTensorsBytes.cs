using System.Buffers.Binary;
using System.Text;

namespace Cria.Tests.Formats.SafeTensors;

/// <summary>Builds safetensors files byte by byte for tests: a length prefix (the true one unless overridden), the
/// header bytes as given, then the data.</summary>
internal static class SafeTensorsBytes
{
    public static byte[] File(string headerJson, int dataBytes, ulong? claimedHeaderLength = null) =>
        File(Encoding.UTF8.GetBytes(headerJson), dataBytes, claimedHeaderLength);

    public static byte[] File(byte[] header, int dataBytes, ulong? claimedHeaderLength = null)
    {
        var bytes = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, claimedHeaderLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        for (int i = 0; i < dataBytes; i++) bytes[8 + header.Length + i] = (byte)(i * 7 + 1);
        return bytes;
    }

    /// <summary>One tensor's header entry.</summary>
    public static string Tensor(string name, string dtype, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{shape}],\"data_offsets\":[{begin},{end}]}}";
}
