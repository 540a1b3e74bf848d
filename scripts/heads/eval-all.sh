#!/usr/bin/env bash
# The model × head table of README.md: every known model, with its native
# head and every shipped head of the language (heads/<lang>-<model>*.gguf),
# on held-out en→tt and en→ru pairs: tokens/char and bits/char of the
# target side, chrF of the first N translations (greedy), Tatar letters,
# seconds per sentence and words per second. Held-out data is only read
# here, never by a build or tuning step.
#
#   scripts/heads/eval-all.sh OUTDIR [N]      (N: pairs translated, default 40)
#   MODELS="gemma3-270m qwen2.5-1.5b" LANGS=tt scripts/heads/eval-all.sh OUTDIR
set -euo pipefail
cd "$(dirname "$0")/../.."
HYDRA=${HYDRA:-.build/release/hydra}
OUT=$1; N=${2:-40}
MODELS=${MODELS:-smollm2-135m qwen2.5-0.5b gemma3-270m qwen2.5-1.5b}
LANGS=${LANGS:-tt ru}
for model in $MODELS; do
    for lang in $LANGS; do
        dir="$OUT/$model-$lang"
        [ -f "$dir/figures.tsv" ] && continue          # done in an earlier run
        heads=()
        for h in heads/"$lang-$model"*.gguf; do [ -f "$h" ] && heads+=(--head "$h"); done
        # bits/char: every held-out Tatar line; the first 100 Russian lines (for time).
        lines=(); [ "$lang" = ru ] && lines=(--lines 100)
        mkdir -p "$dir"
        "$HYDRA" heads eval --model "$model" --heldout "data/heldout/en-$lang.tsv" --from en --to "$lang" \
            "${lines[@]}" --translate "$N" --hypotheses "$dir" "${heads[@]}" > "$dir/figures.tsv.part"
        mv "$dir/figures.tsv.part" "$dir/figures.tsv"
    done
done
python3 scripts/heads/table.py "$OUT"
