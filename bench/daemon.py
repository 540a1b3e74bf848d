#!/usr/bin/env python3
"""Daemon benchmark: time to first output and total time for a short
sentence, cold (in-process `hydra translate --no-daemon`) against warm (a
running daemon, over its socket and through `hydra translate`), and
throughput with 1, 4 and 16 concurrent clients.

    scripts/build.sh && python3 bench/daemon.py [--model smollm2-135m] [--runs 5]

Prints a Markdown table; writes bench/out/daemon-<model>.json.
"""
import argparse, json, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SENTENCE = "The weather is good today."


def timed_process(cmd, env):
    """Runs cmd; returns (ms to first stdout byte, total ms, stdout)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    first = p.stdout.read(1)
    t1 = time.perf_counter()
    rest = p.stdout.read()
    p.wait()
    t2 = time.perf_counter()
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed with {p.returncode}")
    return (t1 - t0) * 1000, (t2 - t0) * 1000, (first + rest).decode()


def socket_translate(path, text, frm, to, model):
    """One request over the socket; returns (ms to first partial, total ms, result)."""
    t0 = time.perf_counter()
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    req = {"jsonrpc": "2.0", "id": 1, "method": "translate",
           "params": {"text": text, "from": frm, "to": to, "model": model}}
    s.sendall((json.dumps(req) + "\n").encode())
    f = s.makefile("rb")
    first = None
    while True:
        msg = json.loads(f.readline())
        if msg.get("method") == "translate.partial" and first is None:
            first = time.perf_counter()
        elif msg.get("id") == 1:
            break
    t2 = time.perf_counter()
    s.close()
    if "error" in msg:
        sys.exit(f"daemon error: {msg['error']}")
    return ((first or t2) - t0) * 1000, (t2 - t0) * 1000, msg["result"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clients", default="1,4,16", help="concurrent client counts for the throughput runs")
    ap.add_argument("--hydra", default=os.path.join(ROOT, ".build/release/hydra"))
    args = ap.parse_args()
    frm, to = "en", "ru"
    runtime = tempfile.mkdtemp(prefix="hyb-", dir="/tmp")
    env = dict(os.environ, XDG_RUNTIME_DIR=runtime, HYDRA_SOCKET="")
    sock = os.path.join(runtime, "hydra", "hydra.sock")
    if os.path.isfile(args.model):
        model_path = args.model
    else:
        cache = os.environ.get("HYDRA_MODELS") or os.path.expanduser("~/.cache/hydra/models")
        files = {"smollm2-135m": "SmolLM2-135M-Instruct.Q4_1.gguf", "gemma3-270m": "gemma-3-270m-Q4_K_M.gguf",
                 "qwen2.5-0.5b": "qwen2.5-coder-0.5b-instruct-Q4_K_M.gguf"}
        model_path = os.path.join(cache, files.get(args.model, args.model))
    translate = [args.hydra, "translate", "--from", frm, "--to", to, "--model", model_path]
    rows = {}

    subprocess.run([args.hydra, "daemon", "start", "--model", model_path, "--threads", str(args.threads)],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    try:
        socket_translate(sock, SENTENCE, frm, to, model_path)  # warm-up
        # Cold (a fresh process loads the model) and warm runs alternate, so
        # that other work on the machine weighs on both alike.
        cold, warm, warm_cli = [], [], []
        for _ in range(args.runs):
            cold.append(timed_process(translate + ["--no-daemon", "--threads", str(args.threads), SENTENCE], env))
            warm.append(socket_translate(sock, SENTENCE, frm, to, model_path))
            warm_cli.append(timed_process(translate + [SENTENCE], env))
        rows["cold, in-process CLI"] = cold
        rows["warm, daemon socket"] = [(a, b, r["text"]) for a, b, r in warm]
        rows["warm, CLI through daemon"] = warm_cli
        tokens = warm[0][2]["generated_tokens"]

        throughput = {}
        for clients in [int(c) for c in args.clients.split(",") if c]:
            results = [None] * clients

            def worker(i):
                results[i] = socket_translate(sock, SENTENCE, frm, to, model_path)

            t0 = time.perf_counter()
            threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
            for t in threads: t.start()
            for t in threads: t.join()
            wall = time.perf_counter() - t0
            gen = sum(r[2]["generated_tokens"] for r in results)
            throughput[clients] = {
                "wall_s": wall, "translations_per_s": clients / wall, "generated_tokens_per_s": gen / wall,
                "median_first_ms": statistics.median(r[0] for r in results),
                "max_total_ms": max(r[1] for r in results),
            }
    finally:
        subprocess.run([args.hydra, "daemon", "stop"], env=env, stdout=subprocess.DEVNULL)
        shutil.rmtree(runtime, ignore_errors=True)

    load = os.getloadavg()
    print(f"model {args.model}, {args.threads} threads, sentence {SENTENCE!r} ({tokens} generated tokens), "
          f"median of {args.runs} runs, load average {load[0]:.1f} on {os.cpu_count()} cores\n")
    print("| path | first output (ms) | total (ms) |\n|---|---:|---:|")
    summary = {}
    for name, runs in rows.items():
        first = statistics.median(r[0] for r in runs)
        total = statistics.median(r[1] for r in runs)
        summary[name] = {"first_ms": first, "total_ms": total}
        print(f"| {name} | {first:.0f} | {total:.0f} |")
    print("\nThroughput: every client sends the sentence at once; the daemon decodes their translations together.\n")
    print("| clients | wall (s) | translations/s | generated tokens/s | median first output (ms) | slowest total (ms) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for c, t in throughput.items():
        print(f"| {c} | {t['wall_s']:.2f} | {t['translations_per_s']:.2f} | {t['generated_tokens_per_s']:.0f} "
              f"| {t['median_first_ms']:.0f} | {t['max_total_ms']:.0f} |")
    os.makedirs(os.path.join(ROOT, "bench", "out"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "out", f"daemon-{args.model}.json"), "w") as f:
        json.dump({"model": args.model, "load_average": os.getloadavg()[0], "threads": args.threads, "sentence": SENTENCE, "generated_tokens": tokens,
                   "latency": summary, "throughput": throughput}, f, indent=1)


if __name__ == "__main__":
    main()
