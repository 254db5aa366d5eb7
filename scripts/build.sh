#!/usr/bin/env bash
# Installs missing dependencies (Debian 12), then configures and builds ebmc into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j"$(nproc)" >> build.log 2>&1 || { grep -E "error|Error" build.log | head -40; exit 1; }
rm -f build.log
