#!/usr/bin/env bash
# Writes tests/Cria.Tests/Data/llamacpp-seq-f32kv-logits.json: llama.cpp's logits after the prompt ids
# 1,403,407,261,378 fed one token per llama_decode (its decode path: activations quantised to 8-bit blocks for
# quantised weights) with an f32 KV cache and no flash attention, so that what remains to compare is the matmuls.
# usage: tools/llamacpp-seq-logits/make.sh [SHARED_DIR]   (run from the repository root)
set -euo pipefail
shared=$(realpath "${1:-../shared}")
out=tests/Cria.Tests/Data/llamacpp-seq-f32kv-logits.json
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# No file with F16 matrices: for those llama.cpp rounds the activations to fp16 (vec_dot_type F16), we keep float32.
files=(stories260K-gguf/stories260K-Q8_0.gguf stories260K-gguf/stories260K-Q4_0.gguf stories260K-gguf/stories260K-f32.gguf)
for f in "$shared"/assets/synthetic-k256-gguf/synth-k256-*.gguf; do
  case "$f" in *-F16.gguf) continue ;; esac
  files+=("synthetic-k256-gguf/$(basename "$f")")
done
for f in "${files[@]}"; do
  "$shared/tools/llamacpp-ref/run.sh" logits "$shared/assets/$f" --ids 1,403,407,261,378 --seq --threads 1 \
    --ctk f32 --ctv f32 --fa off --out "$scratch/$(basename "$f").json" >&2
done
python3 - "$scratch" "$out" "${files[@]}" <<'PY'
import json, sys
scratch, out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
result = {"note": "llama.cpp logits after ids 1,403,407,261,378 fed one per llama_decode (--seq), f32 K/V cache, "
                  "flash attention off, 1 thread; made by tools/llamacpp-seq-logits/make.sh", "files": {}}
for f in files:
    d = json.load(open(f"{scratch}/{f.split('/')[-1]}.json"))
    result["library"] = d["library"]; result["cpu_backend"] = d["cpu_backend"]
    result["files"][f] = {"ids": d["ids"], "argmax": d["argmax"], "logits_last": d["logits_last"]}
with open(out + ".tmp", "w") as o: json.dump(result, o)
import os; os.replace(out + ".tmp", out)
PY
echo "wrote $out" >&2
