#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang-19, ASan and UBSan into build-fuzz/, then fuzzes
# each for SECONDS (default 60) from its seed corpus and past findings. A crash leaves its input in
# build-fuzz/findings-TARGET/ and fails the script; keep it in tests/fuzz/regress/TARGET/ once fixed.
# Usage: scripts/fuzz.sh [SECONDS [TARGET...]]   (targets: dsl ir checkpoint run data)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-dsl ir checkpoint run data}
# clang-19 with Debian's libomp (libomp-dev; libomp-19-dev conflicts with it): its omp.h alone, in a
# folder of its own, since its clang folder's other headers are LLVM 14's
omp_h=$(dpkg -L "$(dpkg-query -W -f='${Depends}' libomp-dev | grep -o 'libomp-[0-9]*-dev' | head -1)" | grep '/omp\.h$' | head -1)
mkdir -p build-fuzz/omp-include && ln -sf "$omp_h" build-fuzz/omp-include/omp.h
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang-19 -DEBMC_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DOpenMP_C_FLAGS="-fopenmp=libomp -I$PWD/build-fuzz/omp-include" -DOpenMP_C_LIB_NAMES=omp \
    -DOpenMP_omp_LIBRARY="$(dirname "$omp_h")/../../../libomp.so" > build-fuzz.log 2>&1 || { cat build-fuzz.log; exit 1; }
for t in $targets; do
    cmake --build build-fuzz -j"$(nproc)" --target "fuzz_$t" >> build-fuzz.log 2>&1 ||
        { grep -E "error" build-fuzz.log | head -40; exit 1; }
done
rm -f build-fuzz.log
for t in $targets; do
    mkdir -p "build-fuzz/corpus-$t" "build-fuzz/findings-$t"
    echo "fuzzing $t for $secs s"
    # the JIT is not fuzzed here: with no cache, nothing is written outside /tmp
    EBMC_CACHE_DIR=off ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "build-fuzz/tests/fuzz/fuzz_$t" \
        -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="build-fuzz/findings-$t/" "build-fuzz/corpus-$t" "tests/fuzz/corpus/$t" "tests/fuzz/regress/$t"
done
