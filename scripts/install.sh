#!/usr/bin/env bash
# Installs hydra for the current user: the binary, the shipped heads
# (PREFIX/share/hydra/heads, where the installed binary looks for them),
# shell completions (bash, zsh, fish) and man pages generated from the
# commands' own help by swift-argument-parser's tools.
#
#   scripts/install.sh [PREFIX]       (default ~/.local)
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${1:-$HOME/.local}
scripts/build.sh >&2
bin=.build/release/hydra
install -d "$PREFIX/bin" "$PREFIX/share/bash-completion/completions" "$PREFIX/share/zsh/site-functions" \
  "$PREFIX/share/fish/vendor_completions.d" "$PREFIX/share/man/man1" "$PREFIX/share/hydra/heads"
install -m 0755 "$bin" "$PREFIX/bin/hydra"
install -m 0644 heads/*.gguf "$PREFIX/share/hydra/heads/"
"$bin" --generate-completion-script bash > "$PREFIX/share/bash-completion/completions/hydra"
"$bin" --generate-completion-script zsh > "$PREFIX/share/zsh/site-functions/_hydra"
"$bin" --generate-completion-script fish > "$PREFIX/share/fish/vendor_completions.d/hydra.fish"
# One page per command (hydra.1, hydra.translate.1, ...).
swift package --allow-writing-to-package-directory generate-manual --multi-page >&2
install -m 0644 .build/plugins/GenerateManual/outputs/hydra/*.1 "$PREFIX/share/man/man1/"
echo "installed hydra in $PREFIX/bin, its heads, completions and man pages under $PREFIX/share" >&2
