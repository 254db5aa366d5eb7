#!/usr/bin/env bash
# Runs every command that README.md and docs/*.md show, as written, in the order shown, in a temporary
# copy of the repository (so the runs, pictures and objects they write land there): the ```sh blocks and
# `$ ` lines of the README, the command block of docs/ir.md, and the indented command lines of
# docs/experiments.md. The copy gets its own build (docs/experiments.md's `scripts/build.sh`), its own
# JIT cache, and `ebmc` on PATH for the docs that call it by name; data/ is the repository's (fetched once
# by `scripts/fetch-data.sh`, which the README shows). A command the docs add is run too, so a new doc
# line is tested without touching this file.
#
# Not run as written (each said here, and by the test's output):
#   scripts/test.sh                       is the suite this test belongs to (CI runs it: .ci/run)
#   scripts/experiment-2d.sh (default, and GRAD_BUDGET=24000 ...)   run shortened through the sizes
#       docs/experiments.md says can be overridden: DATASETS=8gaussians SEEDS=0 GRAD_BUDGET=600
#       TIME_BUDGET=1 (the tuning of the default mode included)
#   scripts/experiment-denoise.sh (default; STEPS=20000 SEEDS=0 ...)   run shortened through its
#       environment sizes: STEPS=20 SEEDS=0 N_IMAGES=8 DENOISE_STEPS=2 SIGMAS=0.3 STEPS_2D=20
#   scripts/experiment-generation.sh (default and --quick)   run in its quick mode, shortened through its
#       environment sizes (STEPS=4 SEEDS=0 EVAL_EVERY=2 FCD_N=16 CIFAR_STEPS=2 ...)
# Usage: docs_commands.sh SOURCE_DIR
set -uo pipefail
SRC=$(cd "$1" && pwd)
T=$(mktemp -d /tmp/ebmc-docs-XXXXXX)
fail=0

# the repository's files into T (tracked files when it is a git checkout, else everything but builds)
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$SRC" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$T")
else
    (cd "$SRC" && tar --exclude='./build*' --exclude=./data -cf - .) | (cd "$T" && tar -xf -)
fi
mkdir -p "$SRC/data" && ln -sfn "$SRC/data" "$T/data"
mkdir -p "$T/.bin" && printf '#!/bin/sh\nexec "%s/build/ebmc" "$@"\n' "$T" >"$T/.bin/ebmc" && chmod +x "$T/.bin/ebmc"
export PATH="$T/.bin:$PATH" EBMC_CACHE_DIR="$T/.cache"
# mpirun refuses root unless told (the README says: as root add --allow-run-as-root); these are Open
# MPI's environment forms of that flag and of --oversubscribe, so the README's line runs as written
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

# the commands, one per line, "FILE:LINE<tab>COMMAND", comments and prompts stripped
commands() {
    awk -v f=README.md '
        /^```sh/ { sh = 1; next } /^```/ { sh = 0; next }
        sh && NF { print f ":" NR "\t" $0; next }
        /^\$ / { print f ":" NR "\t" substr($0, 3) }' "$T/README.md"
    awk -v f=docs/ir.md '/^```/ { inb = !inb; next } inb && /^ebmc / { print f ":" NR "\t" $0 }' "$T/docs/ir.md"
    awk -v f=docs/experiments.md '/^    ([A-Z_]+=[^ ]+ )*scripts\// { print f ":" NR "\t" substr($0, 5) }' "$T/docs/experiments.md"
}

run() { # run WHERE COMMAND: in T, with a fresh log; a failure is reported with the end of its output
    local where=$1 cmd=$2 t0=$SECONDS
    # stdin from /dev/null: mpirun forwards its stdin to rank 0, and would read the rest of the list
    if (cd "$T" && bash -c "$cmd") </dev/null >"$T/.log" 2>&1; then
        echo "ok   $where ($((SECONDS - t0)) s): $cmd"
    else
        echo "FAIL $where: $cmd"; tail -20 "$T/.log"; fail=1
    fi
}

n=0
while IFS=$'\t' read -r where line; do
    cmd=$(printf '%s' "$line" | sed 's/[[:space:]]\+#.*$//')
    [ -n "$cmd" ] || continue
    n=$((n + 1))
    case "$cmd" in
    scripts/test.sh)
        echo "skip $where: $cmd (the suite this test is part of; CI runs it)" ;;
    scripts/experiment-2d.sh | GRAD_BUDGET=*scripts/experiment-2d.sh)
        echo "short $where: $cmd"
        run "$where" "DATASETS=8gaussians SEEDS=0 GRAD_BUDGET=600 TIME_BUDGET=1 ${cmd#GRAD_BUDGET=* DATASETS=* }" ;;
    scripts/experiment-denoise.sh | STEPS=*scripts/experiment-denoise.sh)
        echo "short $where: $cmd"
        run "$where" "STEPS=20 SEEDS=0 N_IMAGES=8 DENOISE_STEPS=2 SIGMAS=0.3 STEPS_2D=20 scripts/experiment-denoise.sh" ;;
    scripts/experiment-generation.sh | "scripts/experiment-generation.sh --quick")
        echo "short $where: $cmd"
        run "$where" "STEPS=4 SEEDS=0 EVAL_EVERY=2 FCD_N=16 CIFAR_STEPS=2 SIGMAS=0.3 N_IMAGES=8 CLASSIFIER_STEPS=5 scripts/experiment-generation.sh --quick" ;;
    *)
        run "$where" "$cmd" ;;
    esac
done < <(commands)
# every documented file exists after the commands that write it
for f in runs/rings/density.png runs/8g-cd/model.ckpt samples.png digits.npy energies.csv rings.o rings.h \
         results/2d/table.md results/denoise/table.md train; do
    [ -s "$T/$f" ] || { echo "FAIL: no $f after the documented commands"; fail=1; }
done
echo "$n commands"
[ "$n" -ge 30 ] || { echo "FAIL: only $n commands found in the docs (the extraction broke?)"; fail=1; }
[ "$fail" -eq 0 ] && rm -rf "$T"
exit "$fail"
