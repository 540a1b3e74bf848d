#!/usr/bin/env python3
"""hydra beside llama.cpp: prompt and generation speed, side by side.

For each model and thread count, runs `hydra bench --json` and llama-bench
with the same settings (-p 512 -n 64 -r 5), one right after the other
(their order alternates from one configuration to the next), and measures
the machine's memory bandwidth (STREAM read/copy/triad, `hydra bench
--stream`) at the start and the end of the run. Prints a table, and
optionally writes the figures as JSON and a PNG chart of the ratios.

  bench/run                                    # installs what is missing, then runs this
  python3 bench/run.py --json bench/out/run.json --png bench/out/run.png
  python3 bench/run.py --models smollm2-135m --threads 2 --reps 3

Generation reads every weight once per token, so weight bytes / bandwidth
is a ceiling on tokens per second; the table gives each runtime's tg as a
fraction of it.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference  # noqa: E402  (llama-bench runner, shared with bench/reference.py)

REPO = reference.REPO
DEFAULT_HYDRA = REPO / ".build" / "release" / "hydra"



# The reference models and the default model, whose products are mostly
# Q4_K and Q6_K as in every 1B–7B Q4_K_M file.
MODELS = {**reference.MODELS, "qwen2.5-1.5b": "qwen2.5-coder-1.5b-instruct-Q4_K_M.gguf"}

def log(line):
    print(line, file=sys.stderr, flush=True)


def hydra_bench(hydra, model_path, threads, args):
    """One `hydra bench --json` run: its JSON plus the child's peak RSS, or None on failure."""
    cmd = [str(hydra), "bench", "--model", str(model_path), "--threads", str(threads),
           "-p", str(args.n_prompt), "-n", str(args.n_gen), "-r", str(args.reps), "--json"]
    returncode, stdout, stderr, peak_mib = reference.run_measured(cmd)
    if returncode != 0:
        log(f"  hydra bench failed: {stderr.strip()[-500:]}")
        return None
    result = json.loads(stdout)
    result["child_peak_rss_mb"] = peak_mib
    return result


def llama_cpp_bench(tool, model_path, threads, args):
    r = reference.bench(tool, model_path, threads, args.reps, args.n_prompt, args.n_gen)
    pp, tg = r[f"pp{args.n_prompt}"], r[f"tg{args.n_gen}"]
    return {"pp_tokens_per_s": pp[0], "pp_stddev": pp[1], "tg_tokens_per_s": tg[0], "tg_stddev": tg[1],
            "peak_rss_mb": r["peak_rss_mb"], "flash_attn": r["flash_attn"], "type_k": r["type_k"],
            "build": r["build"]}


def stream(hydra, threads, args):
    """Memory bandwidth in bytes/s for `threads` threads: {"read": .., "copy": .., "triad": ..}."""
    cmd = [str(hydra), "bench", "--stream", "--threads", str(threads),
           "--stream-mb", str(args.stream_mb), "-r", "5", "--json"]
    returncode, stdout, stderr, _ = reference.run_measured(cmd)
    if returncode != 0:
        sys.exit(f"hydra bench --stream failed:\n{stderr[-2000:]}")
    r = json.loads(stdout)
    return {k: r[f"{k}_bytes_per_s"] for k in ("read", "copy", "triad")}


def weight_bytes_from_gguf(path):
    """Bytes of weights read per generated token, from the GGUF (when hydra could not say)."""
    try:
        import gguf
    except ImportError:
        return None
    tensors = {t.name: t for t in gguf.GGUFReader(str(path)).tensors}
    total = sum(int(t.n_bytes) for t in tensors.values())
    embd = tensors.get("token_embd.weight")
    if "output.weight" in tensors and embd is not None:
        # Untied: the embedding table is only looked up (one row per token).
        total -= int(embd.n_bytes) - int(embd.n_bytes) // int(embd.shape[1])
    return total


def best_of_rounds(results):
    """One tool's figures over the rounds: the fastest round of each test
    (with that round's stddev), the smallest load time, the largest RSS."""
    results = [r for r in results if r]
    if not results:
        return None
    best = dict(results[0])
    for test in ("pp", "tg"):
        fastest = max(results, key=lambda r: r.get(f"{test}_tokens_per_s") or 0)
        best[f"{test}_tokens_per_s"] = fastest.get(f"{test}_tokens_per_s")
        best[f"{test}_stddev"] = fastest.get(f"{test}_stddev")
    for key, pick in (("load_ms", min), ("peak_rss_mb", max), ("child_peak_rss_mb", max)):
        values = [r[key] for r in results if r.get(key) is not None]
        if values:
            best[key] = pick(values)
    return best


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def ratio(a, b):
    return a / b if a and b else None


def fmt(x, spec, width):
    return format(x, spec).rjust(width) if x is not None else "-".rjust(width)


def print_table(rows, bandwidth, args):
    p, n = args.n_prompt, args.n_gen
    print()
    print("memory bandwidth (GB/s, best of the start and end of the run; STREAM counting):")
    for threads, bw in sorted(bandwidth.items()):
        print(f"  {threads} thread(s): read {bw['read'] / 1e9:5.1f}   copy {bw['copy'] / 1e9:5.1f}"
              f"   triad {bw['triad'] / 1e9:5.1f}")
    print()
    header = (f"{'model':<14} {'thr':>3} | {'pp' + str(p) + ' hydra':>11} {'llama.cpp':>10} {'ratio':>6} | "
              f"{'tg' + str(n) + ' hydra':>10} {'llama.cpp':>10} {'ratio':>6} | "
              f"{'ceiling':>7} {'hydra':>6} {'llama':>6} | {'load ms':>7} | {'RSS MiB h':>9} {'llama':>6}")
    print(header)
    print("-" * len(header))
    for r in rows:
        h, l = r["hydra"] or {}, r["llama_cpp"]
        print(f"{r['model']:<14} {r['threads']:>3} | "
              f"{fmt(h.get('pp_tokens_per_s'), '.1f', 11)} {fmt(l['pp_tokens_per_s'], '.1f', 10)} "
              f"{fmt(r['pp_ratio'], '.2f', 6)} | "
              f"{fmt(h.get('tg_tokens_per_s'), '.1f', 10)} {fmt(l['tg_tokens_per_s'], '.1f', 10)} "
              f"{fmt(r['tg_ratio'], '.2f', 6)} | "
              f"{fmt(r['tg_ceiling'], '.0f', 7)} {fmt(r['hydra_tg_of_ceiling'], '.0%', 6)} "
              f"{fmt(r['llama_cpp_tg_of_ceiling'], '.0%', 6)} | "
              f"{fmt(h.get('load_ms'), '.0f', 7)} | "
              f"{fmt(h.get('child_peak_rss_mb'), '.0f', 9)} {fmt(l['peak_rss_mb'], '.0f', 6)}")
    print()
    print("t/s = tokens per second (mean of the repetitions); ratio = hydra / llama.cpp (> 1: hydra faster);")
    print("ceiling = read bandwidth / weight bytes per token (t/s); hydra, llama = their tg as a share of it.")


def write_png(rows, path, args):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['model']}\n{r['threads']} thread{'s' if r['threads'] > 1 else ''}" for r in rows]
    x = range(len(rows))
    width = 0.38
    fig, (left, right) = plt.subplots(2, 1, figsize=(max(8, 1.8 * len(rows)), 9))

    def bars(ax, offset, values, label, color, spec=".2f"):
        heights = [v if v is not None else 0 for v in values]
        drawn = ax.bar([i + offset for i in x], heights, width, label=label, color=color)
        for bar, v in zip(drawn, values):
            text = format(v, spec) if v is not None else "n/a"
            ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=9, xytext=(0, 2), textcoords="offset points")

    bars(left, -width / 2, [r["pp_ratio"] for r in rows], f"prompt (pp{args.n_prompt})", "#4c72b0")
    bars(left, width / 2, [r["tg_ratio"] for r in rows], f"generation (tg{args.n_gen})", "#dd8452")
    left.axhline(1.0, color="black", linewidth=1, linestyle="--")
    left.set_title("hydra speed / llama.cpp speed (above 1: hydra faster)")
    left.set_ylabel("ratio")

    bars(right, -width / 2, [r["hydra_tg_of_ceiling"] for r in rows], "hydra", "#55a868", ".0%")
    bars(right, width / 2, [r["llama_cpp_tg_of_ceiling"] for r in rows], "llama.cpp", "#8172b3", ".0%")
    right.axhline(1.0, color="black", linewidth=1, linestyle="--")
    right.set_title("generation as a share of the bandwidth ceiling (read bandwidth ÷ weight bytes per token)")
    right.set_ylabel("tg ÷ ceiling")

    for ax in (left, right):
        ax.set_xticks(list(x))
        ax.set_xticklabels(labels, fontsize=9)
        top = max([1.0] + [bar.get_height() for container in ax.containers for bar in container])
        ax.set_ylim(0, top * 1.35)  # headroom for the value labels and the legend
        ax.legend(loc="upper left", ncol=2, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    rounds = "one interleaved run" if args.rounds == 1 else f"best of {args.rounds} interleaved rounds"
    fig.suptitle(f"hydra vs llama.cpp on {platform.node()} ({os.cpu_count()} CPUs), {rounds}, "
                 f"{args.reps} repetitions each", fontsize=11)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated known names or .gguf paths")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions of each test")
    parser.add_argument("-p", "--n-prompt", type=int, default=512, help="prompt tokens (pp test)")
    parser.add_argument("-n", "--n-gen", type=int, default=64, help="generated tokens (tg test)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every configuration this many times, interleaved; report each tool's fastest round")
    parser.add_argument("--stream-mb", type=int, default=512, help="MiB per STREAM array (three arrays)")
    parser.add_argument("--hydra", default=str(DEFAULT_HYDRA), help="the hydra binary")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--png", help="write a bar chart of the ratios to this file")
    args = parser.parse_args()

    hydra = Path(args.hydra)
    if not hydra.exists():
        sys.exit(f"{hydra} not found: build it with scripts/build.sh (or use bench/run)")
    tool = reference.llama_bench()
    thread_counts = [int(t) for t in args.threads.split(",")]

    load_at_start = load_average()
    if load_at_start is not None and load_at_start > 0.5 * (os.cpu_count() or 1):
        log(f"warning: load average {load_at_start:.1f} on {os.cpu_count()} CPUs: other work will skew the figures")
    bandwidth = {}
    for threads in thread_counts:
        log(f"memory bandwidth, {threads} thread(s) ...")
        bandwidth[threads] = {"start": stream(hydra, threads, args)}

    configs = []
    for key in args.models.split(","):
        path = Path(key) if key.endswith(".gguf") else reference.MODELS_DIR / MODELS[key]
        if not path.exists():
            sys.exit(f"{path} not found: fetch it with `.build/release/hydra models fetch {key}` (or use bench/run)")
        configs += [(key, path, threads) for threads in thread_counts]

    results = {(key, threads): {"hydra": [], "llama_cpp": []} for key, _, threads in configs}
    order = 0
    for round_index in range(args.rounds):
        for key, path, threads in configs:
            # Alternate which runs first, so that neither always gets the cooler machine.
            runners = [("hydra", lambda: hydra_bench(hydra, path, threads, args)),
                       ("llama_cpp", lambda: llama_cpp_bench(tool, path, threads, args))]
            if order % 2:
                runners.reverse()
            order += 1
            for name, run in runners:
                log(f"{key}, {threads} thread(s): {name.replace('_', '.')} (round {round_index + 1}/{args.rounds}) ...")
                started = time.time()
                results[(key, threads)][name].append(run())
                log(f"  {time.time() - started:.0f} s")

    rows = []
    for key, _, threads in configs:
        r = results[(key, threads)]
        rows.append({"model": key, "threads": threads,
                     "hydra": best_of_rounds(r["hydra"]), "llama_cpp": best_of_rounds(r["llama_cpp"]),
                     "rounds": r})

    for threads in thread_counts:
        log(f"memory bandwidth again, {threads} thread(s) ...")
        bandwidth[threads]["end"] = stream(hydra, threads, args)
    best = {t: {k: max(b["start"][k], b["end"][k]) for k in ("read", "copy", "triad")} for t, b in bandwidth.items()}

    for row in rows:
        h, l = row["hydra"] or {}, row["llama_cpp"]
        path = Path(row["model"]) if row["model"].endswith(".gguf") else reference.MODELS_DIR / MODELS[row["model"]]
        row["weight_bytes"] = h.get("weight_bytes") or weight_bytes_from_gguf(path)
        row["pp_ratio"] = ratio(h.get("pp_tokens_per_s"), l["pp_tokens_per_s"])
        row["tg_ratio"] = ratio(h.get("tg_tokens_per_s"), l["tg_tokens_per_s"])
        ceiling = best[row["threads"]]["read"] / row["weight_bytes"] if row["weight_bytes"] else None
        row["tg_ceiling"] = ceiling
        row["hydra_tg_of_ceiling"] = ratio(h.get("tg_tokens_per_s"), ceiling)
        row["llama_cpp_tg_of_ceiling"] = ratio(l["tg_tokens_per_s"], ceiling)

    load_at_end = load_average()
    print_table(rows, best, args)
    if load_at_start is not None:
        print(f"load average (1 min) at start {load_at_start:.1f}, at end {load_at_end:.1f}, on {os.cpu_count()} CPUs"
              + (" (busy machine: figures skewed)" if max(load_at_start, load_at_end) > 0.5 * (os.cpu_count() or 1) else ""))

    if args.json:
        out = {"machine": {"node": platform.node(), "cpus": os.cpu_count(), "platform": platform.platform()},
               "settings": {"n_prompt": args.n_prompt, "n_gen": args.n_gen, "reps": args.reps,
                            "rounds": args.rounds, "stream_mb": args.stream_mb},
               "load_average": {"start": load_at_start, "end": load_at_end},
               "bandwidth_bytes_per_s": {str(t): {"best": best[t], **b} for t, b in bandwidth.items()},
               "rows": rows}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
        log(f"wrote {args.json}")
    if args.png:
        write_png(rows, args.png, args)
        log(f"wrote {args.png}")


if __name__ == "__main__":
    main()
