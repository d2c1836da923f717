#!/usr/bin/env node
// Generates llama3-tiktoken-cases.json: targeted and random strings encoded by OpenAI's tiktoken itself (the Rust
// core with its fancy-regex engine, compiled to WebAssembly: npm tiktoken@1.0.22, MIT) over Meta's Llama 3
// tokenizer.model with the Llama 3 pattern, as encode_ordinary (no special tokens, no BOS/EOS).
// A JS string goes into tiktoken as UTF-8 via TextEncoder, which turns a lone surrogate into U+FFFD: what Python
// tiktoken does too (surrogatepass, then decode with errors="replace").
// The "chunked" cases apply Meta's llama-models tokenizer.py chunking first (transcribed below: 400,000 code
// points per slice, cut where a run of str.isspace / non-space grows past 25,000) and encode each chunk.
// Usage: (cd SCRATCH && npm install tiktoken@1.0.22) && NODE_PATH=SCRATCH/node_modules node make_llama3_tiktoken_cases.cjs ASSETS_DIR OUT.json
"use strict";
const fs = require("fs");
const { Tiktoken } = require("tiktoken");

const [assets, out] = process.argv.slice(2);
const cases = JSON.parse(fs.readFileSync(`${assets}/llama3-tokenizer/llama3-tokenizer-cases.json`, "utf8"));
const enc = new Tiktoken(fs.readFileSync(`${assets}/llama3-tokenizer/tokenizer.model`, "utf8"), {}, cases.pattern);
const encode = (s) => Array.from(enc.encode_ordinary(s));

let seed = 20250611; // mulberry32
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const pick = (a) => a[int(0, a.length - 1)];
const cp = (c) => String.fromCodePoint(c);

const WORDS = ["the", "The", "THE", "llama", "Llama", "don", "won", "can", "I", "we", "hello", "world", "naïve", "café", "Straße",
  "über", "ſtraſſe", "Kelvin", "ǅemal", "İstanbul", "ǈ", "ß", "ﬁ", "Ⅻ", "ⅻ", "x²", "H₂O", "½", "٣٤٥", "१२३", "𝟘𝟙𝟚", "１２３", "ＡＢＣ"];
const SPACES = [" ", "  ", "   ", "\t", "\n", "\r", "\r\n", "\n\n", " \n", "\u00a0", "\u3000", "\u2028", "\u2029", "\u0085", "\u000b",
  "\u000c", "\u1680", "\u2000", "\u200a", "\u202f", "\u205f", "\u001c", "\u001d", "\u001e", "\u001f", "\u200b", "\ufeff", "\u180e"];
const CONTRACTIONS = ["'s", "'S", "'ſ", "'t", "'T", "'re", "'RE", "'rE", "'Re", "'ve", "'VE", "'m", "'M", "'ll", "'LL", "'lL", "'d", "'D",
  "'K", "'\u212a", "'x", "'", "''", "'r", "'v", "'l", "’s", "`s"];
const PUNCT = [".", ",", "!", "?", "...", "—", "–", "-", "--", "(", ")", "[", "]", "{", "}", "<", ">", "<|", "|>", "/", "\\", "#", "$", "%",
  "&", "*", "+", "=", "@", "^", "_", "|", "~", "`", "\"", ":", ";", "«", "»", "“", "”", "•", "€", "£", "©", "®", "°", "§", "¶", "\u0000", "\u007f", "\u001b"];
const SCRIPTS = ["日本語のテキスト", "你好，世界", "镇", "中文字符", "한국어", "Привет", "мир", "Ελληνικά", "مرحبا", "بالعالم", "שלום", "עולם",
  "हिन्दी", "नमस्ते", "தமிழ்", "ภาษาไทย", "ქართული", "Հայերեն", "አማርኛ", "ᐃᓄᒃᑎᑐᑦ", "ꙊꙋꙌ", "𐌰𐌱𐌲", "𝐀𝐁𝐂𝐚𝐛𝐜", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𠀀𠀁", "𫝀"];
const MARKS = ["e\u0301", "a\u0300", "o\u0308", "n\u0303", "\u0301", "\u0301\u0302", "\u0915\u094d\u0937", "\u0e01\u0e34", "\u05e9\u05c1", "\u20dd", "\ufe0f", "\u200d"];
const EMOJI = ["🦙", "👍🏽", "👨‍👩‍👧", "😀", "🚀", "❤️", "🇫🇷", "🏳️‍🌈", "✅", "🤖", "🧑🏿‍💻", "©️", "1️⃣", "🫠"];
const LONE = ["\ud800", "\udfff", "\ud83e", "\udd99", "a\ud800b", "\udc00\ud800"];

function randomCodePoint() {
  for (;;) {
    const r = random();
    const c = r < 0.5 ? int(0x20, 0x2fff) : r < 0.8 ? int(0x3000, 0xffff) : int(0x10000, 0x10ffff);
    if (c >= 0xd800 && c <= 0xdfff) continue;
    return cp(c);
  }
}
function digits() { let s = ""; for (let i = int(1, 8); i > 0; i--) s += String(int(0, 9)); return s; }
function item() {
  const r = random();
  if (r < 0.16) return pick(WORDS);
  if (r < 0.30) return pick(SPACES);
  if (r < 0.38) return pick(CONTRACTIONS);
  if (r < 0.50) return pick(PUNCT);
  if (r < 0.58) return digits();
  if (r < 0.68) return pick(SCRIPTS);
  if (r < 0.74) return pick(MARKS);
  if (r < 0.80) return pick(EMOJI);
  if (r < 0.82) return pick(LONE);
  if (r < 0.90) return randomCodePoint();
  return pick(SPACES).repeat(int(2, 6));
}
function randomText(maxItems) { let s = ""; for (let i = int(0, maxItems); i > 0; i--) s += item(); return s; }

// Targeted strings: each alternative of the pattern and its backtracking, case folding, class edges.
const targeted = [
  "'ſ", "'ſt", "x'ſx", "'ſſ", "'Ss", "'\u212a", "'\u212aelvin", "don'ſ go", "I'LL'VE'RE", "'lL'Ll", "a'sb", "'s's", "''s", "'\n",
  "\u212a", "\u212aelvin", "ſ", "ﬅ", "İ", "ı", "\u0130'S", "Σ'S", "ǅ", "ǅ'Dž", "ᾼ'S",
  " \u00a0hello", "\u00a0\u00a0hello", "\u3000hello", "\u2028hello", "\u001chello", "\u001c\u001chello", "\u0085hello", "\vhello", "\fhello",
  "a \u001c b", "\u001c", "\u001f\u001f\u001f", " \u001c", "x\u001cy",
  "  \n  ", " \n \n ", "\n \n", "\r\r\n\n", "  \r\n  x", "\t\n\t", " \u00a0\n", "\u2028\u2029", "\u2029x", "a\u2028", "\u3000\u3000",
  "!!!\n\n", " !!!\r\n\r\n", " !x", " ¡¿", "  !", "\t!", "\u00a0!", "!\u00a0", "😀😀\n", " 😀", " 😀x", "😀x", "x😀",
  "123456789", "1 2 3", " 12", "x123y", "ⅫⅫⅫⅫ", "²³¹⁴", "𝟘𝟙𝟚𝟛", "١٢٣٤٥", "１２３４", "1e\u0301", "e\u03011",
  "\u0301a", "a\u0301", " \u0301a", "\u0301\u0301", "\u200d", "\u200b\u200b", "\ufeffx", "x\u180ey",
  "\ud800", "\udfff", "a\ud800", "\ud800a", "\ud800\ud800", "\udfff\ud800", " \ud800", "'\ud800s",
];
const result = { generator: "npm tiktoken@1.0.22 (OpenAI tiktoken's Rust core as WebAssembly) over llama3-tokenizer/tokenizer.model with the Llama 3 pattern; encode_ordinary; tools: make_llama3_tiktoken_cases.cjs", targeted: [], random: [], chunked: [] };
for (const text of targeted) result.targeted.push({ text, ids: encode(text) });
for (let i = 0; i < 2000; i++) { const text = randomText(16); result.random.push({ text, ids: encode(text) }); }

// Meta's chunking (llama-models models/llama3/tokenizer.py), over code points.
function isPythonSpace(c) {
  const x = c.codePointAt(0);
  return (x >= 0x09 && x <= 0x0d) || (x >= 0x1c && x <= 0x20) || x === 0x85 || x === 0xa0 || x === 0x1680 || (x >= 0x2000 && x <= 0x200a)
    || x === 0x2028 || x === 0x2029 || x === 0x202f || x === 0x205f || x === 0x3000;
}
function* splitRuns(s, max) {
  if (s.length === 0) { yield s; return; }
  let len = 0, isSpace = isPythonSpace(s[0]), start = 0;
  for (let i = 0; i < s.length; i++) {
    const now = isPythonSpace(s[i]);
    if (isSpace !== now) { len = 1; isSpace = now; }
    else if (++len > max) { yield s.slice(start, i).join(""); start = i; len = 1; }
  }
  yield s.slice(start).join("");
}
function metaEncode(text) {
  const points = Array.from(text); // code points (a lone surrogate is one, as in Python)
  const ids = [];
  for (let i = 0; i < points.length; i += 400000)
    for (const chunk of splitRuns(points.slice(i, i + 400000), 25000)) for (const id of encode(chunk)) ids.push(id);
  return ids;
}
// Each long text is a list of [unit, times] parts; the ids are stored as count, SHA-256 of "id,id,…" and both ends.
const crypto = require("crypto");
const longTexts = [
  [["a", 25001]], [[" ", 25001]], [[" ", 50003]], [["b", 1], ["a", 25001]], [["xyz", 8334]], [["\u001c", 25001]], [["😀", 25001]],
  [["x", 24999], [" ", 1], ["y", 25001], ["\u001c", 3], ["z", 30000]], [["Hello world! ", 31000]], [["ab\n", 140000]],
];
for (const parts of longTexts) {
  const text = parts.map(([unit, times]) => unit.repeat(times)).join("");
  const ids = metaEncode(text);
  result.chunked.push({ parts, count: ids.length, sha256: crypto.createHash("sha256").update(ids.join(",")).digest("hex"),
    head: ids.slice(0, 24), tail: ids.slice(-24), unchunked_count: encode(text).length });
}

fs.writeFileSync(out, JSON.stringify(result, null, 0).replace(/\},\{/g, "},\n{").replace(/\],"/g, "],\n\""));
console.error(`targeted ${result.targeted.length}, random ${result.random.length}, chunked ${result.chunked.length}`);
