#!/usr/bin/env bash
# The one release build that the CLI, the tests and the benchmarks share
# (same flags, so none of them rebuilds what another built).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release -Xswiftc -enable-testing --build-tests "$@"
