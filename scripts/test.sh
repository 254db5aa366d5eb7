#!/usr/bin/env bash
# Builds ebmc and runs the whole test suite with CTest; then each libFuzzer target for EBMC_FUZZ_SECONDS
# (default 30) from its corpus and past findings (scripts/fuzz.sh). EBMC_TEST_QUICK=1 runs only the first
# part. Two longer runs are opt-in until each has passed whole on an idle machine within CI's time:
# EBMC_TEST_DOCS=1 adds docs_commands (every command README.md and docs/ show, in a copy with its own
# build; tests/docs/), and EBMC_TEST_SANITIZE=1 then runs the whole suite again, built with ASan and UBSan
# (LeakSanitizer on) in build-asan/, all but docs_commands.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
if [ "${EBMC_TEST_DOCS:-0}" = 1 ]; then ctest --test-dir build --output-on-failure -j"$(nproc)"
else ctest --test-dir build --output-on-failure -j"$(nproc)" -LE docs; fi
[ "${EBMC_TEST_QUICK:-0}" = 1 ] && exit 0
scripts/fuzz.sh "${EBMC_FUZZ_SECONDS:-30}"
[ "${EBMC_TEST_SANITIZE:-0}" = 1 ] || exit 0

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEBMC_SANITIZE=ON > build-asan.log 2>&1 ||
    { cat build-asan.log; exit 1; }
cmake --build build-asan -j"$(nproc)" >> build-asan.log 2>&1 || { grep -E "error" build-asan.log | head -40; exit 1; }
rm -f build-asan.log
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LSAN_OPTIONS=suppressions="$PWD/scripts/lsan.supp" ctest --test-dir build-asan --output-on-failure \
    -j"$(nproc)" -LE docs
