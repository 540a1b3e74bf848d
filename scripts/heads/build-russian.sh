#!/usr/bin/env bash
# Builds the Russian head for qwen2.5-1.5b (Qwen2.5-Coder-1.5B-Instruct,
# `hydra models fetch qwen2.5-1.5b`) into a cache folder: a 16k (VOCAB)
# SentencePiece-style BPE tokenizer trained on Russian running text plus the
# Russian side of the en–ru pairs, rows by trans-tokenization over the 41k
# en–ru pairs (zip-tie for tokens never aligned). Qwen unties its output:
# the same map builds the input and output rows. Not shipped (the recipe is
# a few MB); rebuild it with this script. ZIPTIE_SHARE=W takes W of each
# row from its zip-tie row (heads build --zip-tie-share; default 0: the
# shipped head). Held-out data is never read.
#
#   scripts/heads/build-russian.sh [CACHE_DIR]   (default ~/.cache/hydra/heads-build)
set -euo pipefail
cd "$(dirname "$0")/../.."
HYDRA=${HYDRA:-.build/release/hydra}
CACHE=${1:-$HOME/.cache/hydra/heads-build}
MODEL=${MODEL:-qwen2.5-1.5b}
VOCAB=${VOCAB:-16000}
mkdir -p "$CACHE"
"$HYDRA" heads build --method transtok --model "$MODEL" --language ru \
    --name ru-qwen2.5-1.5b-transtok \
    --train-tokenizer --vocab-size "$VOCAB" --corpus data/ru/ru.txt data/ru/en-ru.tsv \
    --pairs data/ru/en-ru.tsv --min-count 1 --zip-tie-share "${ZIPTIE_SHARE:-0}" \
    --out "$CACHE/ru-qwen2.5-1.5b-transtok.gguf.part"
mv "$CACHE/ru-qwen2.5-1.5b-transtok.gguf.part" "$CACHE/ru-qwen2.5-1.5b-transtok.gguf"
"$HYDRA" heads inspect "$CACHE/ru-qwen2.5-1.5b-transtok.gguf" --model "$MODEL"
