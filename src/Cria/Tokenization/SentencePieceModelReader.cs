using Cria.Formats.Protobuf;

namespace Cria.Tokenization;

/// <summary>What a sentencepiece <c>tokenizer.model</c> (the ModelProto protobuf of sentencepiece_model.proto) says about
/// encoding: the pieces and the parts of <c>trainer_spec</c> and <c>normalizer_spec</c> that matter at run time.</summary>
internal sealed record SentencePieceModelProto(
    string[] Pieces,
    float[] Scores,
    TokenType[] Types,
    int ModelType,               // trainer_spec.model_type: 1 unigram (the default), 2 BPE, 3 word, 4 char
    bool ByteFallback,
    bool TreatWhitespaceAsSuffix,
    string UnknownPiece,
    string BosPiece,
    string EosPiece,
    string PadPiece,
    string NormalizerName,
    int PrecompiledCharsmapBytes,
    bool AddDummyPrefix,
    bool RemoveExtraWhitespaces,
    bool EscapeWhitespaces,
    int DenormalizerCharsmapBytes);

/// <summary>Reads sentencepiece's <c>tokenizer.model</c> with Cria's own protobuf reader (no protobuf library): the
/// pieces (piece, score, type), <c>trainer_spec</c> (model type, special pieces, byte fallback) and
/// <c>normalizer_spec</c>. Only what Llama 1/2 use is accepted: BPE, the identity normaliser (no precompiled
/// character map), escaped whitespace; anything else is refused by name rather than tokenised differently.
/// <c>remove_extra_whitespaces</c> is honoured as sentencepiece does.</summary>
internal static class SentencePieceModelReader
{
    private const int MaxFileBytes = 256 << 20; // Llama 2's is 0.5 MB; the largest sentencepiece vocabularies are ~20 MB

    /// <summary>The ModelProto's first byte: field 1 (pieces), length-delimited. sentencepiece writes fields in
    /// number order and a model has pieces, so every tokenizer.model starts with it; a text file never does.</summary>
    public const byte FirstByte = 0x0A;

    public static SentencePieceTokenizer Read(string path, int? expectedVocabSize)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"tokenizer file not found: {path}", path);
        if (info.Length > MaxFileBytes) throw new ModelFormatException($"{path}: {info.Length} bytes is too large for a sentencepiece tokenizer.model");
        return ToTokenizer(ParseProto(File.ReadAllBytes(path), path), path, expectedVocabSize);
    }

    /// <summary>Builds the tokenizer a parsed model describes, refusing what Cria cannot tokenise exactly.</summary>
    public static SentencePieceTokenizer ToTokenizer(SentencePieceModelProto model, string source, int? expectedVocabSize)
    {
        string kind = model.ModelType switch { 1 => "Unigram", 2 => "BPE", 3 => "Word", 4 => "Char", _ => $"unknown ({model.ModelType})" };
        if (model.ModelType != 2)
            throw new ModelFormatException($"{source}: a sentencepiece {kind} model (trainer_spec.model_type {model.ModelType}); " +
                                           "only BPE models (model_type 2, as Llama 1/2 use) are supported");
        if (model.PrecompiledCharsmapBytes > 0)
            throw new ModelFormatException($"{source}: the normalizer '{model.NormalizerName}' applies a precompiled character map " +
                                           $"({model.PrecompiledCharsmapBytes} bytes, e.g. NFKC); only the 'identity' normalizer (Llama's) is supported");
        if (model.DenormalizerCharsmapBytes > 0)
            throw new ModelFormatException($"{source}: the model has a denormalizer character map ({model.DenormalizerCharsmapBytes} bytes), which is not supported");
        if (!model.EscapeWhitespaces)
            throw new ModelFormatException($"{source}: normalizer_spec.escape_whitespaces is off (spaces are not turned into '▁'), which is not supported");
        if (model.TreatWhitespaceAsSuffix)
            throw new ModelFormatException($"{source}: trainer_spec.treat_whitespace_as_suffix is on ('▁' ends words), which is not supported");
        if (expectedVocabSize is int expected && expected != model.Pieces.Length)
            throw new ModelFormatException($"{source}: has {model.Pieces.Length} pieces but the model's vocabulary size is {expected}");

        int byteCount = model.Types.Count(t => t == TokenType.Byte);
        if (model.ByteFallback && byteCount == 0)
            throw new ModelFormatException($"{source}: trainer_spec.byte_fallback is on but the vocabulary has no byte pieces <0x00>…<0xFF>");
        if (!model.ByteFallback && byteCount > 0)
            throw new ModelFormatException($"{source}: the vocabulary has {byteCount} byte pieces but trainer_spec.byte_fallback is off");

        var ids = new Dictionary<string, int>(model.Pieces.Length, StringComparer.Ordinal);
        for (int id = 0; id < model.Pieces.Length; id++)
        {
            if (model.Pieces[id].Length == 0) throw new ModelFormatException($"{source}: piece {id} is empty");
            if (!ids.TryAdd(model.Pieces[id], id))
                throw new ModelFormatException($"{source}: piece '{model.Pieces[id]}' appears twice (ids {ids[model.Pieces[id]]} and {id})");
        }
        // As sentencepiece's unk_id()/bos_id()/…: the id of the named piece, if it has the right type.
        int SpecialId(string piece, TokenType type) => ids.TryGetValue(piece, out int id) && model.Types[id] == type ? id : -1;
        int unk = SpecialId(model.UnknownPiece, TokenType.Unknown);
        if (unk < 0 || model.Types.Count(t => t == TokenType.Unknown) != 1)
            throw new ModelFormatException($"{source}: a sentencepiece model needs exactly one UNKNOWN piece, '{model.UnknownPiece}' (trainer_spec.unk_piece)");
        int bos = SpecialId(model.BosPiece, TokenType.Control);

        return new SentencePieceTokenizer(model.Pieces, model.Scores, model.Types, new SentencePieceOptions
        {
            UnknownId = unk,
            BosId = bos,
            EosId = SpecialId(model.EosPiece, TokenType.Control),
            PadId = SpecialId(model.PadPiece, TokenType.Control),
            AddBos = bos >= 0, // sentencepiece adds nothing by itself; Llama's convention (and llama.cpp's default) is BOS first
            AddEos = false,
            AddSpacePrefix = model.AddDummyPrefix,
            RemoveExtraWhitespaces = model.RemoveExtraWhitespaces,
            Source = source,
        });
    }

    /// <summary>Parses the ModelProto bytes; <paramref name="source"/> names the file in errors.</summary>
    public static SentencePieceModelProto ParseProto(ReadOnlySpan<byte> data, string source)
    {
        var pieces = new List<string>();
        var scores = new List<float>();
        var types = new List<TokenType>();
        var trainer = new TrainerSpec();
        var normalizer = new NormalizerSpec();
        int denormalizerCharsmap = 0;
        var reader = new ProtobufReader(data, source, "ModelProto");
        while (reader.TryReadTag(out int field, out WireType wire))
        {
            switch (field)
            {
                case 1:
                    var piece = reader.ReadMessage(wire, $"pieces[{pieces.Count}]");
                    ReadPiece(ref piece, pieces, scores, types);
                    break;
                case 2:
                    var t = reader.ReadMessage(wire, "trainer_spec");
                    trainer.Read(ref t);
                    break;
                case 3:
                    var n = reader.ReadMessage(wire, "normalizer_spec");
                    normalizer.Read(ref n);
                    break;
                case 5:
                    var d = reader.ReadMessage(wire, "denormalizer_spec");
                    var denormalizer = new NormalizerSpec();
                    denormalizer.Read(ref d);
                    denormalizerCharsmap = denormalizer.CharsmapBytes;
                    break;
                default:
                    reader.Skip(field, wire); // self_test_data and anything newer
                    break;
            }
        }
        if (pieces.Count == 0) throw new ModelFormatException($"{source}: the sentencepiece model has no pieces (is this a tokenizer.model?)");
        return new SentencePieceModelProto([.. pieces], [.. scores], [.. types], trainer.ModelType, trainer.ByteFallback, trainer.TreatWhitespaceAsSuffix,
            trainer.UnknownPiece, trainer.BosPiece, trainer.EosPiece, trainer.PadPiece,
            normalizer.Name, normalizer.CharsmapBytes, normalizer.AddDummyPrefix, normalizer.RemoveExtraWhitespaces, normalizer.EscapeWhitespaces,
            denormalizerCharsmap);
    }

    private static void ReadPiece(ref ProtobufReader reader, List<string> pieces, List<float> scores, List<TokenType> types)
    {
        string? text = null;
        float score = 0;
        int type = (int)TokenType.Normal; // the proto default
        int start = reader.FileOffset;
        while (reader.TryReadTag(out int field, out WireType wire))
        {
            switch (field)
            {
                case 1: text = reader.ReadString(wire, "piece"); break;
                case 2: score = reader.ReadFloat(wire, "score"); break;
                case 3: type = reader.ReadInt32(wire, "type"); break;
                default: reader.Skip(field, wire); break;
            }
        }
        int id = pieces.Count;
        if (text is null) throw reader.Error(start, "the piece has no text (field 1)");
        if (float.IsNaN(score)) throw reader.Error(start, $"piece '{text}' has score NaN");
        if (type is < (int)TokenType.Normal or > (int)TokenType.Byte)
            throw reader.Error(start, $"piece '{text}' has type {type}, not a sentencepiece type (1 normal … 6 byte)");
        if (type == (int)TokenType.Byte && !BytePiece.TryParse(text, out _))
            throw reader.Error(start, $"piece {id} has type BYTE but its text '{text}' is not <0xNN>");
        pieces.Add(text);
        scores.Add(score);
        types.Add((TokenType)type);
    }

    /// <summary>TrainerSpec fields that matter when encoding, with sentencepiece_model.proto's defaults.</summary>
    private sealed class TrainerSpec
    {
        public int ModelType = 1;
        public bool ByteFallback;
        public bool TreatWhitespaceAsSuffix;
        public string UnknownPiece = "<unk>", BosPiece = "<s>", EosPiece = "</s>", PadPiece = "<pad>";

        public void Read(ref ProtobufReader reader)
        {
            while (reader.TryReadTag(out int field, out WireType wire))
            {
                switch (field)
                {
                    case 3: ModelType = reader.ReadInt32(wire, "model_type"); break;
                    case 24: TreatWhitespaceAsSuffix = reader.ReadBool(wire, "treat_whitespace_as_suffix"); break;
                    case 35: ByteFallback = reader.ReadBool(wire, "byte_fallback"); break;
                    case 45: UnknownPiece = reader.ReadString(wire, "unk_piece"); break;
                    case 46: BosPiece = reader.ReadString(wire, "bos_piece"); break;
                    case 47: EosPiece = reader.ReadString(wire, "eos_piece"); break;
                    case 48: PadPiece = reader.ReadString(wire, "pad_piece"); break;
                    default: reader.Skip(field, wire); break; // training options; unk_id etc. follow from the pieces
                }
            }
        }
    }

    /// <summary>NormalizerSpec, with sentencepiece_model.proto's defaults (all three switches on).</summary>
    private sealed class NormalizerSpec
    {
        public string Name = "";
        public int CharsmapBytes;
        public bool AddDummyPrefix = true, RemoveExtraWhitespaces = true, EscapeWhitespaces = true;

        public void Read(ref ProtobufReader reader)
        {
            while (reader.TryReadTag(out int field, out WireType wire))
            {
                switch (field)
                {
                    case 1: Name = reader.ReadString(wire, "name"); break;
                    case 2: CharsmapBytes = reader.ReadBytes(wire, "precompiled_charsmap").Length; break;
                    case 3: AddDummyPrefix = reader.ReadBool(wire, "add_dummy_prefix"); break;
                    case 4: RemoveExtraWhitespaces = reader.ReadBool(wire, "remove_extra_whitespaces"); break;
                    case 5: EscapeWhitespaces = reader.ReadBool(wire, "escape_whitespaces"); break;
                    default: reader.Skip(field, wire); break;
                }
            }
        }
    }
}
