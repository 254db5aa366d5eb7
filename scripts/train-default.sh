#!/usr/bin/env bash
# The main job: build, then train the default 2-D model (rings, DCD-VE) and write its pictures to
# runs/rings/. Extra arguments go to `ebmc train`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
build/ebmc train models/rings.ebm "$@"
