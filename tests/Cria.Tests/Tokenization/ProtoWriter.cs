using System.Text;

namespace Cria.Tests.Tokenization;

/// <summary>Test helper: writes protobuf wire format by hand, to build sentencepiece models (and broken ones).</summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream _stream = new();

    public byte[] ToArray() => _stream.ToArray();

    public ProtoWriter Varint(ulong value)
    {
        do
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            _stream.WriteByte(value != 0 ? (byte)(b | 0x80) : b);
        } while (value != 0);
        return this;
    }

    public ProtoWriter Tag(int field, int wireType) => Varint((ulong)field << 3 | (uint)wireType);

    public ProtoWriter Int(int field, long value) => Tag(field, 0).Varint(unchecked((ulong)value));

    public ProtoWriter Float(int field, float value)
    {
        Tag(field, 5);
        _stream.Write(BitConverter.GetBytes(value));
        return this;
    }

    public ProtoWriter Bytes(int field, byte[] bytes)
    {
        Tag(field, 2).Varint((ulong)bytes.Length);
        _stream.Write(bytes);
        return this;
    }

    public ProtoWriter String(int field, string text) => Bytes(field, Encoding.UTF8.GetBytes(text));

    public ProtoWriter Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

    public ProtoWriter Raw(params byte[] bytes)
    {
        _stream.Write(bytes);
        return this;
    }

    /// <summary>A sentencepiece SentencePiece message (piece 1, score 2, type 3).</summary>
    public static ProtoWriter Piece(string piece, float score, int type = 1) => new ProtoWriter().String(1, piece).Float(2, score).Int(3, type);

    /// <summary>A small valid BPE model: unk, BOS, EOS, "▁", "a", "b", "▁a", "ab"; <paramref name="edit"/> changes it.</summary>
    public static byte[] SmallModel(Action<ProtoWriter, ProtoWriter, ProtoWriter>? edit = null)
    {
        var model = new ProtoWriter();
        model.Message(1, Piece("<unk>", 0, 2)).Message(1, Piece("<s>", 0, 3)).Message(1, Piece("</s>", 0, 3));
        foreach (var (piece, score) in new[] { ("\u2581", -1f), ("a", -1f), ("b", -1f), ("\u2581a", -2f), ("ab", -3f) })
            model.Message(1, Piece(piece, score));
        var trainer = new ProtoWriter().Int(3, 2);           // model_type BPE
        var normalizer = new ProtoWriter().String(1, "identity").Int(4, 0); // remove_extra_whitespaces off
        edit?.Invoke(model, trainer, normalizer);
        return model.Message(2, trainer).Message(3, normalizer).ToArray();
    }
}
