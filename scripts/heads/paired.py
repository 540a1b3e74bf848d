#!/usr/bin/env python3
"""Is one set of translations better than another, or is the difference noise?

    scripts/heads/paired.py REF BASE.txt NEW.txt [--resamples 2000] [--seed 1]

Prints chrF (sacrebleu) of BASE and NEW against REF (one line a pair, the
same pairs in the same order), NEW − BASE, and a paired bootstrap: the
pairs are resampled with replacement, both sets scored on each resample,
and the 2.5th–97.5th percentiles of the difference and the share of
resamples where NEW does not beat BASE are printed (Koehn 2004). A
difference whose interval holds 0 is not shown by these pairs.
"""
import argparse
import pathlib
import random

from sacrebleu.metrics import CHRF


def lines(path):
    return pathlib.Path(path).read_text(encoding="utf-8").rstrip("\n").split("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ref")
    parser.add_argument("base")
    parser.add_argument("new")
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    refs, base, new = lines(args.ref), lines(args.base), lines(args.new)
    if not (len(refs) == len(base) == len(new)):
        raise SystemExit(f"{len(refs)} references, {len(base)} and {len(new)} translations: give the same pairs")
    chrf = CHRF()
    # chrF of a corpus is a function of summed n-gram statistics: sum the
    # sentences' statistics over each resample instead of rescoring text.
    stats_base = [chrf._extract_corpus_statistics([h], [[r]]) for h, r in zip(base, refs)]
    stats_new = [chrf._extract_corpus_statistics([h], [[r]]) for h, r in zip(new, refs)]

    def score(stats, sample):
        total = [sum(stats[i][0][k] for i in sample) for k in range(len(stats[0][0]))]
        return chrf._compute_score_from_stats(total).score

    everything = range(len(refs))
    a, b = score(stats_base, everything), score(stats_new, everything)
    rng = random.Random(args.seed)
    diffs = []
    for _ in range(args.resamples):
        sample = [rng.randrange(len(refs)) for _ in everything]
        diffs.append(score(stats_new, sample) - score(stats_base, sample))
    diffs.sort()
    low, high = diffs[int(0.025 * len(diffs))], diffs[int(0.975 * len(diffs)) - 1]
    not_better = sum(d <= 0 for d in diffs) / len(diffs)
    print("pairs\tchrF base\tchrF new\tnew - base\t95 % interval\tresamples where new <= base")
    print(f"{len(refs)}\t{a:.2f}\t{b:.2f}\t{b - a:+.2f}\t[{low:+.2f}, {high:+.2f}]\t{not_better:.3f}")


if __name__ == "__main__":
    main()
