#!/usr/bin/env bash
# Builds the trans-tokenized Tatar head for gemma3-270m
# (heads/tt-gemma3-270m-transtok.gguf: the rows the shipped head
# heads/tt-gemma3-270m.gguf starts from before scripts/heads/tune-tatar.sh
# tunes its output rows) and, into a cache folder, the zip-tie and
# random-row variants that the evaluation compares it with. Reproducible: the same inputs give the same
# head (the build date aside). Held-out data (data/heldout) is never read.
#
#   scripts/heads/build-tatar.sh [CACHE_DIR]     (default ~/.cache/hydra/heads-build)
set -euo pipefail
cd "$(dirname "$0")/../.."
HYDRA=${HYDRA:-.build/release/hydra}
CACHE=${1:-$HOME/.cache/hydra/heads-build}
MODEL=${MODEL:-gemma3-270m}
mkdir -p "$CACHE" heads

# 1. Trans-tokenization (the built head the shipped one is tuned from): a 16k SentencePiece-style BPE
#    tokenizer trained on Tatar running text plus the Tatar side of the
#    en–tt pairs; rows from word alignment of the 5,962 en–tt pairs; tokens
#    never aligned borrow from longer/inner tokens, else zip-tie.
"$HYDRA" heads build --method transtok --model "$MODEL" --language tt \
    --name tt-gemma3-270m-transtok \
    --train-tokenizer --vocab-size 16000 --corpus data/tt/tt.txt data/tt/en-tt.tsv \
    --pairs data/tt/en-tt.tsv --min-count 1 \
    --out heads/tt-gemma3-270m-transtok.gguf

# 2. The same tokenizer, rows by zip-tie (no parallel data) and random rows.
"$HYDRA" heads build --method ziptie --model "$MODEL" --language tt \
    --name tt-gemma3-270m-ziptie --tokenizer heads/tt-gemma3-270m-transtok.gguf \
    --out "$CACHE/tt-gemma3-270m-ziptie.gguf"
"$HYDRA" heads build --method random --model "$MODEL" --language tt \
    --name tt-gemma3-270m-random --tokenizer heads/tt-gemma3-270m-transtok.gguf --seed 1 \
    --out "$CACHE/tt-gemma3-270m-random.gguf"

"$HYDRA" heads inspect heads/tt-gemma3-270m-transtok.gguf --model "$MODEL"
