#!/usr/bin/env bash
# What a Llama-2-7B-shaped model costs on this machine, from a few of its
# layers: checkpoints shaped like Llama-2-7B (4096 wide, 32 heads, 11008
# MLP; SmolLM2's 49,152 tokens) with random weights and 2 and 4 of its 32 layers are
# made with transformers (bench/make-7b-shaped.py), converted with `hydra
# convert --type q4_k_m`, and benchmarked by bench/run.py beside llama-bench
# on the same files. The difference between the two gives the cost of one
# layer (seconds per token, resident memory), and the 32-layer figures are
# extrapolated from it: cost(32) = cost(2) + 30 × per-layer.
#
#   bench/seven-b.sh [OUT_DIR]      (default ~/.cache/hydra/seven-b; ~5 GB)
#   THREADS=1,2 PROMPT=128 GEN=32 REPS=3 bench/seven-b.sh
#
# Needs the convert environment (scripts/reference/setup-convert.sh) and the
# llama.cpp tools (scripts/build-llama-cpp.sh); both are set up if missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
OUT="${1:-$HOME/.cache/hydra/seven-b}"
VENV="${HYDRA_CONVERT_VENV:-$HOME/.cache/hydra/venv-convert}"
CONVERT_TEST="${HYDRA_CONVERT_TEST:-$HOME/.cache/hydra/convert-test}"
mkdir -p "$OUT"

scripts/build.sh >&2
scripts/build-llama-cpp.sh >/dev/null
.build/release/hydra models fetch smollm2-135m >&2
scripts/reference/setup-convert.sh >&2

models=()
for layers in 2 4; do
  hf="$OUT/llama2-7b-shape-${layers}l-hf"
  gguf="$OUT/llama2-7b-shape-${layers}l-q4_k_m/model.gguf"
  "$VENV/bin/python" bench/make-7b-shaped.py --layers "$layers" --tokenizer "$CONVERT_TEST/smollm2-135m-hf" --out "$hf"
  if [[ ! -f "$gguf" ]]; then
    /usr/bin/time -f "convert: peak RSS %M KiB, %e s" \
      .build/release/hydra convert "$hf" --type q4_k_m --out "$(dirname "$gguf")" 2>&1 | grep -v '\r' >&2 || exit 1
    du -b "$hf"/*.safetensors | awk '{s += $1} END {printf "checkpoint: %.0f MB\n", s / 1e6}' >&2
  fi
  models+=("$gguf")
done

json="$OUT/bench.json"
python3 bench/run.py --models "$(IFS=,; echo "${models[*]}")" --threads "${THREADS:-1,2}" \
  -p "${PROMPT:-128}" -n "${GEN:-32}" --reps "${REPS:-3}" --json "$json"

python3 - "$json" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
print("\nLlama-2-7B shape, Q4_K_M, extrapolated from 2 and 4 layers to 32:")
print("| tool | threads | pp t/s | tg t/s | RSS MiB | MiB per layer |")
print("|---|---:|---:|---:|---:|---:|")
for threads in sorted({r["threads"] for r in rows}):
    two, four = (next(r for r in rows if r["threads"] == threads and f"-{n}l-" in r["model"]) for n in (2, 4))
    for tool, rss_key in (("hydra", "child_peak_rss_mb"), ("llama_cpp", "peak_rss_mb")):
        a, b = two[tool], four[tool]
        def at32(key):  # seconds per token grow by one layer's cost per layer
            per_layer = (1 / b[key] - 1 / a[key]) / 2
            return 1 / (1 / a[key] + 30 * per_layer)
        layer_mb = (b[rss_key] - a[rss_key]) / 2
        print(f"| {tool.replace('_', '.')} | {threads} | {at32('pp_tokens_per_s'):.1f} | {at32('tg_tokens_per_s'):.2f} "
              f"| {a[rss_key] + 30 * layer_mb:.0f} | {layer_mb:.0f} |")
EOF
