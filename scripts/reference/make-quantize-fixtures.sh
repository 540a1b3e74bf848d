#!/usr/bin/env bash
# Runs llama-quantize on the quantization test inputs and writes, per input
# and type, Tests/Fixtures/quantize/INPUT-TYPE.json: the SHA-256 of the whole
# output file, of its header (metadata and tensor infos, up to the data), and
# of each tensor's bytes, with its type, in file order. QuantizeTests compares
# hydra's quantizer against these (CI does not build llama.cpp).
#
#   scripts/reference/make-quantize-fixtures.sh [INPUT...]
#   TYPES="f16 bf16" scripts/reference/make-quantize-fixtures.sh INPUT   # only these types
#
# Inputs: smollm2-135m-f32 (llama.cpp's F32 conversion of SmolLM2-135M-Instruct,
# made by scripts/reference/setup-convert.sh), smollm2-135m-q4_1,
# gemma3-270m-q4_k_m, qwen2.5-0.5b-q4_k_m and qwen2.5-1.5b-q4_k_m (the cached
# models, requantized with --allow-requantize). SmolLM2's, Gemma 3's and
# Qwen2.5-0.5B's rows (576, 640, 896) are not whole 256-blocks, so llama.cpp
# gives their matrices the 32-block fallbacks and only ffn_down a K type;
# Qwen2.5-1.5B's 1536 takes the K types everywhere.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${HYDRA_LLAMA_CPP:-$HOME/.cache/hydra/llama.cpp}"
MODELS="${HYDRA_MODELS:-$HOME/.cache/hydra/models}"
CONVERT="${HYDRA_CONVERT_TEST:-$HOME/.cache/hydra/convert-test}"
VENV="${HYDRA_CONVERT_VENV:-$HOME/.cache/hydra/venv-convert}"
OUT="$REPO/Tests/Fixtures/quantize"
QUANTIZE="$CACHE/build/bin/llama-quantize"
[[ -x "$QUANTIZE" ]] || "$REPO/scripts/build-llama-cpp.sh" >/dev/null
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"

inputs=("$@")
[[ ${#inputs[@]} -gt 0 ]] || inputs=(smollm2-135m-f32 smollm2-135m-q4_1 gemma3-270m-q4_k_m qwen2.5-0.5b-q4_k_m qwen2.5-1.5b-q4_k_m)

for input in "${inputs[@]}"; do
  case "$input" in
    smollm2-135m-f32)   src="$CONVERT/reference/smollm2-135m-f32.gguf"; flags=(); types=(f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q6_k q4_k_s q4_k_m q5_k_m) ;;
    smollm2-135m-q4_1)  src="$MODELS/SmolLM2-135M-Instruct.Q4_1.gguf"; flags=(--allow-requantize); types=(q8_0 q4_0 q4_k_m) ;;
    gemma3-270m-q4_k_m) src="$MODELS/gemma-3-270m-Q4_K_M.gguf"; flags=(--allow-requantize); types=(q8_0 q4_k_m) ;;
    qwen2.5-1.5b-q4_k_m) src="$MODELS/qwen2.5-coder-1.5b-instruct-Q4_K_M.gguf"; flags=(--allow-requantize); types=(q4_k_m q5_k_m) ;;
    qwen2.5-0.5b-q4_k_m) src="$MODELS/qwen2.5-coder-0.5b-instruct-Q4_K_M.gguf"; flags=(--allow-requantize); types=(q4_k_m q5_k_s) ;;
    *) echo "unknown input $input" >&2; exit 2 ;;
  esac
  [[ -z "${TYPES:-}" ]] || read -r -a types <<<"$TYPES"
  [[ -f "$src" ]] || { echo "$src is missing (scripts/reference/setup-convert.sh, scripts/setup.sh)" >&2; exit 1; }
  for t in "${types[@]}"; do
    echo "llama-quantize $input -> $t" >&2
    "$QUANTIZE" "${flags[@]}" "$src" "$TMP/out.gguf" "${t^^}" "$(nproc)" >"$TMP/log" 2>&1 || { cat "$TMP/log" >&2; exit 1; }
    "$VENV/bin/python" - "$TMP/out.gguf" "$input" "$t" "$OUT/$input-$t.json" <<'PY'
import hashlib, json, sys
from gguf import GGUFReader
path, input_name, qtype, out = sys.argv[1:]
r = GGUFReader(path)
data = open(path, "rb").read()
tensors = []
for t in r.tensors:
    b = data[t.data_offset:t.data_offset + t.n_bytes]
    tensors.append({"name": t.name, "type": t.tensor_type.name, "shape": [int(x) for x in t.shape],
                    "sha256": hashlib.sha256(b).hexdigest()})
start = min(t.data_offset for t in r.tensors)
json.dump({"input": input_name, "type": qtype, "tool": "llama-quantize",
           "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
           "header_bytes": start, "header_sha256": hashlib.sha256(data[:start]).hexdigest(),
           "tensors": tensors}, open(out, "w"), indent=1)
PY
  done
done
