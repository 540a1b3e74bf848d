#!/usr/bin/env python3
"""llama.cpp's speed on the same models, for side-by-side figures with hydra.

Runs `llama-bench -m MODEL -t N -p 512 -n 64 -o json` (the tool that
scripts/build-llama-cpp.sh builds) and prints prompt processing (pp512) and
generation (tg64) speed in tokens per second.

  python3 bench/reference.py                          # three models, 2 threads
  python3 bench/reference.py --threads 1,2 --models gemma3-270m
  python3 bench/reference.py --json bench/out/llama-cpp.json

Models are read from $HYDRA_MODELS (default ~/.cache/hydra/models).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODELS_DIR = Path(os.environ.get("HYDRA_MODELS", Path.home() / ".cache" / "hydra" / "models"))
LLAMA_CPP_DIR = Path(os.environ.get("HYDRA_LLAMA_CPP", Path.home() / ".cache" / "hydra" / "llama.cpp"))

MODELS = {
    "smollm2-135m": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3-270m": "gemma-3-270m-Q4_K_M.gguf",
    "qwen2.5-0.5b": "qwen2.5-coder-0.5b-instruct-Q4_K_M.gguf",
}


def llama_bench():
    tool = LLAMA_CPP_DIR / "build" / "bin" / "llama-bench"
    if not tool.exists():
        subprocess.run([str(REPO / "scripts" / "build-llama-cpp.sh")], check=True)
    return tool


def run_measured(cmd):
    """Runs cmd; returns (returncode, stdout, stderr, peak RSS of the child in MiB).

    The child's output goes to temporary files, so that it can be reaped with
    os.wait4, whose resource usage gives the child's peak resident set.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        peak_mib = usage.ru_maxrss / 1024  # KiB on Linux
        if sys.platform == "darwin":
            peak_mib = usage.ru_maxrss / (1024 * 1024)  # bytes on macOS
        return (child.returncode, out.read().decode(errors="replace"),
                err.read().decode(errors="replace"), peak_mib)


def bench(tool, model_path, threads, reps, n_prompt=512, n_gen=64):
    """One llama-bench run: {"pp512": (mean t/s, stddev), "tg64": (...), "peak_rss_mb": MiB, ...}."""
    cmd = [str(tool), "-m", str(model_path), "-t", str(threads),
           "-p", str(n_prompt), "-n", str(n_gen), "-r", str(reps), "-o", "json"]
    returncode, stdout, stderr, peak_mib = run_measured(cmd)
    if returncode != 0:
        sys.exit(f"llama-bench failed:\n{stderr[-2000:]}")
    result = {"peak_rss_mb": peak_mib}
    for test in json.loads(stdout):
        name = f"pp{test['n_prompt']}" if test["n_prompt"] else f"tg{test['n_gen']}"
        result[name] = (test["avg_ts"], test["stddev_ts"])
        result["build"] = f"{test.get('build_commit', '?')} ({test.get('build_number', '?')})"
        fa = test.get("flash_attn")
        result["flash_attn"] = {-1: "auto", 0: "off", 1: "on", False: "off", True: "on"}.get(fa, fa)
        result["type_k"] = test.get("type_k")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated keys or .gguf paths")
    parser.add_argument("--threads", default="2", help="comma-separated thread counts")
    parser.add_argument("--reps", type=int, default=5, help="llama-bench repetitions")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    tool = llama_bench()
    rows = []
    print(f"{'model':<16} {'threads':>7} {'pp512 t/s':>14} {'tg64 t/s':>14}")
    for key in args.models.split(","):
        path = Path(key) if key.endswith(".gguf") else MODELS_DIR / MODELS[key]
        for threads in [int(t) for t in args.threads.split(",")]:
            r = bench(tool, path, threads, args.reps)
            pp, tg = r["pp512"], r["tg64"]
            print(f"{key:<16} {threads:>7} {pp[0]:>8.1f} ± {pp[1]:<4.1f} {tg[0]:>8.1f} ± {tg[1]:<4.1f}", flush=True)
            rows.append({"model": key, "threads": threads,
                         "pp512": round(pp[0], 2), "pp512_stddev": round(pp[1], 2),
                         "tg64": round(tg[0], 2), "tg64_stddev": round(tg[1], 2),
                         "flash_attn": r["flash_attn"], "type_k": r["type_k"],
                         "peak_rss_mb": round(r["peak_rss_mb"], 1), "llama_cpp_build": r["build"]})
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
