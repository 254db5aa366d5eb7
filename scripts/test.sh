#!/usr/bin/env bash
# Builds ebmc and runs everything that keeps it correct, in this order:
#   1. the whole CTest suite, docs_commands included (every command README.md and docs/ show, run as
#      written in a copy with its own build; tests/docs/), two tests at a time;
#   2. each libFuzzer target for EBMC_FUZZ_SECONDS (default 30) from its corpus and past findings
#      (scripts/fuzz.sh);
#   3. the whole suite again, built with ASan and UBSan (LeakSanitizer on) in build-asan/, all but
#      docs_commands, with EBMC_TEST_SHORT=1 (tests/test.h: the tests that repeat one check over many
#      seeds or JIT configurations run fewer of them).
# EBMC_TEST_QUICK=1 runs only part 1 without docs_commands (a quick check while working); EBMC_TEST_DOCS=0
# and EBMC_TEST_SANITIZE=0 leave out docs_commands and part 3.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=${EBMC_TEST_QUICK:-0}
docs=${EBMC_TEST_DOCS:-1}
[ "$quick" = 1 ] && docs=0
t0=$SECONDS
stage() { echo "== scripts/test.sh: $1 ($((SECONDS - t0)) s since the start)"; }

stage "building build/"
scripts/build.sh
stage "the suite"
if [ "$docs" = 1 ]; then ctest --test-dir build --output-on-failure -j"$(nproc)"
else ctest --test-dir build --output-on-failure -j"$(nproc)" -LE docs; fi
[ "$quick" = 1 ] && exit 0
stage "the fuzz targets"
scripts/fuzz.sh "${EBMC_FUZZ_SECONDS:-30}"
[ "${EBMC_TEST_SANITIZE:-1}" = 1 ] || exit 0

stage "building build-asan/"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEBMC_SANITIZE=ON > build-asan.log 2>&1 ||
    { cat build-asan.log; exit 1; }
cmake --build build-asan -j"$(nproc)" >> build-asan.log 2>&1 || { grep -E "error" build-asan.log | head -40; exit 1; }
rm -f build-asan.log
stage "the suite under ASan and UBSan"
EBMC_TEST_SHORT=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LSAN_OPTIONS=suppressions="$PWD/scripts/lsan.supp" ctest --test-dir build-asan --output-on-failure \
    -j"$(nproc)" -LE docs
stage "done"
