#!/usr/bin/env python3
"""Makes the Hugging Face checkpoints that `hydra convert` is tested on, and
transformers' answers on them.

No model hub is reachable here, so the checkpoints are made from the cached
SmolLM2-135M-Instruct GGUF (Q4_1): transformers loads it (dequantizing to
float32 and undoing llama.cpp's Q/K permutation), a fresh float32 model made
from the same config takes its state dict, and `save_pretrained` writes it as
safetensors with the tokenizer.

  <out>/smollm2-135m-hf/       LlamaForCausalLM, float32, one model.safetensors
  <out>/smollm2-135m-hf-bf16/  the same weights in bfloat16, in two shards
                               (model.safetensors.index.json)
  <out>/smollm2-135m-hydra/    LlamaHydraForCausalLM (METHODS.md), see below
  <out>/smollm2-135m-hf-spm/   the float32 weights (hard links) with a
                               SentencePiece tokenizer.model instead of
                               tokenizer.json: a 2,000-piece BPE model with
                               byte fallback trained on data/tt/en-tt.tsv,
                               Llama-2's normalization (none) and special
                               tokens; spm-ids.json holds
                               SentencePiece's own ids for a few texts

The Hydra layout is synthetic but complete: SmolLM2 has no second language,
so its "new language" head reuses SmolLM2's tokenizer with its own rows
(seeded Gaussian noise of 5% of each table's standard deviation added to the
model's embedding rows, different noise for the input and the output table).
The input table is the new-language rows followed by SmolLM2's rows
(input_vocab_size = 2 × 49152), the LM head has the new-language rows only
(output_vocab_size = 49152, untied). The top-level tokenizer is the
new-language one; the source (SmolLM2) tokenizer is in source_tokenizer/.

The other architectures, each from its cached GGUF and cut to its first
layers (the converter and the forward pass see every kind of tensor and
layer they have; the checkpoint stays small):
  <out>/qwen2.5-0.5b-hf/       Qwen2ForCausalLM (Qwen2.5-Coder-0.5B-Instruct,
                               Q4_K_M), layers 0-3 of 24: Q/K/V biases,
                               tied embeddings, float32
  <out>/gemma3-270m-hf/        Gemma3ForCausalLM (gemma-3-270m, Q4_K_M),
                               layers 0-5 of 18 (five sliding-window layers
                               and a global one), float32, with a SentencePiece
                               tokenizer.model made from the GGUF's pieces,
                               scores and types (what Gemma 3 checkpoints
                               ship and llama.cpp's converter reads)

Fixtures (small JSON, committed) go to Tests/Fixtures/convert/:
  smollm2-135m.json        per prompt: transformers' token ids, last-position
                           logits (top 64 and every 97th id), 16 greedy tokens
  qwen2.5-0.5b.json, gemma3-270m.json   the same for those checkpoints
  smollm2-135m-hydra.json  a prompt mixing both vocabularies: the reference
                           forward's logits through the new head, and 8 greedy
                           new-language tokens (each fed back as new input)

Usage: make-hf-checkpoints.py [--out DIR] [--fixtures] (default out:
~/.cache/hydra/convert-test). Checkpoints already made are kept.
"""

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer  # noqa: E402

REPO = Path(__file__).resolve().parent.parent.parent
FIXTURES = REPO / "Tests" / "Fixtures" / "convert"
MODELS = Path(os.environ.get("HYDRA_MODELS", Path.home() / ".cache" / "hydra" / "models"))
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n",
    "Once upon a time, in a small village,",
]
HYDRA_NOISE = 0.05
SAMPLE_STRIDE = 97


def log(msg):
    print(f"make-hf-checkpoints: {msg}", file=sys.stderr, flush=True)


# Other architectures: name -> (GGUF file, layers kept).
CUT = {
    "qwen2.5-0.5b": ("qwen2.5-coder-0.5b-instruct-Q4_K_M.gguf", 4),
    "gemma3-270m": ("gemma-3-270m-Q4_K_M.gguf", 6),
}


def load_from_gguf(gguf=GGUF, layers=None):
    model = AutoModelForCausalLM.from_pretrained(str(MODELS), gguf_file=gguf, torch_dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(str(MODELS), gguf_file=gguf)
    # A GGUF-loaded model refuses to save: copy it into a plain one.
    config = AutoConfig.from_pretrained(str(MODELS), gguf_file=gguf)
    config.torch_dtype = torch.float32
    state = model.state_dict()
    if layers is not None:
        # The first `layers` blocks only: drop the others' weights.
        config.num_hidden_layers = layers
        if getattr(config, "layer_types", None):
            config.layer_types = config.layer_types[:layers]
        state = {k: v for k, v in state.items()
                 if ".layers." not in k or int(k.split(".layers.")[1].split(".")[0]) < layers}
    plain = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32)
    plain.load_state_dict(state)
    plain.eval()
    return plain, tokenizer


def logits_entry(logits):
    top = torch.topk(logits, 64)
    sample = list(range(0, logits.shape[0], SAMPLE_STRIDE))
    return {
        "top_ids": top.indices.tolist(),
        "top_logits": top.values.tolist(),
        "sample_ids": sample,
        "sample_logits": logits[sample].tolist(),
    }


def make_plain(out, model, tokenizer):
    d = out / "smollm2-135m-hf"
    if not (d / "model.safetensors").exists():
        model.save_pretrained(d, safe_serialization=True)
        tokenizer.save_pretrained(d)
        log(f"wrote {d}")
    b = out / "smollm2-135m-hf-bf16"
    if not (b / "model.safetensors.index.json").exists():
        model.to(torch.bfloat16).save_pretrained(b, safe_serialization=True, max_shard_size="150MB")
        model.to(torch.float32)
        tokenizer.save_pretrained(b)
        log(f"wrote {b}")


def sentencepiece_model(gguf, path):
    """A SentencePiece BPE model with the GGUF's pieces, scores and types
    (Gemma's: byte fallback, no dummy prefix, whitespace kept as ▁)."""
    import gguf as gg
    from sentencepiece import sentencepiece_model_pb2 as pb
    r = gg.GGUFReader(str(MODELS / gguf))
    f = r.fields
    tokens = [bytes(f["tokenizer.ggml.tokens"].parts[i]).decode("utf-8") for i in f["tokenizer.ggml.tokens"].data]
    scores = [float(f["tokenizer.ggml.scores"].parts[i][0]) for i in f["tokenizer.ggml.scores"].data]
    types = [int(f["tokenizer.ggml.token_type"].parts[i][0]) for i in f["tokenizer.ggml.token_type"].data]
    m = pb.ModelProto()
    m.trainer_spec.model_type = pb.TrainerSpec.BPE
    m.trainer_spec.vocab_size = len(tokens)
    m.trainer_spec.byte_fallback = True
    m.normalizer_spec.name = "identity"
    m.normalizer_spec.add_dummy_prefix = False
    m.normalizer_spec.remove_extra_whitespaces = False
    m.normalizer_spec.escape_whitespaces = True
    for t, sc, ty in zip(tokens, scores, types):
        piece = m.pieces.add()
        piece.piece, piece.score, piece.type = t, sc, ty
    Path(path).write_bytes(m.SerializeToString())


def make_cut(out, name, model, tokenizer):
    d = out / f"{name}-hf"
    if not (d / "model.safetensors").exists():
        part = out / f"{name}-hf.part"
        model.save_pretrained(part, safe_serialization=True)
        tokenizer.save_pretrained(part)
        if name.startswith("gemma3"):
            sentencepiece_model(CUT[name][0], part / "tokenizer.model")
        part.rename(d)
        log(f"wrote {d}")


def plain_fixture(model, tokenizer, name="smollm2-135m-hf (float32, from " + GGUF + ")"):
    cases = []
    with torch.no_grad():
        for p in PROMPTS:
            ids = tokenizer(p, return_tensors="pt").input_ids
            logits = model(ids).logits[0, -1].float()
            gen = model.generate(ids, max_new_tokens=16, do_sample=False, top_k=None, top_p=None,
                                 temperature=None, pad_token_id=tokenizer.eos_token_id)
            cases.append({"prompt": p, "ids": ids[0].tolist(), **logits_entry(logits),
                          "greedy": gen[0, ids.shape[1]:].tolist()})
    return {"model": name, "transformers": __import__("transformers").__version__,
            "torch": torch.__version__, "cases": cases}


def hydra_tables(model):
    emb = model.model.embed_tokens.weight.detach().float()
    g = torch.Generator().manual_seed(1234)
    std = emb.std()
    new_in = emb + HYDRA_NOISE * std * torch.randn(emb.shape, generator=g)
    new_out = emb + HYDRA_NOISE * std * torch.randn(emb.shape, generator=g)
    return emb, new_in, new_out


def make_hydra(out, model, tokenizer):
    d = out / "smollm2-135m-hydra"
    if (d / "model.safetensors").exists():
        return
    d.mkdir(parents=True, exist_ok=True)
    emb, new_in, new_out = hydra_tables(model)
    n = emb.shape[0]
    state = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()
             if k not in ("model.embed_tokens.weight", "lm_head.weight")}
    state["model.embed_tokens.weight"] = torch.cat([new_in, emb], dim=0).contiguous()
    state["lm_head.weight"] = new_out.contiguous()
    save_file(state, str(d / "model.safetensors"), metadata={"format": "pt"})
    config = model.config.to_dict()
    config["architectures"] = ["LlamaHydraForCausalLM"]
    config["input_vocab_size"] = 2 * n
    config["output_vocab_size"] = n
    config["vocab_size"] = n
    config["tie_word_embeddings"] = False
    config["torch_dtype"] = "float32"
    (d / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    tokenizer.save_pretrained(d)
    tokenizer.save_pretrained(d / "source_tokenizer")
    log(f"wrote {d}")


def hydra_fixture(model, tokenizer):
    """Plain-PyTorch reference: input rows picked by hand from the hydra
    input table, the body run on inputs_embeds, logits = h · new_out^T."""
    emb, new_in, new_out = hydra_tables(model)
    n = emb.shape[0]
    table = torch.cat([new_in, emb], dim=0)
    src = tokenizer("Translate to the new language: good morning", add_special_tokens=False).input_ids
    new = tokenizer(" Good", add_special_tokens=False).input_ids
    # Hydra input ids: new-language ids as they are, source ids offset by n.
    mixed = [("source", t) for t in src] + [("new", t) for t in new]
    hydra_ids = [t + n if h == "source" else t for h, t in mixed]
    with torch.no_grad():
        def last_logits(ids):
            x = table[torch.tensor(ids)].unsqueeze(0)
            h = model.model(inputs_embeds=x).last_hidden_state[0, -1]
            return h @ new_out.T
        logits = last_logits(hydra_ids)
        entry = logits_entry(logits)
        ids = list(hydra_ids)
        greedy = []
        for _ in range(8):
            t = int(torch.argmax(last_logits(ids)))
            greedy.append(t)
            ids.append(t)
    return {"model": "smollm2-135m-hydra (synthetic LlamaHydraForCausalLM, see scripts/reference/make-hf-checkpoints.py)",
            "noise": HYDRA_NOISE, "source_vocab": n, "tokens": [{"head": h, "id": t} for h, t in mixed],
            **entry, "greedy": greedy}


SPM_TEXTS = [
    "The weather is good today.",
    "Бүген һава яхшы.",
    "  two  spaces, tabs\tand a new\nline",
    "emoji 🙂 and ü",
]


def make_spm(out):
    """SmolLM2's weights with a SentencePiece tokenizer (see the docstring)."""
    d = out / "smollm2-135m-hf-spm"
    if (d / "tokenizer.model").exists():
        return
    import shutil
    import sentencepiece as spm
    src = out / "smollm2-135m-hf"
    part = out / "smollm2-135m-hf-spm.part"
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir()
    for name in ("config.json", "model.safetensors", "generation_config.json"):
        if (src / name).exists():
            os.link(src / name, part / name)
    lines = [side for line in (REPO / "data" / "tt" / "en-tt.tsv").read_text(encoding="utf-8").splitlines()
             for side in line.split("\t")[:2]]
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_prefix=str(part / "tokenizer"),
                                   vocab_size=2000, model_type="bpe", byte_fallback=True, character_coverage=1.0,
                                   num_threads=1, minloglevel=2,
                                   # as Llama's own: no normalization, whitespace kept
                                   normalization_rule_name="identity", remove_extra_whitespaces=False)
    (part / "tokenizer.vocab").unlink()
    special = {"0": "<unk>", "1": "<s>", "2": "</s>"}
    (part / "tokenizer_config.json").write_text(json.dumps({
        "add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
        "unk_token": "<unk>", "tokenizer_class": "LlamaTokenizer", "legacy": False,
        "added_tokens_decoder": {i: {"content": c, "special": True} for i, c in special.items()},
    }, indent=1))
    sp = spm.SentencePieceProcessor(model_file=str(part / "tokenizer.model"))
    (part / "spm-ids.json").write_text(json.dumps([{"text": t, "ids": sp.encode(t)} for t in SPM_TEXTS]))
    part.rename(d)
    log(f"wrote {d}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(Path.home() / ".cache" / "hydra" / "convert-test"))
    ap.add_argument("--fixtures", action="store_true", help="also rewrite Tests/Fixtures/convert/")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    model, tokenizer = load_from_gguf()
    make_plain(out, model, tokenizer)
    make_hydra(out, model, tokenizer)
    make_spm(out)
    cut = {}
    for name, (gguf, layers) in CUT.items():
        if args.fixtures or not (out / f"{name}-hf" / "model.safetensors").exists():
            cut[name] = load_from_gguf(gguf, layers)
            make_cut(out, name, *cut[name])
    if args.fixtures:
        for name, (gguf, layers) in CUT.items():
            label = f"{name}-hf (float32, the first {layers} layers of {gguf})"
            (FIXTURES / f"{name}.json").write_text(json.dumps(plain_fixture(*cut[name], name=label)) + "\n")
        FIXTURES.mkdir(parents=True, exist_ok=True)
        (FIXTURES / "smollm2-135m.json").write_text(json.dumps(plain_fixture(model, tokenizer)) + "\n")
        (FIXTURES / "smollm2-135m-hydra.json").write_text(json.dumps(hydra_fixture(model, tokenizer)) + "\n")
        log(f"wrote fixtures in {FIXTURES}")


if __name__ == "__main__":
    main()
