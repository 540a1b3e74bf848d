#!/usr/bin/env python3
"""Writes the golden fixtures under Tests/Fixtures/<model key>/ from llama.cpp.

hydra must compute the same tokens and logits as llama.cpp. This script asks
llama.cpp (through llama-cpp-python, and the tools that
scripts/build-llama-cpp.sh builds) for reference values on the three small
models and stores them as small JSON files that the Swift tests read:

  tokenizer.json   token ids of the shared test text and edge cases
  logits.json      last-position logits of a few prompts (top 50 + a sample)
  greedy.json      32-token greedy continuations
  perplexity.json  llama-perplexity on Tests/Fixtures/perplexity.txt
  completion.json  llama-completion's greedy continuations with its defaults
                   (flash attention on), one of them past 256 positions

Logits, greedy continuations, completions and perplexity depend on the CPU: ggml rounds
differently per instruction set (the width of its vector sums, its
exponential). Those three go to Tests/Fixtures/<key>/<variant>/, where the
variant ("avx512", "avx2" or "generic") is the one this CPU gets, as
hydra_arithmetic_variant() names it; run this script on a machine of each
kind the tests must pass on.
  dequant.json     dequantized values of one tensor per tensor type

Usage:
  python3 scripts/make-fixtures.py                      # everything
  python3 scripts/make-fixtures.py --only tokenizer     # some kinds
  python3 scripts/make-fixtures.py --models gemma3-270m # some models

Models are read from $HYDRA_MODELS (default ~/.cache/hydra/models); fetch
them with scripts/setup.sh gemma3-270m smollm2-135m qwen2.5-0.5b.
"""

import argparse
import ctypes
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "Tests" / "Fixtures"
MODELS_DIR = Path(os.environ.get("HYDRA_MODELS", Path.home() / ".cache" / "hydra" / "models"))
LLAMA_CPP_DIR = Path(os.environ.get("HYDRA_LLAMA_CPP", Path.home() / ".cache" / "hydra" / "llama.cpp"))

MODELS = {
    "smollm2-135m": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3-270m": "gemma-3-270m-Q4_K_M.gguf",
    "qwen2.5-0.5b": "qwen2.5-coder-0.5b-instruct-Q4_K_M.gguf",
}
KINDS = ["tokenizer", "logits", "greedy", "perplexity", "completion", "dequant"]

# Fixed settings: the fixtures must not depend on the machine.
N_THREADS = 2
SEED = 1234
N_CTX = 512
N_BATCH = 512
LOGIT_STRIDE = 97
TOP_K = 50
N_PREDICT = 32
PPL_CTX = 128
PPL_BATCH = 128
DEQUANT_MAX = 4096

TRANSLATE_REQUEST = "Translate into Russian: The weather is good today, so we are going for a walk."

# Text with the model's special tokens, tokenized with and without parse_special.
SPECIAL_TEXT = {
    "smollm2-135m": "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\nHi.<|endoftext|>",
    "gemma3-270m": "<start_of_turn>user\nHello!<end_of_turn>\n<start_of_turn>model\nHi.<eos>",
    "qwen2.5-0.5b": "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|endoftext|>",
}

EDGE_CASES = [
    ("empty", ""),
    ("space", " "),
    ("two-spaces", "  "),
    ("tab", "\t"),
    ("leading-spaces", "  leading"),
    ("leading-space-word", " hello"),
    ("newlines", "\n\n\n"),
    ("hello-world", "hello world"),
    ("Hello-World", "Hello World"),
    ("words-blank-line", "a\n\nb"),
    ("tatar-word", "сөйләшәм"),
    ("flag", "🇹🇷"),
    ("zwj-family", "👨‍👩‍👧‍👦"),
    ("digits", "1234567"),
]


# ---------------------------------------------------------------- helpers


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def round6(x):
    """A float rounded to 6 significant digits (logits: enough for any tolerance we test)."""
    return float("%.6g" % x)


def exact32(x):
    """The shortest decimal that reads back as the same float32."""
    return float(str(np.float32(x)))


def dump(obj, path):
    """Writes JSON with one line per object field and number lists kept on one line."""

    def enc(o, indent):
        pad = " " * indent
        if isinstance(o, dict):
            items = [f'{pad} {json.dumps(k)}: {enc(v, indent + 1)}' for k, v in o.items()]
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(o, list) and any(isinstance(v, (dict, list)) and not is_pair(v) for v in o):
            items = [pad + " " + enc(v, indent + 1) for v in o]
            return "[\n" + ",\n".join(items) + "\n" + pad + "]"
        return json.dumps(o, ensure_ascii=False)

    def is_pair(v):
        return isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v)

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(enc(obj, 0) + "\n", encoding="utf-8")
    print(f"  wrote {path.relative_to(REPO)} ({path.stat().st_size // 1024} KiB)")


def llama_bin_dir():
    """The reference tools; built on first use."""
    bin_dir = LLAMA_CPP_DIR / "build" / "bin"
    if not (bin_dir / "llama-perplexity").exists() or not (bin_dir / "dequant").exists():
        subprocess.run([str(REPO / "scripts" / "build-llama-cpp.sh")], check=True)
    return bin_dir


def paragraphs(text):
    """The test text cut at blank lines (the pieces that are tokenized one by one)."""
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


# ---------------------------------------------------------------- llama.cpp


class Reference:
    """One model loaded in llama.cpp through llama-cpp-python."""

    def __init__(self, key):
        import llama_cpp

        self.lc = llama_cpp
        self.key = key
        self.path = MODELS_DIR / MODELS[key]
        if not self.path.exists():
            sys.exit(f"missing {self.path}: run scripts/setup.sh gemma3-270m smollm2-135m qwen2.5-0.5b")
        # flash_attn and the KV cache types are left at llama-cpp-python's
        # defaults; the values used are read back and recorded below.
        self.llm = llama_cpp.Llama(
            model_path=str(self.path),
            n_ctx=N_CTX,
            n_batch=N_BATCH,
            n_threads=N_THREADS,
            n_threads_batch=N_THREADS,
            seed=SEED,
            logits_all=False,
            verbose=False,
        )
        self.vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        self.sha = sha256(self.path)

    def header(self):
        cp = self.llm.context_params
        fa = {-1: "auto", 0: "disabled", 1: "enabled"}.get(cp.flash_attn_type, str(cp.flash_attn_type))
        ggml_names = {0: "f32", 1: "f16", 8: "q8_0", 30: "bf16"}
        return {
            "generator": "scripts/make-fixtures.py",
            "llama_cpp_python": self.lc.__version__,
            "model": MODELS[self.key],
            "model_sha256": self.sha,
            "settings": {
                "n_threads": N_THREADS,
                "seed": SEED,
                "n_ctx": N_CTX,
                "n_batch": N_BATCH,
                "flash_attn": fa,
                "type_k": ggml_names.get(cp.type_k, str(cp.type_k)),
                "type_v": ggml_names.get(cp.type_v, str(cp.type_v)),
            },
        }

    def tokenize(self, text, add_special, parse_special):
        return self.llm._model.tokenize(text.encode("utf-8"), add_special, parse_special)

    def detokenize(self, ids):
        """llama_detokenize, keeping the text of special tokens out (as a user sees it)."""
        arr = (self.lc.llama_token * len(ids))(*ids)
        size = 64 + 64 * len(ids)
        buf = ctypes.create_string_buffer(size)
        n = self.lc.llama_detokenize(self.vocab, arr, len(ids), buf, size, False, False)
        return buf.raw[:n].decode("utf-8", errors="replace")

    def last_logits(self, ids):
        """Evaluates ids from an empty cache; the logits of the last position."""
        self.llm.reset()
        self.llm.eval(ids)
        ptr = self.lc.llama_get_logits_ith(self.llm.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()

    def chat_prompt(self, user):
        """The user turn in the model's own chat format, ready for the assistant's answer."""
        template = self.llm.metadata.get("tokenizer.chat_template")
        if template is None:
            # Gemma 3 270M is the base model and carries no template: use
            # Gemma's turn format (llama.cpp's built-in "gemma" template).
            return f"<start_of_turn>user\n{user}<end_of_turn>\n<start_of_turn>model\n", "gemma (built-in)"
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        formatter = Jinja2ChatFormatter(template=template, eos_token="", bos_token="")
        return formatter(messages=[{"role": "user", "content": user}]).prompt, "tokenizer.chat_template"

    def is_eog(self, token):
        return bool(self.lc.llama_vocab_is_eog(self.vocab, token))


# ---------------------------------------------------------------- fixtures


def make_tokenizer(ref):
    text = (FIXTURES / "tokenizer-text.txt").read_text(encoding="utf-8")
    inputs = [("text", text, [False])]
    inputs += [(f"paragraph-{i + 1}", p, [False]) for i, p in enumerate(paragraphs(text))]
    inputs += [(name, t, [False]) for name, t in EDGE_CASES]
    inputs += [("special-tokens", SPECIAL_TEXT[ref.key], [False, True])]
    cases = []
    for name, t, parse_modes in inputs:
        for parse_special in parse_modes:
            for add_special in (True, False):
                cases.append({
                    "name": name,
                    "text": t,
                    "add_special": add_special,
                    "parse_special": parse_special,
                    "ids": ref.tokenize(t, add_special, parse_special),
                })
    out = ref.header()
    out["text_file"] = "../tokenizer-text.txt"
    out["cases"] = cases
    return out


def logits_prompts(ref):
    chat, source = ref.chat_prompt(TRANSLATE_REQUEST)
    return [
        ("english", "The quick brown fox jumps over the lazy dog because", False),
        ("russian", "Москва — столица России, и в ней живёт", False),
        ("tatar", "Казан — Татарстанның башкаласы, һәм анда", False),
        ("chat-translate", chat, True),
        ("code", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    if n < 2:\n", False),
    ], source


def make_logits(ref):
    prompts, template_source = logits_prompts(ref)
    cases = []
    for name, prompt, parse_special in prompts:
        ids = ref.tokenize(prompt, True, parse_special)
        logits = ref.last_logits(ids)
        order = np.argsort(-logits, kind="stable")[:TOP_K]
        cases.append({
            "name": name,
            "prompt": prompt,
            "parse_special": parse_special,
            "ids": ids,
            "top": [[int(i), round6(logits[i])] for i in order],
            "stride": LOGIT_STRIDE,
            "sample": [round6(v) for v in logits[::LOGIT_STRIDE]],
        })
    out = ref.header()
    out["chat_template"] = template_source
    out["n_vocab"] = ref.n_vocab
    out["cases"] = cases
    return out


def make_greedy(ref):
    chat, template_source = ref.chat_prompt(TRANSLATE_REQUEST)
    prompts = [
        ("english", "Once upon a time, in a small village by the river,", False),
        ("chat-translate", chat, True),
        ("code", "# Python: check whether a number is prime\ndef is_prime(n):\n", False),
        ("russian", "Жили-были дед да баба. Была у них", False),
    ]
    cases = []
    for name, prompt, parse_special in prompts:
        prompt_ids = ref.tokenize(prompt, True, parse_special)
        context = list(prompt_ids)
        generated = []
        stopped = False
        logits = ref.last_logits(context)
        for _ in range(N_PREDICT):
            token = int(np.argmax(logits))
            generated.append(token)
            if ref.is_eog(token):
                stopped = True
                break
            # Continue from the cache: only the new token is evaluated.
            ref.llm.eval([token])
            ptr = ref.lc.llama_get_logits_ith(ref.llm.ctx, -1)
            logits = np.ctypeslib.as_array(ptr, shape=(ref.n_vocab,)).copy()
        cases.append({
            "name": name,
            "prompt": prompt,
            "parse_special": parse_special,
            "prompt_ids": prompt_ids,
            "n_predict": N_PREDICT,
            "ids": generated,
            "stopped_at_eog": stopped,
            "text": ref.detokenize(generated),
        })
    out = ref.header()
    out["chat_template"] = template_source
    out["sampling"] = "argmax of the last logits (temperature 0); ids include the end-of-generation token when one was produced"
    out["cases"] = cases
    return out


def run_perplexity(cmd):
    """Runs llama-perplexity; its log (stdout and stderr together)."""
    run = subprocess.run(cmd, capture_output=True, text=True)
    log = run.stdout + run.stderr
    if run.returncode != 0:
        sys.exit(f"llama-perplexity failed:\n{log[-3000:]}")
    return log


def final_ppl(log):
    final = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", log)
    return float(final.group(1)), float(final.group(2))


def make_perplexity(ref, bin_dir):
    text_file = FIXTURES / "perplexity.txt"
    args = ["-c", str(PPL_CTX), "-b", str(PPL_BATCH), "-t", str(N_THREADS)]
    cmd = [str(bin_dir / "llama-perplexity"), "-m", str(ref.path), "-f", str(text_file)] + args
    log = run_perplexity(cmd)
    ppl, stderr = final_ppl(log)
    chunks = int(re.search(r"calculating perplexity over (\d+) chunks", log).group(1))
    running = [float(v) for v in re.findall(r"\[\d+\]([0-9.]+)", log)]

    # The tool's default flash attention is "auto", which turns it on for the
    # CPU. Its f16 attention arithmetic moves the result a little, so the
    # value with flash attention off (f32 attention, as the logits fixtures
    # use) is stored too.
    verbose = run_perplexity(cmd + ["-v"])
    fa_used = "FLASH_ATTN_EXT" in verbose
    kv = re.search(r"K \((\w+)\).*V \((\w+)\)", verbose)
    ppl_off, stderr_off = final_ppl(run_perplexity(cmd + ["-fa", "off"]))

    out = ref.header()
    del out["settings"]
    out.update({
        "text_file": "../../perplexity.txt",
        "n_ctx": PPL_CTX,
        "n_batch": PPL_BATCH,
        "ppl": ppl,
        "ppl_stderr": stderr,
        "chunks": chunks,
        "running_ppl": running,
        "flash_attn": "auto (resolved to " + ("enabled" if fa_used else "disabled") + ")",
        "type_k": kv.group(1) if kv else "unknown",
        "type_v": kv.group(2) if kv else "unknown",
        "tool": "llama-perplexity -m MODEL -f Tests/Fixtures/perplexity.txt " + " ".join(args),
        "ppl_flash_attn_off": ppl_off,
        "ppl_stderr_flash_attn_off": stderr_off,
        "tool_flash_attn_off": "llama-perplexity -m MODEL -f Tests/Fixtures/perplexity.txt "
                               + " ".join(args) + " -fa off",
        "method": "llama-perplexity: tokens = tokenize(text, add_special=true); chunks = "
                  "len(tokens) / n_ctx (rest dropped); each chunk is evaluated from an empty "
                  "cache with its first token replaced by BOS when the model adds one; the "
                  "logits at positions n_ctx/2 .. n_ctx-2 score the next token (n_ctx/2 - 1 "
                  "tokens per chunk); ppl = exp(mean negative log-likelihood over all chunks)",
    })
    return out


def completion_prompts():
    """Raw prompts for llama-completion: two short ones (decoded one query at a
    time) and one of about 600 tokens: its prompt runs in two batches of
    tiles (512 tokens, then the rest), its decoding past 256 positions splits
    the positions over the threads, and past 512 Gemma 3's sliding window
    (512) leaves the first positions out."""
    text = (FIXTURES / "perplexity.txt").read_text(encoding="utf-8")
    long = ""
    for paragraph in text.split("\n\n"):
        if len(long) >= 2700:
            break
        long += paragraph + "\n\n"
    return [
        ("english", "Once upon a time, in a small village by the river,"),
        ("russian", "Жили-были дед да баба. Была у них"),
        ("long", long.rstrip("\n")),
    ]


def make_completion(key, bin_dir):
    """llama-completion with its defaults (flash attention auto, which the CPU
    backend turns on; -c from the model) but greedy, 2 threads, and the
    continuation only: what `hydra generate --greedy -t 2` must print."""
    path = MODELS_DIR / MODELS[key]
    args = ["-n", str(N_PREDICT), "--temp", "0", "-t", str(N_THREADS), "-s", str(SEED),
            "--simple-io", "-no-cnv", "--no-display-prompt"]
    cases = []
    for name, prompt in completion_prompts():
        run = subprocess.run([str(bin_dir / "llama-completion"), "-m", str(path), "-p", prompt] + args,
                             capture_output=True, text=True, check=True)
        # The tool ends its output with "\n\n", after " [end of text]\n" when
        # the model ended the text: neither is part of the continuation.
        text = run.stdout
        assert text.endswith("\n\n"), text
        text = text[:-2]
        if text.endswith(" [end of text]\n"):
            text = text[: -len(" [end of text]\n")]
        cases.append({"name": name, "prompt": prompt, "n_predict": N_PREDICT, "text": text})
    return {
        "generator": "scripts/make-fixtures.py",
        "model": MODELS[key],
        "model_sha256": sha256(path),
        "tool": "llama-completion -m MODEL -p PROMPT " + " ".join(args),
        "flash_attn": "auto (llama-completion's default; enabled on the CPU)",
        "cases": cases,
    }


def make_dequant(ref, bin_dir):
    import gguf
    from gguf.quants import dequantize

    reader = gguf.GGUFReader(str(ref.path))
    chosen = {}
    for t in reader.tensors:
        chosen.setdefault(t.tensor_type, t)  # the first tensor of each type, file order
    tensors = []
    for qtype, t in chosen.items():
        block, _ = gguf.GGML_QUANT_SIZES[qtype]
        row = int(t.shape[0])
        count = max(min(2 * row, DEQUANT_MAX), block)
        count = min(count, int(t.n_elements))
        run = subprocess.run([str(bin_dir / "dequant"), str(ref.path), t.name, str(count)],
                             capture_output=True, text=True, check=True)
        lines = run.stdout.splitlines()
        values = np.array([float(v) for v in lines[1:]], dtype=np.float32)
        assert len(values) == count, (t.name, len(values), count)
        # Cross-check with gguf-py's port of the same dequantization.
        n_blocks = -(-count // block)
        flat = np.asarray(t.data).reshape(-1).view(np.uint8)
        type_bytes = gguf.GGML_QUANT_SIZES[qtype][1]
        py = dequantize(flat[: n_blocks * type_bytes], qtype).reshape(-1)[:count].astype(np.float32)
        tensors.append({
            "name": t.name,
            "type": qtype.name,
            "shape": [int(s) for s in t.shape],
            "count": count,
            "gguf_py_max_abs_diff": float(np.max(np.abs(py - values))) if count else 0.0,
            "values": [exact32(v) for v in values],
        })
    out = ref.header()
    del out["settings"]
    out["source"] = "ggml_get_type_traits(type)->to_float (scripts/reference/dequant.c), values exact as float32"
    out["tensors"] = tensors
    return out


def arithmetic_variant():
    """The variant of ggml's (and hydra's) float arithmetic on this CPU, as
    both are built with -march=native: AVX-512 (F and DQ), else AVX2 with
    FMA and F16C, else generic C."""
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    if {"avx512f", "avx512dq"} <= flags:
        return "avx512"
    if {"avx2", "fma", "f16c"} <= flags:
        return "avx2"
    return "generic"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(KINDS), help="comma-separated kinds: " + ",".join(KINDS))
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated keys: " + ",".join(MODELS))
    parser.add_argument("--variant", help="the CPU kind to write fixtures for (default: this CPU's); with "
                        "--llama-bin, tools built for that kind's instruction set (e.g. -march=haswell for avx2), "
                        "which compute its results on any CPU that runs them")
    parser.add_argument("--llama-bin", help="directory of the llama.cpp tools to use (default: scripts/build-llama-cpp.sh's)")
    args = parser.parse_args()
    kinds = args.only.split(",")
    keys = args.models.split(",")
    bin_dir = None
    if {"perplexity", "completion", "dequant"} & set(kinds):
        bin_dir = Path(args.llama_bin) if args.llama_bin else llama_bin_dir()

    for key in keys:
        print(f"{key}:")
        target = FIXTURES / key
        per_cpu = target / (args.variant or arithmetic_variant())
        if "completion" in kinds:
            dump(make_completion(key, bin_dir), per_cpu / "completion.json")
        if set(kinds) <= {"completion"}:
            continue  # llama-completion needs no llama-cpp-python
        ref = Reference(key)
        if "tokenizer" in kinds:
            dump(make_tokenizer(ref), target / "tokenizer.json")
        if "logits" in kinds:
            dump(make_logits(ref), per_cpu / "logits.json")
        if "greedy" in kinds:
            dump(make_greedy(ref), per_cpu / "greedy.json")
        if "perplexity" in kinds:
            dump(make_perplexity(ref, bin_dir), per_cpu / "perplexity.json")
        if "dequant" in kinds:
            dump(make_dequant(ref, bin_dir), target / "dequant.json")


if __name__ == "__main__":
    main()
