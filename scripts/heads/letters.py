#!/usr/bin/env python3
"""Is it Tatar? For every DIR/<head>.txt (one translation a line, beside
DIR/ref.txt): how many outputs have one of the Tatar letters ә ө ү җ ң һ
where the reference has one, and how many have a letter Tatar does not use
(ғ қ ұ і ҙ ҡ ҫ: Kazakh, Bashkir, ...)."""
import pathlib
import sys

TATAR = set("әөүҗңһӘӨҮҖҢҺ")
FOREIGN = set("ғқұіҙҡҫҒҚҰІҘҠҪ")
out = pathlib.Path(sys.argv[1])
refs = (out / "ref.txt").read_text(encoding="utf-8").rstrip("\n").split("\n")
with_tatar = [i for i, r in enumerate(refs) if TATAR & set(r)]
print("head\tTatar letters (where the reference has them)\tforeign letters\tpairs")
for f in sorted(out.glob("*.txt")):
    if f.name in ("ref.txt", "src.txt"):
        continue
    hyps = f.read_text(encoding="utf-8").rstrip("\n").split("\n")
    hyps += [""] * (len(refs) - len(hyps))
    tatar = sum(1 for i in with_tatar if TATAR & set(hyps[i]))
    foreign = sum(1 for h in hyps[: len(refs)] if FOREIGN & set(h))
    print(f"{f.stem}\t{tatar}/{len(with_tatar)}\t{foreign}\t{len(refs)}")
