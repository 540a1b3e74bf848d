#!/usr/bin/env bash
# Builds the shipped Tatar head for gemma3-270m (heads/tt-gemma3-270m.gguf)
# from scratch, unattended:
#   1. the trans-tokenized recipe head heads/tt-gemma3-270m-transtok.gguf
#      (as build-tatar.sh: a 16k BPE tokenizer on data/tt, rows from word
#      alignment of the en–tt pairs);
#   2. its output rows tuned with the body frozen (hydra heads tune) on the
#      Tatar text of data/tt and the first 1,500 en–tt pairs.
# Interrupted, it resumes: a finished step is skipped, and the tuning step
# continues from its hidden-state cache and checkpoint in the cache folder.
# The same inputs give the same head (the build date aside). Held-out data
# (data/heldout) is never read.
#
#   scripts/heads/tune-tatar.sh [CACHE_DIR]     (default ~/.cache/hydra/heads-build)
set -euo pipefail
cd "$(dirname "$0")/../.."
HYDRA=${HYDRA:-.build/release/hydra}
CACHE=${1:-$HOME/.cache/hydra/heads-build}
MODEL=${MODEL:-gemma3-270m}
OUT=${OUT:-heads/tt-gemma3-270m.gguf}
BUILT=${BUILT:-heads/tt-gemma3-270m-transtok.gguf}
mkdir -p "$CACHE" "$(dirname "$OUT")"

# The recipe takes seconds to build; rebuilt every time (same rows).
"$HYDRA" heads build --method transtok --model "$MODEL" --language tt \
        --name tt-gemma3-270m-transtok \
        --train-tokenizer --vocab-size 16000 --corpus data/tt/tt.txt data/tt/en-tt.tsv \
        --pairs data/tt/en-tt.tsv --min-count 1 \
        --out "$BUILT.part"
mv "$BUILT.part" "$BUILT"

"$HYDRA" heads tune --model "$MODEL" --head "$BUILT" \
    --text data/tt/tt.txt data/tt/en-tt.tsv --pairs data/tt/en-tt.tsv --max-pairs 1500 \
    --lr "${LR:-5e-4}" --l2 "${L2:-1e-2}" --epochs "${EPOCHS:-1}" --seed 1 \
    --name tt-gemma3-270m --work "$CACHE/tt-gemma3-270m.tune" --out "$OUT.part"
mv "$OUT.part" "$OUT"

"$HYDRA" heads inspect "$OUT" --model "$MODEL"
