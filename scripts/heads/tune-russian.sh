#!/usr/bin/env bash
# Builds the Russian head for qwen2.5-1.5b and tunes its output rows with
# the body frozen, unattended:
#   1. the trans-tokenized recipe head (build-russian.sh: a 16k BPE
#      tokenizer on data/ru, rows from word alignment of the en–ru pairs;
#      VOCAB sets the size);
#   2. its input rows distilled from Qwen's own reading after 4 blocks
#      (hydra heads distill-inputs, lr 1e-3) on the Russian side of every
#      10th pair of data/ru/en-ru.tsv (lines 5, 15, …); the rows that moved
#      are stored beside the map;
#   3. its output rows tuned (hydra heads tune, Adam lr 1.25e-4) on the Russian
#      side of lines 3, 5 and 7 of every 10 pairs as running text and lines
#      1, 9 and 11 of every 20 as translation prompts (TUNE_LINES=1: lines 5
#      of 10 and 1 of 20 only, with lr 5e-4, the previous version;
#      TUNE_LINES=8: lines 0 and 2-8 of every 10 (1 and 9 hold the prompts)
#      as text: 0.01 bits/char better, chrF level, not adopted).
# The result is a recipe head that also stores its distilled input rows and tuned output rows
# (heads/reference/ru-qwen2.5-1.5b.gguf; not picked by language: give it with --head)
# and recommends --no-repeat-ngram 3, --repeat-penalty 1.5 and beam search
# with 4 beams (NGRAM, PENALTY, BEAM; BEAM= for greedy; CANDIDATES=N for
# consensus over N candidates instead).
# DISTILL=W adds the native head as teacher (heads tune --distill W);
# FACTORED=first-token (default; 1 says the same) factors the output by
# Qwen's own head (heads tune --factored first-token: Qwen picks each
# token's first native token, the rows the rest); FACTORED=compatible
# lets every native token pass its probability to the tokens compatible
# with it (better bits/char, no better chrF: measured with TUNE_LINES=1 LR=2.5e-4);
# FACTORED= fits the rows alone (with TUNE_LINES=1 the version before
# factoring; the cached hidden states are reused, only the fit runs again);
# LR sets the fit's learning rate (default 1.25e-4; 5e-4 with TUNE_LINES=1);
# ZIPTIE_SHARE=W builds rows partly by zip-tie (build-russian.sh).
# DISTILL_INPUTS=N compares the states after N blocks (default 4; empty:
# no distillation, the previous version of the head), DISTILL_LR sets its
# learning rate (default 1e-3).
# Interrupted, it resumes from the hidden-state
# cache and checkpoint in the cache folder. Held-out data (data/heldout) is
# never read.
#
#   scripts/heads/tune-russian.sh [CACHE_DIR]   (default ~/.cache/hydra/heads-build)
set -euo pipefail
cd "$(dirname "$0")/../.."
HYDRA=${HYDRA:-.build/release/hydra}
CACHE=${1:-$HOME/.cache/hydra/heads-build}
MODEL=${MODEL:-qwen2.5-1.5b}
OUT=${OUT:-heads/reference/ru-qwen2.5-1.5b.gguf}
mkdir -p "$CACHE" "$(dirname "$OUT")"

# The recipe takes seconds to build; rebuilt every time (same rows).
scripts/heads/build-russian.sh "$CACHE"
awk 'NR % 10 == 5' data/ru/en-ru.tsv > "$CACHE/ru-tune-text.tsv"
awk 'NR % 20 == 1' data/ru/en-ru.tsv > "$CACHE/ru-tune-pairs.tsv"

BUILT="$CACHE/ru-qwen2.5-1.5b-transtok.gguf"
WORK="$CACHE/ru-qwen2.5-1.5b.tune"
DISTILL_INPUTS=${DISTILL_INPUTS-4}
FACTORED=${FACTORED-first-token}
[[ "$FACTORED" == 1 ]] && FACTORED=first-token
BEAM=${BEAM-4}
CANDIDATES=${CANDIDATES-}
[[ -n "$CANDIDATES" ]] && BEAM=
if [[ -n "$DISTILL_INPUTS" ]]; then
    # Named by what makes it, so that a second run reuses it (and resumes an interrupted one from its work folder).
    SETTINGS="v${VOCAB:-16000}-z${ZIPTIE_SHARE:-0}-d$DISTILL_INPUTS-lr${DISTILL_LR:-1e-3}"
    DISTILLED="$CACHE/ru-qwen2.5-1.5b-transtok-$SETTINGS.gguf"
    if [[ ! -f "$DISTILLED" ]]; then
        "$HYDRA" heads distill-inputs --model "$MODEL" --head "$BUILT" --text "$CACHE/ru-tune-text.tsv" \
            --depth "$DISTILL_INPUTS" --lr "${DISTILL_LR:-1e-3}" --seed 1 --name "ru-qwen2.5-1.5b-transtok-d$DISTILL_INPUTS" \
            --work "$DISTILLED.distill" --out "$DISTILLED.part"
        mv "$DISTILLED.part" "$DISTILLED"
    fi
    BUILT=$DISTILLED
    WORK="$CACHE/ru-qwen2.5-1.5b-$SETTINGS.tune"
fi
# The output rows' text and prompts (neither set meets the other): the lines above
# (TUNE_LINES=1), three times them (3, the default), or lines 0 and 2–8 of every
# 10 as text (8: lines 1 and 9 hold the prompts) with the prompts of 3.
TUNE_LINES=${TUNE_LINES:-3}
case "$TUNE_LINES" in
    1) TEXT="$CACHE/ru-tune-text.tsv" PAIRS="$CACHE/ru-tune-pairs.tsv" LR=${LR:-5e-4} ;;
    3|8)
        TEXT="$CACHE/ru-tune-text$TUNE_LINES.tsv" PAIRS="$CACHE/ru-tune-pairs3.tsv" WORK="${WORK%.tune}-t$TUNE_LINES.tune" LR=${LR:-1.25e-4}
        [[ "$TUNE_LINES" == 3 ]] && lines='NR % 10 == 3 || NR % 10 == 5 || NR % 10 == 7' || lines='NR % 10 != 1 && NR % 10 != 9'
        awk "$lines" data/ru/en-ru.tsv > "$TEXT"
        awk 'NR % 20 == 1 || NR % 20 == 9 || NR % 20 == 11' data/ru/en-ru.tsv > "$PAIRS" ;;
    *) echo "tune-russian.sh: TUNE_LINES must be 1, 3 or 8 (got '$TUNE_LINES')" >&2; exit 2 ;;
esac

"$HYDRA" heads tune --model "$MODEL" --head "$BUILT" \
    --text "$TEXT" --pairs "$PAIRS" \
    --lr "$LR" --l2 "${L2:-1e-2}" --epochs "${EPOCHS:-1}" --seed 1 --distill "${DISTILL:-0}" ${FACTORED:+--factored "$FACTORED"} \
    --recommend-no-repeat-ngram "${NGRAM:-3}" --recommend-repeat-penalty "${PENALTY:-1.5}" \
    ${CANDIDATES:+--recommend-candidates "$CANDIDATES"} ${BEAM:+--recommend-beam "$BEAM"} \
    --name ru-qwen2.5-1.5b --work "$WORK" --keep-work --out "$OUT.part"
mv "$OUT.part" "$OUT"
"$HYDRA" heads inspect "$OUT" --model "$MODEL"
