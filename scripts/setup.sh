#!/usr/bin/env bash
# Prepares a fresh machine for hydra: the system libraries it links
# (OpenBLAS, ICU), a release build of `hydra`, and the models asked for.
#
#   scripts/setup.sh                    # default model only
#   scripts/setup.sh MODEL...           # these known models (see `hydra models`)
#
# Idempotent: a second run installs nothing and rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pkg in libopenblas-dev libicu-dev python3-pip; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
# python3-pip is only needed when no pip is on the PATH (pyenv ships one).
if python3 -m pip --version >/dev/null 2>&1; then
  need_apt=("${need_apt[@]/python3-pip}")
fi
need_apt=($(printf '%s\n' "${need_apt[@]}" | grep . || true))
if ((${#need_apt[@]})); then
  echo "setup: installing ${need_apt[*]}" >&2
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

scripts/build.sh >&2

if (($#)); then
  .build/release/hydra models fetch "$@"
else
  .build/release/hydra models fetch
fi
