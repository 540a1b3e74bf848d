#!/usr/bin/env bash
# Converts a Hugging Face checkpoint with llama.cpp's own converter
# (convert_hf_to_gguf.py from the llama.cpp source that
# scripts/build-llama-cpp.sh unpacks, with its gguf-py), for comparing
# `hydra convert` with it tensor for tensor.
#
#   scripts/reference/convert-reference.sh HF_DIR OUT.gguf f32|f16|bf16|q8_0|vocab
#   (vocab: the tokenizer's keys only, --vocab-only)
set -euo pipefail
dir="$1"; out="$2"; type="$3"
mode=(--outtype "$type"); [[ "$type" == vocab ]] && mode=(--vocab-only)
CACHE="${HYDRA_LLAMA_CPP:-$HOME/.cache/hydra/llama.cpp}"
VENV="${HYDRA_CONVERT_VENV:-$HOME/.cache/hydra/venv-convert}"
src="$(ls -d "$CACHE"/src/llama_cpp_python-*/vendor/llama.cpp 2>/dev/null | head -1)"
[[ -f "$src/convert_hf_to_gguf.py" ]] || { echo "convert-reference: no llama.cpp source in $CACHE/src (run scripts/build-llama-cpp.sh)" >&2; exit 1; }
[[ -x "$VENV/bin/python" ]] || { echo "convert-reference: no Python environment at $VENV (run scripts/reference/setup-convert.sh)" >&2; exit 1; }
PYTHONPATH="$src/gguf-py" HF_HUB_OFFLINE=1 "$VENV/bin/python" "$src/convert_hf_to_gguf.py" "$dir" \
  --outfile "$out" "${mode[@]}" >/dev/null 2>"$out.log" || { tail -20 "$out.log" >&2; exit 1; }
rm -f "$out.log"
