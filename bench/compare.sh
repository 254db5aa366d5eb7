#!/usr/bin/env bash
# compare.sh: ebmc against the PyTorch baseline (bench/torch_baseline.py) on the same model (8gaussians),
# objective, batch and thread count, in one invocation; prints a markdown table of training steps/s.
#
# usage: bench/compare.sh [--steps N] [--runs R] [--threads "1 2"] [--objectives "cd sr-cd dcd-ve"] [--batch B]
# The same settings can come from the environment: STEPS, RUNS, THREADS, OBJECTIVES, BATCH, and
#   EBMC        the ebmc binary (default: build/ebmc)
#   PYTHON      the interpreter with Debian's python3-torch (default: /usr/bin/python3)
#   WARMUP      untimed PyTorch steps before timing (default 10)
#   OMP_WAIT_POLICY  passed to both (both use libgomp); default PASSIVE. With libgomp's default
#               spinning, a 2-thread run on a loaded 2-core machine drops to ~1/8 of its speed
#   EBMC_ARGS   extra 'ebmc train' arguments. The default sets sampler=auto (ULA for cd and sr-cd, MALA
#               for dcd-ve: the model file says sampler = mala, which would make ebmc's cd use MALA) and
#               skips the end-of-run sample pictures and mid-run evaluations (steps/s leaves them out
#               anyway; this only saves wall time)
# Each cell is the median of RUNS runs; ebmc and PyTorch runs alternate so both see the same machine load.
# The defaults (150 steps, 3 runs, threads 1 and 2, three objectives) take about 5 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

STEPS=${STEPS:-150}
RUNS=${RUNS:-3}
THREADS=${THREADS:-"1 2"}
OBJECTIVES=${OBJECTIVES:-"cd sr-cd dcd-ve"}
BATCH=${BATCH:-1024}
WARMUP=${WARMUP:-10}
EBMC=${EBMC:-build/ebmc}
PYTHON=${PYTHON:-/usr/bin/python3}
EBMC_ARGS=${EBMC_ARGS:-"--set sampler=auto --set sample_steps=0 --set eval_every=0"}
MODEL=models/8gaussians.ebm
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

while [ $# -gt 0 ]; do
    case "$1" in
    --steps) STEPS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --objectives) OBJECTIVES=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
    echo "compare.sh: $PYTHON cannot import torch: apt-get install python3-torch libopenblas0-pthread" >&2
    exit 1
fi
have_ebmc=1
if [ ! -x "$EBMC" ]; then
    echo "compare.sh: $EBMC not found: build ebmc first (cmake --build build); timing PyTorch only" >&2
    have_ebmc=0
fi

tmp=$(mktemp -d /tmp/ebmc-bench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The median of the numbers on stdin, or n/a when there are none.
median() { "$PYTHON" -c 'import sys, statistics; v = [float(s) for s in sys.stdin.read().split()]; print(f"{statistics.median(v):.2f}" if v else "n/a")'; }

# ebmc_run OBJ T R: one ebmc run; prints its steps/s, or nothing if it failed.
ebmc_run() {
    local out="$tmp/ebmc-$1-t$2-r$3"
    # shellcheck disable=SC2086  # EBMC_ARGS is a word list
    if ! "$EBMC" train "$MODEL" --objective "$1" --steps "$STEPS" --batch "$BATCH" --threads "$2" --quiet \
        --out "$out" $EBMC_ARGS >"$out.log" 2>&1; then
        echo "compare.sh: ebmc failed ($1, $2 threads, run $3):" >&2
        tail -n 3 "$out.log" | sed 's/^/  /' >&2
        return 0
    fi
    "$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["steps_per_sec"])' "$out/metrics.json" ||
        echo "compare.sh: ebmc wrote no readable $out/metrics.json" >&2
    rm -rf "$out" "$out.log"
}

# torch_run OBJ T: one PyTorch run; prints its steps/s (median over its timed chunks).
torch_run() {
    "$PYTHON" bench/torch_baseline.py --objective "$1" --threads "$2" --steps "$STEPS" --warmup "$WARMUP" \
        --batch "$BATCH" --json | "$PYTHON" -c 'import json, sys; print(json.loads(sys.stdin.read())["steps_per_sec"])' ||
        echo "compare.sh: torch_baseline.py failed ($1, $2 threads)" >&2
}

load() { cut -d' ' -f1 /proc/loadavg; }
load0=$(load)
if awk -v l="$load0" 'BEGIN { exit !(l > 0.5) }'; then
    echo "compare.sh: load average is $load0 before starting: other work on this machine will skew the numbers" >&2
fi
start=$(date +%s)
rows=()
for t in $THREADS; do
    for obj in $OBJECTIVES; do
        e_rates="" t_rates=""
        for r in $(seq 1 "$RUNS"); do
            echo "compare.sh: $obj, $t thread(s), run $r/$RUNS" >&2
            if [ $have_ebmc = 1 ]; then e_rates+=" $(ebmc_run "$obj" "$t" "$r")"; fi
            t_rates+=" $(torch_run "$obj" "$t")"
        done
        e=$(echo "$e_rates" | median)
        p=$(echo "$t_rates" | median)
        ratio=n/a
        if [ "$e" != n/a ] && [ "$p" != n/a ]; then ratio=$(awk -v a="$e" -v b="$p" 'BEGIN { printf "%.2f", a / b }'); fi
        rows+=("| $obj | $t | $e | $p | $ratio |")
        echo "compare.sh:   ebmc [${e_rates# }] torch [${t_rates# }]" >&2
    done
done

torch_version=$("$PYTHON" -c 'import torch; print(torch.__version__)')
ebmc_version="ebmc n/a"
[ $have_ebmc = 1 ] && ebmc_version=$("$EBMC" --version 2>/dev/null || echo unknown)
echo "8gaussians MLP 2-128-128-128-1, batch $BATCH, k = M = 5, $STEPS steps per run, median of $RUNS runs;"
echo "$ebmc_version, PyTorch $torch_version, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), $(( $(date +%s) - start )) s," \
    "OMP_WAIT_POLICY=$OMP_WAIT_POLICY, 1-min load average $load0 before, $(load) after"
echo
echo "| objective | threads | ebmc steps/s | torch steps/s | ebmc / torch |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
