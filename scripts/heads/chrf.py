#!/usr/bin/env python3
"""chrF (sacrebleu) of every DIR/<head>.txt against DIR/ref.txt, one line a pair."""
import pathlib
import sys

from sacrebleu.metrics import CHRF

out = pathlib.Path(sys.argv[1])
refs = (out / "ref.txt").read_text(encoding="utf-8").rstrip("\n").split("\n")
print("head\tchrF\tpairs")
for hyp_file in sorted(out.glob("*.txt")):
    if hyp_file.name in ("ref.txt", "src.txt"):
        continue
    hyps = hyp_file.read_text(encoding="utf-8").rstrip("\n").split("\n")
    hyps += [""] * (len(refs) - len(hyps))
    score = CHRF().corpus_score(hyps[: len(refs)], [refs])
    print(f"{hyp_file.stem}\t{score.score:.2f}\t{len(refs)}")
