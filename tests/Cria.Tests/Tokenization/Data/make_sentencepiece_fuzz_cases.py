#!/usr/bin/python3
"""Generates sentencepiece-fuzz-cases.json: random text, random invalid UTF-8 and random id sequences,
encoded/decoded by the real sentencepiece (Debian bookworm python3-sentencepiece 0.1.97).
Usage: /usr/bin/python3 make_sentencepiece_fuzz_cases.py ASSETS_DIR OUT.json"""
import json, random, sys
import sentencepiece as spm

assets, out = sys.argv[1], sys.argv[2]
llama = spm.SentencePieceProcessor(model_file=f"{assets}/llama2-tokenizer/tokenizer.model")
tok512 = spm.SentencePieceProcessor(model_file=f"{assets}/stories260K/tok512.model")
rng = random.Random(20250301)

POOL = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") * 3
        + list(" " * 30) + ["  ", "   ", "\n", "\n\n", "\t", "\r\n", " \n"]
        + list(".,;:!?'\"()[]{}<>=+-*/\\|&^%$#@~`_") * 2
        + ["é", "e\u0301", "ñ", "ü", "ß", "Ω", "π", "∑", "→", "€", "£", "°", "…", "—", "“", "”"]
        + list("日本語のテキスト你好世界镇中文한국어") + ["\u9fa5", "\u4e42", "\u2ebe", "\U00020000"]
        + ["🦙", "👍🏽", "👨‍👩‍👧", "😀", "🚀", "❤️", "Ꙋ"]
        + list("ПриветмирمرحباשלוםΑλφα")
        + ["\u200b", "\u00a0", "\u3000", "\x00", "\x7f", "\x1b", "▁", "▁▁", "\ufffd", "\u0301", "\ufeff"]
        + ["the", " the", "ing", " and", "Hello", " world", "<s>", "</s>", "<unk>", "<0x0A>", "[INST]", "=====", "1234567"])

def rand_text(max_items):
    return "".join(rng.choice(POOL) for _ in range(rng.randint(0, max_items)))

def rand_bytes():
    parts = []
    for _ in range(rng.randint(1, 8)):
        r = rng.random()
        if r < 0.4: parts.append(rng.choice(POOL).encode("utf-8"))
        elif r < 0.6: parts.append(bytes([rng.randint(0x80, 0xFF)]))
        elif r < 0.8: parts.append(rng.choice(["é", "日", "🦙", "€"]).encode("utf-8")[: rng.randint(1, 3)])
        else: parts.append(bytes(rng.choice([[0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF8], [0xFE, 0xFF]])))
    return b"".join(parts)

def rand_ids():
    ids = []
    for _ in range(rng.randint(0, 12)):
        r = rng.random()
        if r < 0.35: ids.append(rng.randint(3, 258))             # byte pieces, incl. UTF-8 lead/continuation bytes
        elif r < 0.45: ids.append(rng.choice([1, 2]))            # control
        elif r < 0.6: ids.append(rng.choice([29871, 259, 1678, 268, 15043, 3186, 13, 29892]))
        else: ids.append(rng.randint(259, 31999))
    return ids

cases = {
    "generator": "Debian bookworm python3-sentencepiece 0.1.97; encode(text) without BOS/EOS; decode(ids); tools: make_sentencepiece_fuzz_cases.py",
    "llama2_encode": [], "llama2_encode_utf8": [], "llama2_decode": [], "tok512_encode": [],
}
seen = set()
while len(cases["llama2_encode"]) < 400:
    t = rand_text(30)
    if t in seen: continue
    seen.add(t)
    ids = llama.encode(t)
    cases["llama2_encode"].append({"text": t, "ids": ids, "decoded": llama.decode(ids)})
long_text = "".join(rand_text(40) for _ in range(150))
ids = llama.encode(long_text)
cases["llama2_encode"].append({"text": long_text, "ids": ids, "decoded": llama.decode(ids)})
for _ in range(150):
    b = rand_bytes()
    cases["llama2_encode_utf8"].append({"hex": b.hex(), "ids": llama.encode(b)})
for _ in range(300):
    ids = rand_ids()
    cases["llama2_decode"].append({"ids": ids, "text": llama.decode(ids)})
story_pool = ["Once upon a time", " there was", " a little", " girl", " named Lily", ".", ",", " She", " loved", " to play",
              "\n", " ", "  ", "!", "?", "\"", "'s", " the", " park", " dog", "123", "é", "日本", "🦙", "Tom", " and", " big", " red", " ball"]
for _ in range(150):
    t = "".join(rng.choice(story_pool) for _ in range(rng.randint(0, 20)))
    # tok512.model removes extra spaces (remove_extra_whitespaces); tok512.bin/GGUF carry no such flag and
    # llama2.c/llama.cpp never do it, so only text where that rule changes nothing is a fair comparison.
    t = t.strip(" ")
    while "  " in t: t = t.replace("  ", " ")
    cases["tok512_encode"].append({"text": t, "ids": tok512.encode(t)})
with open(out, "w", encoding="utf-8") as f:  # one case per line: readable diffs
    f.write("{\n" + json.dumps("generator") + ": " + json.dumps(cases.pop("generator")))
    for key, items in cases.items():
        f.write(",\n" + json.dumps(key) + ": [\n" + ",\n".join(json.dumps(c, ensure_ascii=True) for c in items) + "\n]")
    f.write("\n}\n")
