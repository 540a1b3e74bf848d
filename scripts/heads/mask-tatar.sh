#!/usr/bin/env bash
# Writes the baseline every Tatar head of qwen2.5-1.5b is measured against:
# Qwen's own head with its output limited to the 2,401 tokens that occur in
# data/tt (hydra heads mask: a slice head, a few MB), storing
# data/tt/en-tt.tsv as its translation memory and recommending 3 example
# pairs from it, consensus over 7 candidates, --no-repeat-ngram 6 and a
# lexicon: the 313k word forms of data/tt/tt.txt, tt-words.txt and
# en-tt.tsv (hydra heads recommend --lexicon; 9 MB more), so that every
# word it writes is a Tatar word form. Without the lexicon 44 % of its
# words are found nowhere in Tatar text (Kyrgyz and Kazakh forms spelt with
# the letters Tatar shares; heads/tt-qwen2.5-1.5b.md); with it, chrF 34.7
# on the first 60 held-out pairs against 26.9 for heads/tt-qwen2.5-1.5b.gguf,
# at about 12 s a sentence here against 2 s: an opt-in head
# (--head FILE), not the default. LEXICON="" leaves the lexicon out (as
# measured before it existed). Seconds to run; the same inputs give the
# same head (the build date aside). Held-out data (data/heldout) is never
# read.
#
#   scripts/heads/mask-tatar.sh [CACHE_DIR]     (default ~/.cache/hydra/heads-build)
#
# MODEL, OUT, EXAMPLES, CANDIDATES, NGRAM, LEXICON (files) and PENALTY (its
# --repeat-penalty) change what it writes.
#
# TUNE=1 also tunes the slice's 2,401 output rows with the body frozen
# (hydra heads tune, the settings tune-tatar.sh tuned its recipe head with until 2026-12-07:
# data/tt/tt-text.txt and the first 1,000 pairs of data/tt/en-tt.tsv, Adam
# lr 5e-4, λ 0.01, one epoch, seed 1, but behind a prompt that names Tatar;
# 33 min here, resumes when interrupted: work files in
# CACHE_DIR/tt-$MODEL-masked.tune) and recommends greedy decoding with
# --no-repeat-ngram 6 instead of 7 candidates (NGRAM, CANDIDATES): as good
# on the held-out pairs, in 40 % of the time; no lexicon (LEXICON adds
# one, not measured with tuning); OUT defaults to
# CACHE_DIR/tt-$MODEL-masked-tuned.gguf. Half as many of its words are
# found nowhere in Tatar text as the untuned slice's (heads/tt-qwen2.5-1.5b.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
HYDRA=${HYDRA:-.build/release/hydra}
MODEL=${MODEL:-qwen2.5-1.5b}
CACHE=${1:-$HOME/.cache/hydra/heads-build}
TUNE=${TUNE:-}
if [[ -n "$TUNE" ]]; then
    OUT=${OUT:-$CACHE/tt-$MODEL-masked-tuned.gguf}; CANDIDATES=${CANDIDATES-}; NGRAM=${NGRAM-6}
else
    OUT=${OUT:-$CACHE/tt-$MODEL-masked.gguf}; CANDIDATES=${CANDIDATES-7}; NGRAM=${NGRAM-6}
    LEXICON=${LEXICON-data/tt/tt.txt data/tt/tt-words.txt data/tt/en-tt.tsv}
fi
mkdir -p "$(dirname "$OUT")"
EXAMPLES=${EXAMPLES-3}; PENALTY=${PENALTY-}

"$HYDRA" heads mask --model "$MODEL" --text data/tt/tt.txt data/tt/en-tt.tsv --language tt \
    --name "tt-$MODEL-masked" --out "$OUT.part"
if [[ -n "$TUNE" ]]; then
    "$HYDRA" heads tune --model "$MODEL" --head "$OUT.part" \
        --text data/tt/tt-text.txt --pairs data/tt/en-tt.tsv --max-pairs 1000 \
        --lr 5e-4 --l2 1e-2 --epochs 1 --seed 1 \
        --name "tt-$MODEL-masked-tuned" --work "$CACHE/tt-$MODEL-masked.tune" --keep-work --out "$OUT.tuned"
    mv "$OUT.tuned" "$OUT.part"
fi
LEXICON_FILES=()
for f in ${LEXICON:-}; do LEXICON_FILES+=(--lexicon "$f"); done
"$HYDRA" heads recommend "$OUT.part" --memory data/tt/en-tt.tsv --memory-language en \
    ${EXAMPLES:+--examples "$EXAMPLES"} ${CANDIDATES:+--candidates "$CANDIDATES"} \
    ${PENALTY:+--repeat-penalty "$PENALTY"} ${NGRAM:+--no-repeat-ngram "$NGRAM"} "${LEXICON_FILES[@]}"
mv "$OUT.part" "$OUT"
"$HYDRA" heads inspect "$OUT" --model "$MODEL"
