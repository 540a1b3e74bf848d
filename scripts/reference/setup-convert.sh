#!/usr/bin/env bash
# Makes what the `hydra convert` tests (ConvertTests) need, outside the
# repository, in $HYDRA_CONVERT_TEST (default ~/.cache/hydra/convert-test):
#
#   - a Python environment ($HYDRA_CONVERT_VENV, default
#     ~/.cache/hydra/venv-convert) with transformers, safetensors, numpy and
#     the CPU-only torch wheel the machine image carries (else PyPI's CPU index);
#   - the Hugging Face checkpoints made from the cached SmolLM2 GGUF, and
#     from the Qwen2.5-0.5B and Gemma 3 270M GGUFs cut to their first layers
#     (scripts/reference/make-hf-checkpoints.py);
#   - llama.cpp's own conversions of one of them (F32 and Q8_0), of the
#     SentencePiece one (Q8_0) and of Gemma 3's tokenizer (--vocab-only), with the
#     convert_hf_to_gguf.py of the llama.cpp source scripts/build-llama-cpp.sh
#     unpacks.
#
# Needs smollm2-135m, qwen2.5-0.5b and gemma3-270m in the model cache
# (scripts/setup.sh smollm2-135m qwen2.5-0.5b gemma3-270m).
# Idempotent: what exists is kept.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${HYDRA_CONVERT_TEST:-$HOME/.cache/hydra/convert-test}"
VENV="${HYDRA_CONVERT_VENV:-$HOME/.cache/hydra/venv-convert}"
CACHE="${HYDRA_LLAMA_CPP:-$HOME/.cache/hydra/llama.cpp}"
mkdir -p "$OUT/reference"

if ! "$VENV/bin/python" -c "import torch, transformers, safetensors, accelerate, numpy, sentencepiece, yaml" 2>/dev/null; then
  echo "setup-convert: installing a Python environment in $VENV" >&2
  python3 -m venv "$VENV"
  torch_wheel="$(find / -name 'torch-*+cpu*.whl' -not -path '*/proc/*' 2>/dev/null | head -1 || true)"
  if [[ -n "$torch_wheel" ]]; then
    "$VENV/bin/pip" install -q "$torch_wheel"
  else
    "$VENV/bin/pip" install -q torch --index-url https://download.pytorch.org/whl/cpu
  fi
  "$VENV/bin/pip" install -q transformers safetensors accelerate numpy sentencepiece protobuf pyyaml gguf
fi

if [[ ! -f "$OUT/smollm2-135m-hydra/model.safetensors" || ! -f "$OUT/smollm2-135m-hf-bf16/model.safetensors.index.json" \
      || ! -f "$OUT/smollm2-135m-hf-spm/tokenizer.model" || ! -f "$OUT/qwen2.5-0.5b-hf/model.safetensors" \
      || ! -f "$OUT/gemma3-270m-hf/model.safetensors" ]]; then
  "$VENV/bin/python" "$REPO/scripts/reference/make-hf-checkpoints.py" --out "$OUT"
fi

# llama.cpp's source (unpacked by scripts/build-llama-cpp.sh; its tools are not needed here).
"$REPO/scripts/build-llama-cpp.sh" --source >/dev/null
for t in f32 q8_0; do
  ref="$OUT/reference/smollm2-135m-$t.gguf"
  [[ -f "$ref" ]] || "$REPO/scripts/reference/convert-reference.sh" "$OUT/smollm2-135m-hf" "$ref" "$t"
done
ref="$OUT/reference/gemma3-270m-vocab.gguf"
[[ -f "$ref" ]] || "$REPO/scripts/reference/convert-reference.sh" "$OUT/gemma3-270m-hf" "$ref" vocab
ref="$OUT/reference/smollm2-135m-spm-q8_0.gguf"
[[ -f "$ref" ]] || "$REPO/scripts/reference/convert-reference.sh" "$OUT/smollm2-135m-hf-spm" "$ref" q8_0
