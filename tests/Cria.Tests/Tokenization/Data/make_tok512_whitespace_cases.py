#!/usr/bin/python3
"""Generates tok512-whitespace-cases.json: how the real sentencepiece (Debian bookworm python3-sentencepiece 0.1.97)
encodes text with runs of spaces under stories260K's tok512.model, whose normalizer has remove_extra_whitespaces ON
(leading and trailing spaces dropped, inner runs collapsed to one), and, as a control, under Meta's Llama 2
tokenizer.model, which has it OFF. Only ' ' counts as a space; tabs, newlines and a literal U+2581 do not, but
a trailing U+2581 is dropped with the trailing spaces (sentencepiece strips them from the normalised text).
Usage: /usr/bin/python3 make_tok512_whitespace_cases.py ASSETS_DIR OUT.json"""
import json, random, sys
import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb  # needs Debian python3-protobuf

assets, out = sys.argv[1], sys.argv[2]
tok512_path = f"{assets}/stories260K/tok512.model"
llama_path = f"{assets}/llama2-tokenizer/tokenizer.model"
tok512 = spm.SentencePieceProcessor(model_file=tok512_path)
llama = spm.SentencePieceProcessor(model_file=llama_path)

def normalizer(path):
    m = pb.ModelProto()
    m.ParseFromString(open(path, "rb").read())
    n = m.normalizer_spec
    return {"name": n.name, "add_dummy_prefix": n.add_dummy_prefix, "remove_extra_whitespaces": n.remove_extra_whitespaces,
            "escape_whitespaces": n.escape_whitespaces, "precompiled_charsmap_bytes": len(n.precompiled_charsmap)}

assert normalizer(tok512_path)["remove_extra_whitespaces"] and not normalizer(llama_path)["remove_extra_whitespaces"]

texts = ["", " ", "  ", "     ", "a", " a", "a ", "  a  ", "a  b", "a   b    c", " Once  upon   a time ", "\t", " \t ", "a \t b",
         "a\n  b", "  \n  ", "\u2581", " \u2581 ", "a\u2581", "a\u2581\u2581", "a \u2581", "\u2581a", "a\u2581\u2581b", "a \u2581 b",
         "\u3000a\u3000", "\u00a0a\u00a0 b", "x" + " " * 40 + "y", " " * 100, "Lily  and  Tom\n\n  played .", "\U0001F999  \U0001F999 ",
         "123  456", "  \"Hi!\"  she said.  ", "a \n", " \na", "\r\n  x"]
rng = random.Random(20250303)
pool = ["Once upon a time", "there", "was", "a", "little", "girl", "Lily", ".", ",", "!", "\"", "'s", "123", "\u00e9", "\u65e5\u672c",
        "\U0001F999", " ", " ", " ", "  ", "   ", "\n", "\t", "\u2581", " \n "]
seen = set(texts)
while len(texts) < 200:
    t = "".join(rng.choice(pool) for _ in range(rng.randint(1, 16)))
    if t not in seen:
        seen.add(t)
        texts.append(t)

cases = {
    "generator": "Debian bookworm python3-sentencepiece 0.1.97 (+ python3-protobuf to read the normalizer specs); "
                 "encode(text) without BOS/EOS and decode(ids); script: make_tok512_whitespace_cases.py",
    "tok512_normalizer": normalizer(tok512_path),
    "llama2_normalizer": normalizer(llama_path),
    "cases": [],
}
for t in texts:
    a, b = tok512.encode(t), llama.encode(t)
    cases["cases"].append({"text": t, "tok512_ids": a, "tok512_decoded": tok512.decode(a), "llama2_ids": b})
with open(out, "w", encoding="utf-8") as f:  # one case per line: readable diffs
    f.write("{\n" + ",\n".join(json.dumps(k) + ": " + json.dumps(cases[k]) for k in ["generator", "tok512_normalizer", "llama2_normalizer"]))
    f.write(',\n"cases": [\n' + ",\n".join(json.dumps(c, ensure_ascii=True) for c in cases["cases"]) + "\n]\n}\n")
