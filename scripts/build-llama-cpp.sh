#!/usr/bin/env bash
# Builds the llama.cpp reference tools (llama-bench, llama-completion,
# llama-tokenize, llama-perplexity, llama-quantize) and scripts/reference/
# dequant.c from the llama.cpp source vendored in the llama-cpp-python sdist.
# The build lives outside the repository, in $HYDRA_LLAMA_CPP (default
# ~/.cache/hydra/llama.cpp); when the binaries are already there it does
# nothing.
#
#   scripts/build-llama-cpp.sh            # build once, print the bin dir
#   scripts/build-llama-cpp.sh --source   # only unpack the source, print its dir
#   JOBS=4 scripts/build-llama-cpp.sh     # parallel jobs (default 2)
#   LLAMA_CPP_SRC=/path/to/vendor/llama.cpp scripts/build-llama-cpp.sh
#                                         # use an unpacked copy, no download
#   HYDRA_LLAMA_VARIANT=avx2 scripts/build-llama-cpp.sh
#                                         # AVX2 without AVX-512 (build-avx2/):
#                                         # that CPU kind's results on any x86
#                                         # CPU that runs it, for its fixtures
set -euo pipefail

LCP_VERSION="${LCP_VERSION:-0.3.36}"
CACHE="${HYDRA_LLAMA_CPP:-$HOME/.cache/hydra/llama.cpp}"
JOBS="${JOBS:-2}"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
SRC="$CACHE/src/llama_cpp_python-$LCP_VERSION/vendor/llama.cpp"
VARIANT="${HYDRA_LLAMA_VARIANT:-native}"
case "$VARIANT" in
  native) BUILD="$CACHE/build"; ARCH_FLAGS=(-DGGML_NATIVE=ON) ;;
  avx2) BUILD="$CACHE/build-avx2"
        ARCH_FLAGS=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON) ;;
  *) echo "build-llama-cpp: HYDRA_LLAMA_VARIANT must be native or avx2" >&2; exit 2 ;;
esac
BIN="$BUILD/bin"
TOOLS=(llama-bench llama-completion llama-tokenize llama-perplexity llama-quantize)

all_built() {
  for t in "${TOOLS[@]}" dequant; do [[ -x "$BIN/$t" ]] || return 1; done
}

SOURCE_ONLY=0
[[ "${1:-}" == "--source" ]] && SOURCE_ONLY=1

if ((!SOURCE_ONLY)) && all_built; then
  echo "$BIN"
  exit 0
fi

mkdir -p "$CACHE/src"

# 0. Build tools: CMake and Ninja from Debian when they are missing.
need=()
if ((!SOURCE_ONLY)); then
  command -v cmake >/dev/null || need+=(cmake)
  command -v ninja >/dev/null || need+=(ninja-build)
  command -v g++ >/dev/null || need+=(g++)
  if ((${#need[@]})); then
    echo "build-llama-cpp: installing ${need[*]}" >&2
    SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi

# 1. Source: the sdist of llama-cpp-python vendors the matching llama.cpp.
if [[ ! -f "$SRC/CMakeLists.txt" ]]; then
  if [[ -n "${LLAMA_CPP_SRC:-}" && -f "$LLAMA_CPP_SRC/CMakeLists.txt" ]]; then
    # An unpacked copy already on the machine saves the download.
    mkdir -p "$(dirname "$SRC")"
    cp -a "$LLAMA_CPP_SRC" "$SRC"
  else
    dl="$(mktemp -d)"
    trap 'rm -rf "$dl"' EXIT
    python3 -m pip download -q --no-deps --no-binary=llama-cpp-python \
      -d "$dl" "llama-cpp-python==$LCP_VERSION"
    tar -xzf "$dl"/llama_cpp_python-"$LCP_VERSION".tar.gz -C "$CACHE/src"
  fi
fi

if ((SOURCE_ONLY)); then
  echo "$SRC"
  exit 0
fi

# 2. The tools, statically linked, tuned for this CPU as hydra's kernels are.
if ! all_built; then
  cmake -S "$SRC" -B "$BUILD" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    "${ARCH_FLAGS[@]}" -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF
  cmake --build "$BUILD" -j "$JOBS" --target "${TOOLS[@]}"
fi

# 3. The dequantization reference: a small C program over ggml's own
#    to_float functions (ggml-base holds the type traits and gguf reader).
base_lib="$(find "$BUILD" -name 'libggml-base.a' | head -n1)"
cc -O2 -std=c11 -D_FILE_OFFSET_BITS=64 -D_POSIX_C_SOURCE=200809L \
  -I "$SRC/ggml/include" "$REPO/scripts/reference/dequant.c" \
  "$base_lib" -fopenmp -lstdc++ -lm -lpthread -o "$BIN/dequant"

all_built
echo "$BIN"
