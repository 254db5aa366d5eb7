#!/usr/bin/env bash
# results.sh: the benchmark table of issue 10 in one run, written to bench/results.md.
#
#   bench/results.sh                 # 2 rounds; ROUNDS=3 RUNS=5 STEPS=200 bench/results.sh for steadier figures
#
# Each round runs, one after another (so every side sees the same background load):
#   build/bench/bench_conv            the conv cases, batched matmuls, W3 and W5 on 1 and 2 threads, and the
#                                     FMA peak it measures at start-up;
#   bench/torch_conv.py               the same cases in PyTorch, at torch threads 1 and 2, each with this
#                                     machine's OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as preset and unset
#                                     (unset in that command alone: env -u);
#   W1 (MLP CD-10 step) and W2 (DCD-VE step): build/ebmc train against bench/torch_baseline.py at 1
#                                     thread, PyTorch again in both OpenBLAS settings.
# Every figure in the table is the median over rounds of each round's median; the 1-minute load average
# is recorded before every command, and the table lists its range. Needs build/ (cmake --build build)
# and /usr/bin/python3 with torch (apt-get install python3-torch libopenblas0-pthread).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-2}
RUNS=${RUNS:-3}
STEPS=${STEPS:-100}
ONLY=${ONLY:-}   # only the kernel cases whose name contains this (a quick check of the script)
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=${OUT:-bench/results.md}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

for f in build/bench/bench_conv build/ebmc; do
    [ -x "$f" ] || { echo "results.sh: $f not found: build first (scripts/build.sh)" >&2; exit 1; }
done
"$PYTHON" -c 'import torch' 2>/dev/null || { echo "results.sh: $PYTHON cannot import torch" >&2; exit 1; }

tmp=$(mktemp -d /tmp/ebmc-results-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
load() { cut -d' ' -f1 /proc/loadavg; }
note() { echo "LOAD $(load)" >> "$tmp/loads"; echo "results.sh: $*" >&2; }

# torch_env preset|unset CMD...: runs CMD with the OpenBLAS settings as found, or without them.
torch_env() {
    local mode=$1
    shift
    if [ "$mode" = unset ]; then env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"; else "$@"; fi
}

steps_per_sec() { "$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["steps_per_sec"])' "$1"; }

summarize() { # the table from the rounds done so far ($1 of them)
cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
flags=$(grep -m1 flags /proc/cpuinfo | grep -o 'avx512f\|avx2' | sort -u | tr '\n' ' ')
torch_version=$("$PYTHON" -c 'import torch; print(torch.__version__)')
"$PYTHON" - "$tmp" "$OUT" "$1" "$RUNS" "$STEPS" "$cpu ($(nproc) cores; ${flags% })" "$torch_version" \
    "${OPENBLAS_CORETYPE:-unset}" "$OMP_WAIT_POLICY" <<'EOF'
import glob, os, statistics, sys, time
tmp, out, rounds, runs, steps, cpu, torch_version, coretype, wait = sys.argv[1:]
med = statistics.median

def results(pattern):
    """{(name, threads): [seconds per round]} from RESULT lines."""
    got = {}
    for path in sorted(glob.glob(os.path.join(tmp, pattern))):
        for line in open(path):
            w = line.split()
            if len(w) >= 4 and w[0] == "RESULT":
                got.setdefault((w[1], int(w[2])), []).append(float(w[3]))
    return got

ebmc = results("ebmc.*.txt")
torch = results("torch.*.txt")  # names "preset:case" / "unset:case"
loads = [float(l.split()[1]) for l in open(os.path.join(tmp, "loads"))]
peak = {t: med(ebmc.pop(("peak", t))) for t in (1, 2)}  # GFLOP/s (the RESULT's 3rd field)
flops = {}
for path in glob.glob(os.path.join(tmp, "ebmc.*.txt")):
    for line in open(path):
        w = line.split()
        if len(w) == 5 and w[0] == "RESULT" and w[1] != "peak":
            flops[w[1]] = float(w[3]) * float(w[4]) * 1e9

def best_torch(name, threads):
    """(seconds, configuration) of the fastest PyTorch configuration among the given thread counts."""
    cands = [(med(v), f"{t} thread{'s' if t > 1 else ''}, OpenBLAS settings {k.split(':')[0]}")
             for (k, t), v in torch.items() if k.split(":", 1)[1] == name and t in threads]
    return min(cands) if cands else (None, "n/a")

rows = []
for (name, t) in sorted(ebmc):
    if t != 1:
        continue
    e1 = med(ebmc[(name, 1)])
    e2 = med(ebmc[(name, 2)]) if (name, 2) in ebmc else None
    t1, c1 = best_torch(name, (1,))
    tb, cb = best_torch(name, (1, 2))
    share = flops[name] / e1 * 1e-9 / peak[1] if name in flops else 0
    fmt = lambda s: f"{1e3 * s:.2f}" if s else "n/a"
    ratio = lambda a, b: f"{a / b:.2f}" if a and b else "n/a"
    best_e = min(x for x in (e1, e2) if x)
    rows.append(f"| {name} | {fmt(e1)} | {100 * share:.0f}% | {fmt(e2)} | {fmt(t1)} ({c1}) | {ratio(t1, e1)} | "
                f"{fmt(tb)} ({cb}) | {ratio(tb, best_e)} |")

steps = {}
for line in open(os.path.join(tmp, "steps.txt")):
    _, w, who, rate = line.split()
    steps.setdefault((w, who), []).append(float(rate))
step_rows = []
for w, what in (("W1", "MLP 2-128-128-128-1 SiLU, batch 1024, CD-10 step"), ("W2", "the same, DCD-VE step (M = 5)")):
    e = med(steps[(w, "ebmc")])
    best = max((med(v), k.split(":")[1]) for (ww, k), v in steps.items() if ww == w and k != "ebmc")
    others = ", ".join(f"{k.split(':')[1]} {med(v):.1f}" for (ww, k), v in sorted(steps.items()) if ww == w and k != "ebmc")
    step_rows.append(f"| {w}: {what} | {e:.1f} | {best[0]:.1f} (OpenBLAS settings {best[1]}; {others}) | {e / best[0]:.2f} |")

with open(out, "w") as f:
    f.write(f"""# ebmc against PyTorch: results of bench/results.sh

- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}
- CPU: {cpu}
- Load average (1 min) during the run: {min(loads):.1f} to {max(loads):.1f} (median {med(loads):.1f}); the machine is shared
- Command: `ROUNDS=N RUNS={runs} STEPS={steps} bench/results.sh`, {rounds} round(s) done; every figure is the median
  over the interleaved rounds of each round's median of {runs} runs; OMP_WAIT_POLICY={wait}
- Measured fp32 FMA peak (bench/peak.c's loop, at the start of each bench_conv): {peak[1]:.1f} GFLOP/s on 1 thread,
  {peak[2]:.1f} on 2
- ebmc: build/bench/bench_conv (generated kernels, compile cache as configured); PyTorch {torch_version}
  (convolutions on oneDNN, matmuls on OpenBLAS), run at torch threads 1 and 2, each with the preset
  OPENBLAS_CORETYPE={coretype} (and OPENBLAS_L2_SIZE) and with both unset; the best is named per row

## Kernels (bench_conv / torch_conv.py): milliseconds per call

Ratios are PyTorch time / ebmc time: above 1, ebmc is faster. "% peak" is ebmc's 1-thread GFLOP/s over the
measured 1-thread peak. The last two columns compare the best of each side over 1 and 2 threads.

| case | ebmc 1 thread | % peak | ebmc 2 threads | PyTorch 1 thread (best config) | ratio | PyTorch best (config) | ratio of bests |
|---|---|---|---|---|---|---|---|
""")
    f.write("\n".join(rows) + "\n")
    f.write(f"""
## Training steps (W1, W2): steps per second, 1 thread, {steps} steps per run

| workload | ebmc | PyTorch (best config; each config) | ebmc / PyTorch |
|---|---|---|---|
""")
    f.write("\n".join(step_rows) + "\n")
    f.write("""
W3 (the conv energy on 28x28x1, batch 128) is timed as one evaluation of the energy and its gradients in
x and in every parameter (`w3_energy_grad_*` above), the unit a DCD-VE step repeats M + 1 times; the
training loop does not take image data yet. W4 (the 32x32x3 time-dependent energy) does not exist yet.
W5 is `w5_matmul_1024x1024x1024`.
""")
print(f"results.sh: wrote {out}", file=sys.stderr)
EOF
}

for r in $(seq 1 "$ROUNDS"); do
    note "round $r/$ROUNDS: bench_conv"
    build/bench/bench_conv --runs "$RUNS" ${ONLY:+--only "$ONLY"} > "$tmp/ebmc.$r.txt"
    for t in 1 2; do
        for mode in preset unset; do
            note "round $r/$ROUNDS: torch_conv.py, $t thread(s), OpenBLAS settings $mode"
            torch_env "$mode" "$PYTHON" bench/torch_conv.py --threads "$t" --runs "$RUNS" ${ONLY:+--only "$ONLY"} 2>/dev/null |
                sed "s/^RESULT /RESULT $mode:/" > "$tmp/torch.$r.$t.$mode.txt"
        done
    done
    for w in W1 W2; do
        obj=cd k=10
        [ $w = W2 ] && obj=dcd-ve k=5
        note "round $r/$ROUNDS: $w ebmc"
        build/ebmc train models/8gaussians.ebm --objective $obj --steps "$STEPS" --batch 1024 --threads 1 --quiet \
            --out "$tmp/run" --set sampler=auto --set sample_steps=0 --set eval_every=0 --set langevin_steps=$k \
            > "$tmp/run.log" 2>&1
        echo "STEP $w ebmc $(steps_per_sec "$tmp/run/metrics.json")" >> "$tmp/steps.txt"
        rm -rf "$tmp/run"
        for mode in preset unset; do
            note "round $r/$ROUNDS: $w torch, OpenBLAS settings $mode"
            rate=$(torch_env "$mode" "$PYTHON" bench/torch_baseline.py --objective $obj --k $k --threads 1 \
                --steps "$STEPS" --batch 1024 --json | "$PYTHON" -c 'import json, sys; print(json.loads(sys.stdin.read())["steps_per_sec"])')
            echo "STEP $w torch:$mode $rate" >> "$tmp/steps.txt"
        done
    done
    summarize "$r" # after every round, so that an interrupted run still leaves a table
done
