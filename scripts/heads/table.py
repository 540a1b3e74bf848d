#!/usr/bin/env python3
"""The model × head table (markdown) from the folders eval-all.sh writes:
OUT/<model>-<lang>/figures.tsv (hydra heads eval) and the translations
beside ref.txt. chrF: sacrebleu; Tatar letters / foreign as letters.py;
words/s: words of the translations / seconds spent translating them."""
import csv
import pathlib
import sys

from sacrebleu.metrics import CHRF

TATAR = set("әөүҗңһӘӨҮҖҢҺ")
FOREIGN = set("ғқұіҙҡҫҒҚҰІҘҠҪ")
out = pathlib.Path(sys.argv[1])
print("| model | pair | head | tokens/char | bits/char | chrF | Tatar letters | foreign | s/sentence | words/s |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
for d in sorted(p for p in out.iterdir() if (p / "figures.tsv").exists()):
    model, lang = d.name.rsplit("-", 1)
    refs = (d / "ref.txt").read_text(encoding="utf-8").rstrip("\n").split("\n")
    with_tatar = [i for i, r in enumerate(refs) if TATAR & set(r)]
    with open(d / "figures.tsv", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            hyps = (d / f"{row['head']}.txt").read_text(encoding="utf-8").rstrip("\n").split("\n")
            hyps += [""] * (len(refs) - len(hyps))
            hyps = hyps[: len(refs)]
            chrf = CHRF().corpus_score(hyps, [refs]).score
            seconds = float(row["translate s"])
            words = sum(len(h.split()) for h in hyps)
            letters = f"{sum(1 for i in with_tatar if TATAR & set(hyps[i]))}/{len(with_tatar)}" if lang == "tt" else ""
            foreign = str(sum(1 for h in hyps if FOREIGN & set(h))) if lang == "tt" else ""
            print(f"| {model} | en→{lang} | {row['head']} | {float(row['tokens/char']):.3f} | "
                  f"{float(row['bits/char']):.3f} | {chrf:.2f} | {letters} | {foreign} | "
                  f"{seconds / len(refs):.2f} | {words / seconds if seconds else 0:.1f} |")
