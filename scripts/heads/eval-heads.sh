#!/usr/bin/env bash
# Evaluates a language's heads against the native head on held-out pairs:
# tokens/char, bits/char, decode tokens/s, and chrF (sacrebleu) of the
# translations of the first N pairs.
#
#   scripts/heads/eval-heads.sh MODEL LANG HELDOUT.tsv N OUTDIR HEAD.gguf...
# e.g.
#   scripts/heads/eval-heads.sh gemma3-270m tt data/heldout/en-tt.tsv 50 /tmp/tt-eval \
#       heads/tt-gemma3-270m.gguf ~/.cache/hydra/heads-build/tt-gemma3-270m-{ziptie,random}.gguf
set -euo pipefail
cd "$(dirname "$0")/../.."
HYDRA=${HYDRA:-.build/release/hydra}
MODEL=$1; LANG_=$2; HELDOUT=$3; N=$4; OUT=$5; shift 5
HEADS=()
for h in "$@"; do HEADS+=(--head "$h"); done
mkdir -p "$OUT"
"$HYDRA" heads eval --model "$MODEL" --heldout "$HELDOUT" --from en --to "$LANG_" \
    --translate "$N" --hypotheses "$OUT" "${HEADS[@]}" | tee "$OUT/figures.tsv"
python3 scripts/heads/chrf.py "$OUT" | tee "$OUT/chrf.tsv"
