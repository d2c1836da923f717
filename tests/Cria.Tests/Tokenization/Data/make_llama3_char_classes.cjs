#!/usr/bin/env node
// Generates llama3-char-classes.json: the class that tiktoken's regex engine (Rust fancy-regex / regex-syntax Unicode
// tables, as compiled into npm tiktoken@1.0.22) gives every code point in the Llama 3 pattern: L (\p{L}), N (\p{N}),
// S (\s), O (none of them). Probes, with a vocabulary of the 256 bytes plus, for each code point c, the tokens
// "a"+c, "1"+c and "!"+c: tiktoken emits a piece found whole in the vocabulary as one token, so
//   "a"+c is one token  <=> c continues \p{L}+            <=> c is L
//   "1"+c is one token  <=> c continues \p{N}{1,3}        <=> c is N
//   "!"+c is one token  <=> c continues [^\s\p{L}\p{N}]+ (or \p{L}+ after it) <=> c is O or L
// and S is what is left (\r and \n, which "!" takes as [\r\n]*, are S). Stored as ranges [first, last, class].
// Usage: (cd SCRATCH && npm install tiktoken@1.0.22) && NODE_PATH=SCRATCH/node_modules node make_llama3_char_classes.cjs ASSETS_DIR OUT.json
"use strict";
const fs = require("fs");
const { Tiktoken } = require("tiktoken");
const [assets, out] = process.argv.slice(2);
const pattern = JSON.parse(fs.readFileSync(`${assets}/llama3-tokenizer/llama3-tokenizer-cases.json`, "utf8")).pattern;
const b64 = (bytes) => Buffer.from(bytes).toString("base64");
const enc = new TextEncoder();
const classes = new Array(0x110000).fill("?");
for (let plane = 0; plane < 0x110000; plane += 0x10000) {
  const lines = [];
  for (let b = 0; b < 256; b++) lines.push(`${b64([b])} ${b}`);
  let rank = 256;
  const points = [];
  for (let c = plane; c < plane + 0x10000; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    const s = String.fromCodePoint(c);
    points.push(c);
    for (const prefix of ["a", "1", "!"]) lines.push(`${b64(enc.encode(prefix + s))} ${rank++}`);
  }
  const tk = new Tiktoken(lines.join("\n") + "\n", {}, pattern);
  for (const c of points) {
    const s = String.fromCodePoint(c);
    const one = (prefix) => tk.encode_ordinary(prefix + s).length === 1;
    const letter = one("a"), number = one("1"), other = one("!");
    classes[c] = c === 0x0a || c === 0x0d ? "S" : letter ? "L" : number ? "N" : other ? "O" : "S";
  }
  tk.free();
  console.error(`plane ${plane >> 16} done`);
}
const ranges = [];
for (let c = 0; c < 0x110000; c++) {
  if (c >= 0xd800 && c <= 0xdfff) continue;
  const last = ranges[ranges.length - 1];
  if (last && last[2] === classes[c] && (last[1] === c - 1 || (last[1] === 0xd7ff && c === 0xe000))) last[1] = c;
  else ranges.push([c, c, classes[c]]);
}
fs.writeFileSync(out, JSON.stringify({
  generator: "npm tiktoken@1.0.22 (OpenAI tiktoken's Rust core and fancy-regex as WebAssembly), Llama 3 pattern; probes described in make_llama3_char_classes.cjs",
  ranges,
}).replace(/\],\[/g, "],\n["));
console.error(`${ranges.length} ranges`);
