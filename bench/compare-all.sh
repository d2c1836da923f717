#!/usr/bin/env bash
# The side-by-side speed table of bench/RESULTS.md: makes the random-weight benchmark models (once), measures the
# machine's limits, then alternates llama.cpp and cria bench on every model (medians of the rounds' means).
# usage: bench/compare-all.sh [MODELS_DIR (default ../models)] [OUT_DIR] (from the repository root; ../shared beside it)
set -euo pipefail
models=${1:-../models}
out=${2:-bench/results}
mkdir -p "$models" "$out"
dotnet build -c Release src/Cria.Cli >&2
dotnet build -c Release bench/Cria.Compare >&2
cria=src/Cria.Cli/bin/Release/net10.0/cria
llama2=../shared/assets/llama2-tokenizer/tokenizer.model
llama3=../shared/assets/llama3-tokenizer/tokenizer.model
make() { [ -f "$models/$1.gguf" ] || "$cria" create "$models/$1.gguf" --preset "$2" --random --type "$3" --tokenizer "$4" >&2; }
small=()
for t in f16 bf16 q8_0 q4_0 q4_k_m; do
  make "tinyllama-$t" tinyllama-1.1b "$t" "$llama2"; small+=("$models/tinyllama-$t.gguf")
done
for t in f16 bf16 q8_0 q4_0 q4_k_m; do
  make "l32-1b-$t" llama-3.2-1b "$t" "$llama3"; small+=("$models/l32-1b-$t.gguf")
done
make l3-8b-q4_0 llama-3-8b q4_0 "$llama3"

"$cria" bench --machine -t 1,2 | tee "$out/machine.md"
compare() { dotnet run -c Release --no-build --project bench/Cria.Compare -- --llamacpp ../shared/tools/llamacpp-ref/run.sh "$@"; }
compare --models "$(IFS=,; echo "${small[*]}")" --threads 1,2 --rounds 2 --reps 1 --log "$out/raw.jsonl" | tee "$out/small.md"
compare --models "$models/l3-8b-q4_0.gguf" --threads 1,2 --rounds 1 --reps 1 --log "$out/raw.jsonl" | tee "$out/8b.md"
