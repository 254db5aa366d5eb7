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
#   W1 (MLP CD-10 step) and W2 (DCD-VE step): build/ebmc train on 1 and 2 threads (steps/s and the
#                                     GFLOP/s of metrics.json) against bench/torch_baseline.py at 1 thread,
#                                     PyTorch again in both OpenBLAS settings;
#   W4 (models/cifar_time.ebm's time-DCD-VE step): build/ebmc train against bench/torch_time.py, the same way.
# Every figure in the table is the median over rounds of each round's median; the 1-minute load average
# is recorded before every command, and the table lists its range. Needs build/ (cmake --build build)
# and /usr/bin/python3 with torch (apt-get install python3-torch libopenblas0-pthread).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-2}
RUNS=${RUNS:-3}
STEPS=${STEPS:-100}
W4_STEPS=${W4_STEPS:-30}
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

# a run's steps/s and the GFLOP/s of its matmuls and convolutions, from its metrics.json
train_rates() { "$PYTHON" -c 'import json, sys; m = json.load(open(sys.argv[1])); print(m["steps_per_sec"], m["gflops"])' "$1"; }

summarize() { # the table from the rounds done so far ($1 of them)
cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
flags=$(grep -m1 flags /proc/cpuinfo | grep -o 'avx512f\|avx2' | sort -u | tr '\n' ' ')
torch_version=$("$PYTHON" -c 'import torch; print(torch.__version__)')
"$PYTHON" - "$tmp" "$OUT" "$1" "$RUNS" "$STEPS" "$W4_STEPS" "$cpu ($(nproc) cores; ${flags% })" "$torch_version" \
    "${OPENBLAS_CORETYPE:-unset}" "$OMP_WAIT_POLICY" <<'EOF'
import glob, os, statistics, sys, time
tmp, out, rounds, runs, n_steps, w4_steps, cpu_model, torch_version, coretype, wait = sys.argv[1:]
med = statistics.median

def results(pattern, tag):
    """{(name, threads): [seconds per round]} from the tag lines (RESULT: wall clock, CPURESULT: CPU time)."""
    got = {}
    for path in sorted(glob.glob(os.path.join(tmp, pattern))):
        for line in open(path):
            w = line.split()
            if len(w) >= 4 and w[0] == tag:
                got.setdefault((w[1], int(w[2])), []).append(float(w[3]))
    return got

ebmc, ebmc_cpu = results("ebmc.*.txt", "RESULT"), results("ebmc.*.txt", "CPURESULT")
torch, torch_cpu = results("torch.*.txt", "RESULT"), results("torch.*.txt", "CPURESULT")  # "preset:case"
loads = [float(l.split()[1]) for l in open(os.path.join(tmp, "loads"))]
peak = {t: med(ebmc.pop(("peak", t))) for t in (1, 2)}  # GFLOP/s, by the wall clock
peak_cpu = med(ebmc_cpu.pop(("peak", 1)))  # 1 thread, by CPU time
flops = {}
for path in glob.glob(os.path.join(tmp, "ebmc.*.txt")):
    for line in open(path):
        w = line.split()
        if len(w) == 5 and w[0] == "RESULT" and w[1] != "peak":
            flops[w[1]] = float(w[3]) * float(w[4]) * 1e9

def best_torch(table, name, threads):
    """(seconds, configuration) of PyTorch's fastest configuration among the given thread counts."""
    cands = [(med(v), f"{t}T, OpenBLAS {k.split(':')[0]}")
             for (k, t), v in table.items() if k.split(":", 1)[1] == name and t in threads]
    return min(cands) if cands else (None, "n/a")

fmt = lambda x: f"{1e3 * x:.1f}" if x else "n/a"
ratio = lambda a, b: f"{a / b:.2f}" if a and b else "n/a"
rows = []
for (name, t) in sorted(ebmc):
    if t != 1:
        continue
    e1, e2 = med(ebmc[(name, 1)]), med(ebmc[(name, 2)]) if (name, 2) in ebmc else None
    c1 = med(ebmc_cpu[(name, 1)]) if (name, 1) in ebmc_cpu else None
    t1, conf1 = best_torch(torch, name, (1,))
    tc1, confc = best_torch(torch_cpu, name, (1,))
    tb, confb = best_torch(torch, name, (1, 2))
    share = f"{100 * flops[name] / c1 * 1e-9 / peak_cpu:.0f}%" if c1 and name in flops else "n/a"
    rows.append(f"| {name} | {fmt(e1)} | {fmt(c1)} | {share} | {fmt(e2)} | {fmt(t1)} ({conf1}) | {fmt(tc1)} | "
                f"{ratio(t1, e1)} | {ratio(tc1, c1)} | {fmt(tb)} ({confb}) | {ratio(tb, min(x for x in (e1, e2) if x))} |")

steps, gflops = {}, {}
for line in open(os.path.join(tmp, "steps.txt")):
    _, w, who, rate, *gf = line.split()  # ebmc's lines also give its GFLOP/s
    steps.setdefault((w, who), []).append(float(rate))
    if who == "ebmc1":
        gflops.setdefault(w, []).append(float(gf[0]))
step_rows = []
for w, what in (("W1", "MLP 2-128-128-128-1 SiLU, batch 1024, CD-10 step"), ("W2", "the same, DCD-VE step (M = 5)"),
                ("W4", "models/cifar_time.ebm, E(x, t) on 32x32x3, batch 64, time-DCD-VE step (M = 5)")):
    if (w, "ebmc1") not in steps:
        continue
    e, e2 = med(steps[(w, "ebmc1")]), med(steps[(w, "ebmc2")])
    torch_runs = {k.split(":")[1]: med(v) for (ww, k), v in steps.items() if ww == w and k.startswith("torch:")}
    best = max((v, k) for k, v in torch_runs.items())
    each = ", ".join(f"{k} {v:.1f}" for k, v in sorted(torch_runs.items()))
    gf = med(gflops[w])
    step_rows.append(f"| {w}: {what} | {e:.1f} | {gf:.1f} ({100 * gf / peak[1]:.0f}%) | {e2:.1f} ({e2 / e:.2f}x) | "
                     f"{best[0]:.1f} (OpenBLAS {best[1]}; {each}) | {e / best[0]:.2f} |")

# the benchmark itself keeps about one core busy: a load well above its thread count is someone else's
load_note = ("; nothing else ran" if max(loads) < 2.5 else
             "; the machine was shared with other jobs, so wall-clock times are as much the load as the code")
with open(out, "w") as f:
    f.write(f"""# ebmc against PyTorch: results of bench/results.sh

- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}
- CPU: {cpu_model}
- Load average (1 min) during the run: {min(loads):.1f} to {max(loads):.1f} (median {med(loads):.1f}){load_note}
- Command: `ROUNDS=N RUNS={runs} STEPS={n_steps} W4_STEPS={w4_steps} bench/results.sh`, {rounds} round(s) done; every figure is the
  median over the interleaved rounds of each round's median of {runs} runs; OMP_WAIT_POLICY={wait}
- Measured fp32 FMA peak (bench/peak.c's loop, at the start of each bench_conv): {peak[1]:.1f} GFLOP/s on 1
  thread and {peak[2]:.1f} on 2 by the wall clock, {peak_cpu:.1f} on 1 thread by its CPU time
- ebmc: build/bench/bench_conv (generated kernels); PyTorch {torch_version} (convolutions on oneDNN, matmuls on
  OpenBLAS) at torch threads 1 and 2 (1T, 2T), each with the OpenBLAS settings as found
  (OPENBLAS_CORETYPE={coretype}) and with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset; the fastest is named

## Kernels (bench_conv / torch_conv.py): milliseconds per call

Ratios are PyTorch time / ebmc time: above 1, ebmc is faster. "CPU ms" is a 1-thread run's process CPU
time per call: its time while scheduled, which the load changes far less than the wall clock; "% peak" is
ebmc's GFLOP/s by CPU time over the 1-thread peak by CPU time. The last two columns take the best of each
side over 1 and 2 threads.

| case | ebmc 1T ms | ebmc 1T CPU ms | % peak | ebmc 2T ms | PyTorch 1T ms (best config) | PyTorch 1T CPU ms | ratio | ratio by CPU | PyTorch best ms (config) | ratio of bests |
|---|---|---|---|---|---|---|---|---|---|---|
""")
    f.write("\n".join(rows) + "\n")
    f.write(f"""
## Training steps (W1, W2, W4): steps per second, 1 thread unless said, {n_steps} steps per run (W4: {w4_steps})

"ebmc GFLOP/s" counts the step's matmuls and convolutions (metrics.json's `gflops`: 2 flops per
multiply-add, elementwise work not counted) over its wall-clock training time; "% peak" is that over the
1-thread peak by the wall clock.

| workload | ebmc | ebmc GFLOP/s (% peak) | ebmc 2 threads (over 1) | PyTorch (best config; each config) | ebmc / PyTorch |
|---|---|---|---|---|---|
""")
    f.write("\n".join(step_rows) + "\n")
    f.write("""
W3 (the conv energy on 28x28x1, batch 128) is timed as one evaluation of the energy and its gradients in
x and in every parameter (`w3_energy_grad_*` above), the unit a DCD-VE step repeats M + 1 times. W4's
PyTorch side is bench/torch_time.py (on random pictures; ebmc trains on the cats and dogs).
W5 is `w5_matmul_1024x1024x1024`.
""")
print(f"results.sh: wrote {out}", file=sys.stderr)
EOF
}

# time_steps W STEPS "TORCH_SCRIPT ARGS" MODEL TRAIN_ARGS...: a training workload's steps/s, ebmc's
# (build/ebmc train MODEL TRAIN_ARGS) on 1 and 2 threads and PyTorch's on 1 thread in both OpenBLAS
# settings, into steps.txt
time_steps() {
    local w=$1 steps=$2 torch=$3 mode rate t
    shift 3
    for t in 1 2; do
        note "round $r/$ROUNDS: $w ebmc, $t thread(s)"
        build/ebmc train "$@" --steps "$steps" --threads "$t" --quiet --out "$tmp/run" --set sample_steps=0 \
            --set eval_every=0 > "$tmp/run.log" 2>&1
        echo "STEP $w ebmc$t $(train_rates "$tmp/run/metrics.json")" >> "$tmp/steps.txt"
        rm -rf "$tmp/run"
    done
    for mode in preset unset; do
        note "round $r/$ROUNDS: $w torch, OpenBLAS settings $mode"
        # shellcheck disable=SC2086
        rate=$(torch_env "$mode" "$PYTHON" $torch --threads 1 --steps "$steps" --json |
            "$PYTHON" -c 'import json, sys; print(json.loads(sys.stdin.read())["steps_per_sec"])')
        echo "STEP $w torch:$mode $rate" >> "$tmp/steps.txt"
    done
}

for r in $(seq 1 "$ROUNDS"); do
    note "round $r/$ROUNDS: bench_conv"
    build/bench/bench_conv --runs "$RUNS" ${ONLY:+--only "$ONLY"} > "$tmp/ebmc.$r.txt"
    for t in 1 2; do
        for mode in preset unset; do
            note "round $r/$ROUNDS: torch_conv.py, $t thread(s), OpenBLAS settings $mode"
            torch_env "$mode" "$PYTHON" bench/torch_conv.py --threads "$t" --runs "$RUNS" ${ONLY:+--only "$ONLY"} 2>/dev/null |
                sed "s/^\(CPU\)\{0,1\}RESULT /&$mode:/" > "$tmp/torch.$r.$t.$mode.txt"
        done
    done
    time_steps W1 "$STEPS" "bench/torch_baseline.py --objective cd --k 10 --batch 1024" \
        models/8gaussians.ebm --objective cd --batch 1024 --set sampler=auto --set langevin_steps=10
    time_steps W2 "$STEPS" "bench/torch_baseline.py --objective dcd-ve --k 5 --batch 1024" \
        models/8gaussians.ebm --objective dcd-ve --batch 1024 --set sampler=auto --set langevin_steps=5
    time_steps W4 "$W4_STEPS" "bench/torch_time.py" models/cifar_time.ebm
    summarize "$r" # after every round, so that an interrupted run still leaves a table
done
