#!/usr/bin/env bash
# Builds a Tatar head for a model from scratch, unattended:
#   1. the trans-tokenized recipe head (as build-tatar.sh: a 16k BPE
#      tokenizer on data/tt, rows from word alignment of the en–tt pairs);
#   2. its output rows tuned with the body frozen (hydra heads tune) on
#      Tatar text of data/tt and the first en–tt pairs as translation prompts.
# The result is a recipe head that also stores its tuned output rows.
# Interrupted, it resumes: the tuning step continues from its hidden-state
# cache and checkpoint in the cache folder. The same inputs give the same
# head (the build date aside). Held-out data (data/heldout) is never read.
#
#   scripts/heads/tune-tatar.sh [CACHE_DIR]     (default ~/.cache/hydra/heads-build)
#
# MODEL=gemma3-270m (default): heads/tt-gemma3-270m.gguf, from the recipe
#   heads/tt-gemma3-270m-transtok.gguf (rebuilt in place: the committed one
#   is what this script builds from the committed data); text:
#   data/tt/tt.txt and the Tatar side of data/tt/en-tt.tsv; 1,500 pairs
#   behind a prompt that names Russian; the head recommends
#   --no-repeat-ngram 3 and --repeat-penalty 1.5.
# MODEL=qwen2.5-1.5b: heads/tt-qwen2.5-1.5b.gguf; text: data/tt/tt-text.txt
#   (running text only, for time); all 11,276 pairs (PAIRS=0) at lr 1.25e-4
#   for two epochs (EPOCHS=2; chrF 33.42 on the 223 held-out pairs, against
#   32.49 for one epoch, 31.63 for 3,000 spread pairs, PAIRS=3000 SPREAD=1
#   EPOCHS=1, and 30.33 for the first 1,000 at lr 5e-4, PAIRS=1000 LR=5e-4
#   EPOCHS=1; about 40 min here), behind a prompt that names
#   Russian (PROMPT=ru: Qwen writes Russian far better than Tatar; the
#   output rows turn that intent into Tatar); the head recommends
#   --no-repeat-ngram 3 (NGRAM=3) and --repeat-penalty 1.5 (PENALTY=1.5),
#   and stores data/tt/en-tt.tsv as its translation memory, recommending
#   --examples 3 (EXAMPLES=3: the 3 nearest pairs shown in the prompt),
#   consensus decoding over 4 candidates (CANDIDATES=4: 6.0 words/s and
#   chrF 32.45 on a 2-core AVX2-only CPU, against 4.8 and 32.60 with 7;
#   CANDIDATES= for greedy, faster still), --min-length 0.5 (MINLEN=0.5: an answer may end
#   only once it has half the characters of its text) and --copy-bias 4
#   (COPY=4: the token that continues an example where the answer's last
#   tokens occurred in it gets 4 more logit).
# DISTILL=W adds the native head as teacher (heads tune --distill W).
# FACTORED=first-token (or compatible; 1: first-token) factors the output by
#   the model's own head (heads tune --factored F); for qwen2.5-1.5b chrF
#   17.9 against 29.7 on the first 60 held-out pairs (Qwen begins Kyrgyz and
#   Kazakh words the rows can only finish): not for Tatar.
# DISTILL_INPUTS=N (Llama and Qwen2 bodies) first tunes the built head's
#   input rows by token distillation after N blocks (heads distill-inputs on
#   the running text, lr DISTILL_LR, default 1e-3), then tunes the output
#   rows over them (the moved input rows stored beside the map; its own work folders).
# PAIRS=N takes N pairs instead (0: all), SPREAD=1 spreads them over the whole
# (sorted) pair file instead of taking the first ones, EPOCHS, LR and L2
# set the tuning (defaults: what built the shipped heads; the work folder
# is named by PAIRS and SPREAD, so each set of sequences keeps its own
# hidden-state cache), PROMPT names
# another language in the pairs' prompt (recorded in the head: translations
# through it then name that language too; PROMPT=tt: the head's own), NGRAM
# the --no-repeat-ngram the head recommends, PENALTY its --repeat-penalty,
# CANDIDATES its --candidates, MINLEN its --min-length, COPY its
# --copy-bias, EXAMPLES its
# --examples (with data/tt/en-tt.tsv stored as its translation memory;
# empty: no memory), TUNE_EXAMPLES the
# nearest pairs each tuning pair's prompt shows (heads tune --examples;
# default none: for qwen2.5-1.5b, TUNE_EXAMPLES=3 scored chrF 22.46 on the
# first 60 held-out pairs, greedy with 3 examples, against 25.77 for rows
# tuned on prompts without examples).
set -euo pipefail
cd "$(dirname "$0")/../.."
HYDRA=${HYDRA:-.build/release/hydra}
CACHE=${1:-$HOME/.cache/hydra/heads-build}
MODEL=${MODEL:-gemma3-270m}
OUT=${OUT:-heads/tt-$MODEL.gguf}
mkdir -p "$CACHE" "$(dirname "$OUT")"
case "$MODEL" in
    gemma3-270m)
        BUILT=${BUILT:-heads/tt-gemma3-270m-transtok.gguf}
        TEXT=(data/tt/tt.txt data/tt/en-tt.tsv); PAIRS=${PAIRS:-1500}; SPREAD=${SPREAD-}; LR=${LR:-5e-4}; EPOCHS=${EPOCHS:-1}; PROMPT=${PROMPT:-ru}; NGRAM=${NGRAM:-3}; PENALTY=${PENALTY-1.5}; CANDIDATES=${CANDIDATES-}; EXAMPLES=${EXAMPLES-}; MINLEN=${MINLEN-}; COPY=${COPY-} ;;
    *)
        BUILT=${BUILT:-$CACHE/tt-$MODEL-transtok.gguf}
        TEXT=(data/tt/tt-text.txt); PAIRS=${PAIRS:-0}; SPREAD=${SPREAD-}; LR=${LR:-1.25e-4}; EPOCHS=${EPOCHS:-2}; PROMPT=${PROMPT:-ru}; NGRAM=${NGRAM:-3}; PENALTY=${PENALTY-1.5}; CANDIDATES=${CANDIDATES-4}; EXAMPLES=${EXAMPLES-3}; MINLEN=${MINLEN-0.5}; COPY=${COPY-4} ;;
esac
TUNE_EXAMPLES=${TUNE_EXAMPLES-}

# The recipe takes seconds to build; rebuilt every time (same rows).
"$HYDRA" heads build --method transtok --model "$MODEL" --language tt \
        --name "tt-$MODEL-transtok" \
        --train-tokenizer --vocab-size 16000 --corpus data/tt/tt.txt data/tt/en-tt.tsv \
        --pairs data/tt/en-tt.tsv --min-count 1 \
        --out "$BUILT.part"
mv "$BUILT.part" "$BUILT"

WORK="$CACHE/tt-$MODEL-p$PAIRS${SPREAD:+s}.tune"   # one per set of tuning sequences
if [[ -n "${DISTILL_INPUTS:-}" ]]; then
    DISTILLED="$CACHE/tt-$MODEL-transtok-d$DISTILL_INPUTS.gguf"
    [[ -f "$DISTILLED" ]] || "$HYDRA" heads distill-inputs --model "$MODEL" --head "$BUILT" --text data/tt/tt-text.txt \
        --depth "$DISTILL_INPUTS" --lr "${DISTILL_LR:-1e-3}" --seed 1 --name "tt-$MODEL-transtok-d$DISTILL_INPUTS" \
        --work "$DISTILLED.distill" --out "$DISTILLED.part"
    [[ -f "$DISTILLED" ]] || mv "$DISTILLED.part" "$DISTILLED"
    BUILT=$DISTILLED
    WORK="$CACHE/tt-$MODEL-d$DISTILL_INPUTS-p$PAIRS${SPREAD:+s}.tune"
fi

[[ "${FACTORED:-}" == 1 ]] && FACTORED=first-token
"$HYDRA" heads tune --model "$MODEL" --head "$BUILT" \
    --text "${TEXT[@]}" --pairs data/tt/en-tt.tsv --max-pairs "$PAIRS" ${SPREAD:+--spread-pairs} \
    --lr "$LR" --l2 "${L2:-1e-2}" --epochs "$EPOCHS" --seed 1 ${PROMPT:+--prompt-language "$PROMPT"} \
    ${NGRAM:+--recommend-no-repeat-ngram "$NGRAM"} ${PENALTY:+--recommend-repeat-penalty "$PENALTY"} \
    ${CANDIDATES:+--recommend-candidates "$CANDIDATES"} ${DISTILL:+--distill "$DISTILL"} ${FACTORED:+--factored "$FACTORED"} \
    ${TUNE_EXAMPLES:+--examples "$TUNE_EXAMPLES"} \
    --name "tt-$MODEL" --work "$WORK" --keep-work --out "$OUT.part"
mv "$OUT.part" "$OUT"
if [[ -n "$EXAMPLES" ]]; then
    "$HYDRA" heads recommend "$OUT" --memory data/tt/en-tt.tsv --memory-language en --examples "$EXAMPLES"
fi
if [[ -n "$MINLEN" ]]; then
    "$HYDRA" heads recommend "$OUT" --min-length "$MINLEN"
fi
if [[ -n "$COPY" ]]; then
    "$HYDRA" heads recommend "$OUT" --copy-bias "$COPY"
fi

"$HYDRA" heads inspect "$OUT" --model "$MODEL"
