#!/usr/bin/env python3
"""Makes a Hugging Face checkpoint shaped like Llama-2-7B (4096 wide, 32
heads, 11008 MLP) with random weights and only LAYERS of its 32 layers, for
bench/seven-b.sh. The tokenizer is SmolLM2's byte-level BPE, whole (a cut
vocabulary would change the token ids by which converters recognize its
pre-tokenizer), so the vocabulary is 49,152 rows instead of Llama-2's
32,000: the embedding and output matrices are 1.5 times Llama-2's, the
same for both tools, and the layers, which the extrapolation is made of,
are Llama-2-7B's exactly.

    make-7b-shaped.py --layers 2 --tokenizer DIR_WITH_tokenizer.json --out DIR
"""
import argparse
import json
import shutil
import sys
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

def copy_tokenizer(src: Path, out: Path):
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (src / name).exists():
            shutil.copy(src / name, out / name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--tokenizer", type=Path, required=True, help="a folder with SmolLM2's tokenizer.json")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    if (args.out / "config.json").exists():
        print(f"make-7b-shaped: {args.out} exists", file=sys.stderr)
        return
    vocab = len(json.loads((args.tokenizer / "tokenizer.json").read_text())["model"]["vocab"])
    torch.manual_seed(0)
    config = LlamaConfig(hidden_size=4096, intermediate_size=11008, num_hidden_layers=args.layers,
                         num_attention_heads=32, num_key_value_heads=32, vocab_size=vocab,
                         max_position_embeddings=4096, rms_norm_eps=1e-5, rope_theta=10000.0,
                         tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
                         initializer_range=0.02, torch_dtype="float16")
    model = LlamaForCausalLM(config).to(torch.float16)
    part = args.out.with_name(args.out.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    model.save_pretrained(part, safe_serialization=True, max_shard_size="2GB")
    copy_tokenizer(args.tokenizer, part)
    part.rename(args.out)
    print(f"make-7b-shaped: wrote {args.out} ({args.layers} layers)", file=sys.stderr)


if __name__ == "__main__":
    main()
