#!/usr/bin/env python3
"""Is it Tatar? For every DIR/<head>.txt (one translation a line, beside
DIR/ref.txt): how many outputs have one of the Tatar letters ә ө ү җ ң һ
where the reference has one, how many have a letter Tatar does not use
(ғ қ ұ і ҙ ҡ ҫ: Kazakh, Bashkir, ...), the share of Cyrillic words that
are Russian: in the Russian text of data/ru and nowhere in the Tatar text
and word list of data/tt (training files only, never data/heldout), and the
share of Cyrillic words found nowhere in that Tatar text and word list
(Russian, Kyrgyz or Kazakh forms spelt with letters Tatar shares, such as
"анын" for "аның", or misspellings), with the references' own share on a
line of its own: the floor of unseen but real Tatar words."""
import pathlib
import re
import sys

TATAR = set("әөүҗңһӘӨҮҖҢҺ")
FOREIGN = set("ғқұіҙҡҫҒҚҰІҘҠҪ")
REPO = pathlib.Path(__file__).resolve().parents[2]
WORD = re.compile(r"[А-Яа-яЁёӘәӨөҮүҖҗҢңҺһ]+")


def words(path, column=None):
    out = set()
    for line in (REPO / path).read_text(encoding="utf-8").splitlines():
        if column is not None:
            parts = line.split("\t")
            line = parts[column] if len(parts) > column else ""
        out.update(w.lower() for w in WORD.findall(line))
    return out


tatar_words = words("data/tt/tt.txt") | words("data/tt/tt-words.txt") | words("data/tt/en-tt.tsv", 1)
russian_only = (words("data/ru/ru.txt") | words("data/ru/en-ru.tsv", 1)) - tatar_words

out = pathlib.Path(sys.argv[1])
refs = (out / "ref.txt").read_text(encoding="utf-8").rstrip("\n").split("\n")
with_tatar = [i for i, r in enumerate(refs) if TATAR & set(r)]


def unknown(lines):
    cyrillic = [w.lower() for h in lines for w in WORD.findall(h)]
    return sum(1 for w in cyrillic if w not in tatar_words) / max(len(cyrillic), 1)


print("head\tTatar letters (where the reference has them)\tforeign letters\tRussian words\twords not in data/tt\tpairs")
print(f"(references)\t{len(with_tatar)}/{len(with_tatar)}\t\t\t{100 * unknown(refs):.1f} %\t{len(refs)}")
for f in sorted(out.glob("*.txt")):
    if f.name in ("ref.txt", "src.txt"):
        continue
    hyps = f.read_text(encoding="utf-8").rstrip("\n").split("\n")
    hyps += [""] * (len(refs) - len(hyps))
    tatar = sum(1 for i in with_tatar if TATAR & set(hyps[i]))
    foreign = sum(1 for h in hyps[: len(refs)] if FOREIGN & set(h))
    cyrillic = [w.lower() for h in hyps[: len(refs)] for w in WORD.findall(h)]
    russian = sum(1 for w in cyrillic if w in russian_only) / max(len(cyrillic), 1)
    print(f"{f.stem}\t{tatar}/{len(with_tatar)}\t{foreign}\t{100 * russian:.1f} %"
          f"\t{100 * unknown(hyps[: len(refs)]):.1f} %\t{len(refs)}")
