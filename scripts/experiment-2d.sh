#!/usr/bin/env bash
# experiment-2d.sh: the 2-D experiment suite (issue 4). Trains every objective (cd, sr-cd, pcd, dcd-ve,
# dcd-vp) on every 2-D data set with the same network (the models/*.ebm MLP 2-128-128-128-1, SiLU), under
#   (1) the same budget of energy-gradient evaluations per run, and
#   (2) separately, the same wall-clock budget per run,
# with 3 seeds, after giving every objective the same small tuning budget for its own knobs.
# Writes results/2d/table.md and results/2d/densities.png; the runs live in results/2d/runs/ (git-ignored).
#
#   scripts/experiment-2d.sh [--quick] [--jobs N] [--ebmc PATH] [--montage PATH] [--out DIR]
#
# Budget accounting (per run, per chain):
#   gradient evaluations of E w.r.t. x in the negative sampler: k per step for cd, sr-cd, pcd (ULA, k steps);
#   M + 1 per step for dcd-ve / dcd-vp (MALA with M steps: one at the chain start, one per proposal).
#   steps = GRAD_BUDGET / (evaluations per step), so a config with k = 10 gets half the updates of k = 5.
#   The parameter gradient of the loss (one backward pass per step) is not counted; it is the same
#   per step for all objectives. The equal-time runs take steps = TIME_BUDGET x the steps/s the same
#   objective and knobs reached in their equal-gradient runs on the same data set.
#
# Tuning ("validation"): ebmc's held-out points come from a stream keyed by the run's seed; there is no
# separate validation stream. So each knob configuration is trained once with seed TUNE_SEED (100) and
# scored on seed 100's held-out points; the chosen configuration is then trained with seeds 0, 1, 2 and
# reported on their own held-out points (different points, different initializations).
# Resumable: a run whose metrics.json exists is not repeated (delete results/2d/runs to start over).
# Sizes can be overridden from the environment: DATASETS, SEEDS, GRAD_BUDGET, TIME_BUDGET (CPU seconds),
# BATCH, LR, TUNE (0 or 1), e.g.  GRAD_BUDGET=7500 DATASETS=8gaussians scripts/experiment-2d.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=0
JOBS=2
OUT="$ROOT/results/2d"
EBMC=""
MONTAGE=""
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --jobs) JOBS=$2; shift ;;
    --ebmc) EBMC=$2; shift ;;
    --montage) MONTAGE=$2; shift ;;
    --out) OUT=$2; shift ;;
    -h | --help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "experiment-2d.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
for d in build-exp build; do
    [ -z "$EBMC" ] && [ -x "$ROOT/$d/ebmc" ] && EBMC="$ROOT/$d/ebmc"
    [ -z "$MONTAGE" ] && [ -x "$ROOT/$d/ebmc-montage" ] && MONTAGE="$ROOT/$d/ebmc-montage"
done
[ -x "$EBMC" ] || { echo "experiment-2d.sh: no ebmc binary (run scripts/build.sh or pass --ebmc)" >&2; exit 1; }
command -v jq >/dev/null || { echo "experiment-2d.sh: needs jq" >&2; exit 1; }

OBJECTIVES="cd sr-cd pcd dcd-ve dcd-vp"
# Every size below can be overridden from the environment, e.g. GRAD_BUDGET=7500 SEEDS="0 1 2".
if [ $QUICK = 1 ]; then
    DATASETS=${DATASETS:-"8gaussians rings checkerboard"}
    SEEDS=${SEEDS:-"0 1"}
    GRAD_BUDGET=${GRAD_BUDGET:-4000}   # sampler gradient evaluations per run
    TIME_BUDGET=${TIME_BUDGET:-2}      # seconds of single-core training time per run
    TUNE=${TUNE:-0}                    # no tuning: every objective runs its defaults (below)
else
    # Sized for the 30-minute limit on 2 idle cores: measured cost is ~0.5 ms of CPU per sampler
    # gradient evaluation at batch 128 (fused kernels) plus ~1 s per run (evaluation, samples; the JIT
    # compile cache makes compilation free after the first run); 140 tuning + 105 + 105 runs of about
    # 7 CPU s each -> ~2500 CPU s.
    DATASETS=${DATASETS:-"8gaussians rings checkerboard spirals moons pinwheel swissroll"}
    SEEDS=${SEEDS:-"0 1 2"}
    GRAD_BUDGET=${GRAD_BUDGET:-12000}
    TIME_BUDGET=${TIME_BUDGET:-6}
    TUNE=${TUNE:-1}
fi
BATCH=${BATCH:-128}
TUNE_SEED=100
LR=${LR:-0.002}
# Settings shared by every run: one thread per run and JOBS runs side by side; evaluation only at the end
# (128x128 grid); few model samples (samples.png is not used by the suite).
COMMON="--threads 1 --batch $BATCH --lr $LR --quiet --set eval_every=0 --set grid=128 --set n_samples=200 --set sample_steps=50"

# Knob grids: the same number of configurations (4) for every objective, two knobs each. alpha = 0.1 for
# all (objectives.md "Calibration": alpha = 0 lets every objective's energies explode).
# A configuration is "k_or_M eta sigma_or_beta".
grid_for() {
    case "$1" in
    cd | sr-cd | pcd) echo "5:0.01:- 10:0.01:- 5:0.03:- 10:0.03:-" ;;
    dcd-ve) echo "4:0.01:0.3 9:0.01:0.3 4:0.01:0.6 9:0.01:0.6" ;;
    dcd-vp) echo "4:0.01:0.1 9:0.01:0.1 4:0.01:0.25 9:0.01:0.25" ;;
    esac
}
default_for() {
    case "$1" in
    cd | sr-cd | pcd) echo "5:0.01:-" ;;
    dcd-ve) echo "4:0.01:0.3" ;;
    dcd-vp) echo "4:0.01:0.1" ;;
    esac
}
evals_per_step() { # objective k_or_M
    case "$1" in dcd-*) echo $(($2 + 1)) ;; *) echo "$2" ;; esac
}
knob_args() { # objective config -> ebmc arguments
    local k eta s
    IFS=: read -r k eta s <<<"$2"
    local a="--set langevin_steps=$k --set step_size=$eta --set alpha=0.1"
    case "$1" in
    dcd-ve) a="$a --set sigma=$s" ;;
    dcd-vp) a="$a --set beta=$s" ;;
    esac
    echo "$a"
}
knob_label() { # objective config -> human-readable
    local k eta s
    IFS=: read -r k eta s <<<"$2"
    case "$1" in
    dcd-ve) echo "M=$k, η=$eta, σ=$s, α=0.1" ;;
    dcd-vp) echo "M=$k, η=$eta, β=$s, α=0.1" ;;
    *) echo "k=$k, η=$eta, α=0.1" ;;
    esac
}

# Runs are keyed by everything that changes them but is not in their path: the gradient budget (which
# sets the steps), batch and lr. Knobs, seeds and (for equal-time runs) steps are in the path.
RUNS="$OUT/runs/g$GRAD_BUDGET-b$BATCH-lr$LR"
mkdir -p "$RUNS"
LOG="$RUNS/suite.log"

# run_batch FILE: each line "DIR<TAB>ebmc train arguments"; runs them JOBS at a time, skipping done ones.
run_batch() {
    local list=$1
    [ -s "$list" ] || return 0
    export EBMC ROOT LOG
    tr '\n' '\0' <"$list" | xargs -0 -P "$JOBS" -I{} bash -c '
        line="$1"; dir=${line%%	*}; args=${line#*	}
        [ -f "$dir/metrics.json" ] && [ -f "$dir/cpu.txt" ] && exit 0
        mkdir -p "$dir"
        # The process CPU time (user + sys) goes to cpu.txt: on a shared machine it is a far steadier
        # measure of cost than wall time.
        TIMEFORMAT="%U %S"
        # shellcheck disable=SC2086
        { time "$EBMC" train $args --out "$dir" >"$dir/stdout.txt" 2>&1 ; } 2>"$dir/time.txt" ||
            echo "FAILED: $dir ($(tail -1 "$dir/stdout.txt"))" >>"$LOG"
        awk "{print \$1+\$2}" "$dir/time.txt" >"$dir/cpu.txt"
        exit 0' _ {}
}
# metric DIR FIELD -> value, or "nan" for a missing or diverged run
metric() {
    if [ "$2" = cpu ]; then cat "$1/cpu.txt" 2>/dev/null || echo nan; return; fi
    local f="$1/metrics.json"
    [ -f "$f" ] || { echo nan; return; }
    jq -r --arg k "$2" 'if .diverged and ($k == "nll" or $k == "tv") then "nan" else (.[$k] // "nan") end' "$f"
}

start=$(date +%s)
echo "== $(date -u +%FT%TZ) experiment-2d (quick=$QUICK) ebmc=$EBMC jobs=$JOBS" | tee -a "$LOG"

# ---- 1. tuning on seed TUNE_SEED's held-out points -------------------------------------------------
declare -A CHOSEN
if [ $TUNE = 1 ]; then
    : >"$RUNS/tune.list"
    for ds in $DATASETS; do
        for obj in $OBJECTIVES; do
            for cfg in $(grid_for "$obj"); do
                k=${cfg%%:*}
                steps=$((GRAD_BUDGET / $(evals_per_step "$obj" "$k")))
                printf '%s\t%s\n' "$RUNS/tune/$ds/$obj/${cfg//:/_}" \
                    "$ROOT/models/$ds.ebm --objective $obj --steps $steps --seed $TUNE_SEED $COMMON $(knob_args "$obj" "$cfg")" \
                    >>"$RUNS/tune.list"
            done
        done
    done
    echo "tuning: $(wc -l <"$RUNS/tune.list") runs" | tee -a "$LOG"
    run_batch "$RUNS/tune.list"
    for ds in $DATASETS; do
        for obj in $OBJECTIVES; do
            best="" bestv=""
            for cfg in $(grid_for "$obj"); do
                v=$(metric "$RUNS/tune/$ds/$obj/${cfg//:/_}" nll)
                if [ "$v" != nan ] && { [ -z "$bestv" ] || awk -v a="$v" -v b="$bestv" 'BEGIN{exit !(a<b)}'; }; then
                    best=$cfg bestv=$v
                fi
            done
            CHOSEN[$ds/$obj]=${best:-$(default_for "$obj")}
        done
    done
else
    for ds in $DATASETS; do for obj in $OBJECTIVES; do CHOSEN[$ds/$obj]=$(default_for "$obj"); done; done
fi

# ---- 2. equal gradient-evaluation budget, all seeds -------------------------------------------------
: >"$RUNS/grad.list"
for ds in $DATASETS; do
    for obj in $OBJECTIVES; do
        cfg=${CHOSEN[$ds/$obj]}
        steps=$((GRAD_BUDGET / $(evals_per_step "$obj" "${cfg%%:*}")))
        for s in $SEEDS; do
            printf '%s\t%s\n' "$RUNS/grad/$ds/$obj/${cfg//:/_}/seed$s" \
                "$ROOT/models/$ds.ebm --objective $obj --steps $steps --seed $s $COMMON $(knob_args "$obj" "$cfg")" \
                >>"$RUNS/grad.list"
        done
    done
done
echo "equal-gradient: $(wc -l <"$RUNS/grad.list") runs ($(($(date +%s) - start)) s so far)" | tee -a "$LOG"
run_batch "$RUNS/grad.list"

# ---- 3. equal wall-clock budget ----------------------------------------------------------------------
# The machine may be shared, so wall time per step is noisy (we saw 3-7x swings). The budget is instead
# TIME_BUDGET seconds of single-thread CPU time of the training loop, i.e. the wall time on an idle core.
# Per-step CPU cost c = (CPU of a full equal-gradient run - CPU of a run with a fifth of the steps) /
# (difference in steps): the fixed costs (JIT compile, evaluation, sampling) cancel. steps = TIME_BUDGET / c.
: >"$RUNS/cost.list"
for ds in $DATASETS; do
    for obj in $OBJECTIVES; do
        cfg=${CHOSEN[$ds/$obj]}
        steps=$((GRAD_BUDGET / $(evals_per_step "$obj" "${cfg%%:*}")))
        short=$((steps / 5 > 0 ? steps / 5 : 1))
        printf '%s\t%s\n' "$RUNS/cost/$ds/$obj/${cfg//:/_}/steps$short" \
            "$ROOT/models/$ds.ebm --objective $obj --steps $short --seed ${SEEDS%% *} $COMMON $(knob_args "$obj" "$cfg")" \
            >>"$RUNS/cost.list"
    done
done
run_batch "$RUNS/cost.list"
: >"$RUNS/time.list"
declare -A TSTEPS CPUSTEP
for ds in $DATASETS; do
    for obj in $OBJECTIVES; do
        cfg=${CHOSEN[$ds/$obj]}
        steps=$((GRAD_BUDGET / $(evals_per_step "$obj" "${cfg%%:*}")))
        short=$((steps / 5 > 0 ? steps / 5 : 1))
        full=$(for s in $SEEDS; do metric "$RUNS/grad/$ds/$obj/${cfg//:/_}/seed$s" cpu; done |
            awk '$1!="nan"{t+=$1;n++} END{print n?t/n:"nan"}')
        part=$(metric "$RUNS/cost/$ds/$obj/${cfg//:/_}/steps$short" cpu)
        c=$(awk -v f="$full" -v p="$part" -v n="$steps" -v m="$short" 'BEGIN{
            if (f=="nan") {print "nan"; exit}
            c = (p!="nan" && n>m) ? (f-p)/(n-m) : 0
            if (c <= 0) c = f/n          # noise swamped the difference: charge the fixed costs too
            printf "%.6f", c }')
        CPUSTEP[$ds/$obj]=$c
        steps=$(awk -v c="$c" -v t="$TIME_BUDGET" 'BEGIN{ if (c=="nan") {print 1; exit} s=int(t/c+0.5); print s<1?1:s}')
        TSTEPS[$ds/$obj]=$steps
        for s in $SEEDS; do
            printf '%s\t%s\n' "$RUNS/time/$ds/$obj/${cfg//:/_}/steps$steps/seed$s" \
                "$ROOT/models/$ds.ebm --objective $obj --steps $steps --seed $s $COMMON $(knob_args "$obj" "$cfg")" \
                >>"$RUNS/time.list"
        done
    done
done
echo "equal-time: $(wc -l <"$RUNS/time.list") runs ($(($(date +%s) - start)) s so far)" | tee -a "$LOG"
run_batch "$RUNS/time.list"

# ---- 4. table.md ------------------------------------------------------------------------------------
# stats DIR-PREFIX FIELD: "mean ± sd" over seeds (sd with n-1), and the count of diverged/missing runs
stats() {
    for s in $SEEDS; do metric "$1/seed$s" "$2"; done | awk -v fmt="${3:-%.3f}" '
        $1=="nan"{bad++; next} {x[n++]=$1; t+=$1}
        END{ if(!n){printf "n/a"; exit}
             m=t/n; v=0; for(i=0;i<n;i++) v+=(x[i]-m)^2; sd=n>1?sqrt(v/(n-1)):0
             printf fmt " ± " fmt, m, sd; if(bad) printf " (%d diverged)", bad }'
}
mean_of() { for s in $SEEDS; do metric "$1/seed$s" "$2"; done | awk -v fmt="${3:-%.1f}" '$1!="nan"{t+=$1;n++} END{if(n) printf fmt, t/n; else printf "n/a"}'; }

TABLE="$OUT/table.md"
{
    echo "# 2-D experiment suite$([ $QUICK = 1 ] && echo " (--quick)")"
    echo
    echo "Generated by \`scripts/experiment-2d.sh$([ $QUICK = 1 ] && echo " --quick")\` on $(date -u +%F) ($(nproc) cores, $JOBS runs at a time, 1 thread each)."
    echo "Network: the models/*.ebm MLP 2-128-128-128-1 (SiLU) for every objective. Batch $BATCH, Adam lr $LR."
    echo "NLL: nats on held-out points, model density normalized on a 128x128 grid (lower is better). TV: total variation to a data histogram (0 best, 1 worst)."
    echo "Mean ± sd over seeds $(echo $SEEDS | tr ' ' ','); a diverged run (non-finite energies) is excluded from the mean and counted."
    if [ $TUNE = 1 ]; then
        echo "Knobs: each objective tried the same 4 configurations per data set (two of its own knobs, 2 x 2), trained with seed $TUNE_SEED and chosen by NLL on seed $TUNE_SEED's held-out points (no separate validation stream exists); the table reports seeds $(echo $SEEDS | tr ' ' ',')."
    else
        echo "Knobs: no tuning (--quick, or TUNE=0); every objective runs its defaults: $(knob_label cd "$(default_for cd)") for cd, sr-cd, pcd; $(knob_label dcd-ve "$(default_for dcd-ve)"); $(knob_label dcd-vp "$(default_for dcd-vp)")."
    fi
    echo
    echo "## Equal budget of energy-gradient evaluations ($GRAD_BUDGET per run)"
    echo
    echo "cd, sr-cd, pcd use k per step; dcd-ve, dcd-vp (MALA) use M + 1 per step; steps = $GRAD_BUDGET / that."
    echo
    echo "| data set | objective | NLL | TV | steps | CPU ms / step | steps/s (idle core) | knobs |"
    echo "|---|---|---|---|---|---|---|---|"
    for ds in $DATASETS; do
        for obj in $OBJECTIVES; do
            cfg=${CHOSEN[$ds/$obj]}
            d="$RUNS/grad/$ds/$obj/${cfg//:/_}"
            steps=$((GRAD_BUDGET / $(evals_per_step "$obj" "${cfg%%:*}")))
            echo "| $ds | $obj | $(stats "$d" nll) | $(stats "$d" tv) | $steps | $(awk -v c="${CPUSTEP[$ds/$obj]}" 'BEGIN{if(c=="nan")print "n/a"; else printf "%.1f", 1000*c}') | $(awk -v c="${CPUSTEP[$ds/$obj]}" 'BEGIN{if(c=="nan"||c<=0)print "n/a"; else printf "%.0f", 1/c}') | $(knob_label "$obj" "$cfg") |"
        done
    done
    echo
    echo "## Equal wall-clock budget ($TIME_BUDGET s of single-core training time per run)"
    echo
    echo "steps = $TIME_BUDGET s / (CPU seconds per step of the same objective and knobs, measured from its equal-gradient runs minus a run with a fifth of the steps, so JIT and evaluation costs cancel). CPU time stands in for wall time on an idle core: the machine was shared and wall time per step swung 3-7x. \"wall s / run\" is the measured (contended) training-loop wall time, \"steps/s\" the contended rate, for reference only."
    echo
    echo "| data set | objective | NLL | TV | steps | steps/s (contended) | wall s / run (contended) | knobs |"
    echo "|---|---|---|---|---|---|---|---|"
    for ds in $DATASETS; do
        for obj in $OBJECTIVES; do
            cfg=${CHOSEN[$ds/$obj]}
            d="$RUNS/time/$ds/$obj/${cfg//:/_}/steps${TSTEPS[$ds/$obj]}"
            echo "| $ds | $obj | $(stats "$d" nll) | $(stats "$d" tv) | ${TSTEPS[$ds/$obj]} | $(mean_of "$d" steps_per_sec) | $(mean_of "$d" seconds) | $(knob_label "$obj" "$cfg") |"
        done
    done
    echo
    echo "## Held-out NLL at a glance (equal gradient budget / equal time), mean over seeds"
    echo
    echo "| data set | $(echo $OBJECTIVES | sed 's/ / | /g') |"
    echo "|---|$(for o in $OBJECTIVES; do printf -- '---|'; done)"
    for ds in $DATASETS; do
        row="| $ds |"
        for obj in $OBJECTIVES; do
            cfg=${CHOSEN[$ds/$obj]}
            g=$(mean_of "$RUNS/grad/$ds/$obj/${cfg//:/_}" nll %.2f)
            t=$(mean_of "$RUNS/time/$ds/$obj/${cfg//:/_}/steps${TSTEPS[$ds/$obj]}" nll %.2f)
            row="$row $g / $t |"
        done
        echo "$row"
    done
    if [ $TUNE = 1 ]; then
        echo
        echo "## Tuning runs (seed $TUNE_SEED, its held-out NLL; the chosen one in bold)"
        echo
        echo "| data set | objective | configurations tried: NLL |"
        echo "|---|---|---|"
        for ds in $DATASETS; do
            for obj in $OBJECTIVES; do
                row="| $ds | $obj |"
                for cfg in $(grid_for "$obj"); do
                    v=$(metric "$RUNS/tune/$ds/$obj/${cfg//:/_}" nll)
                    [ "$v" != nan ] && v=$(printf '%.3f' "$v") || v="diverged"
                    item="$(knob_label "$obj" "$cfg" | sed 's/, α=0.1//'): $v"
                    [ "$cfg" = "${CHOSEN[$ds/$obj]}" ] && item="**$item**"
                    row="$row $item;"
                done
                echo "$row |"
            done
        done
    fi
    echo
    echo "Total suite time: $(($(date +%s) - start)) s (runs already present from an earlier invocation are not re-timed)."
} >"$TABLE"
echo "wrote $TABLE" | tee -a "$LOG"

# ---- 5. densities.png: rows data sets, columns data then each objective (equal-gradient, seed 0) ------
if [ -x "$MONTAGE" ]; then
    first=${SEEDS%% *}
    margs=()
    for ds in $DATASETS; do
        cells=()
        datacell="-"
        for obj in $OBJECTIVES; do
            cfg=${CHOSEN[$ds/$obj]}
            png="$RUNS/grad/$ds/$obj/${cfg//:/_}/seed$first/density.png"
            if [ -f "$png" ]; then cells+=("R:$png"); [ "$datacell" = - ] && datacell="L:$png"; else cells+=("-"); fi
        done
        margs+=(--row "$ds" "$datacell" "${cells[@]}")
    done
    "$MONTAGE" "$OUT/densities.png" --cols "data,$(echo $OBJECTIVES | tr ' ' ',')" \
        --title "model densities exp(-E), equal gradient budget ($GRAD_BUDGET), seed $first" "${margs[@]}" ||
        echo "montage: some panels missing" >&2
    echo "wrote $OUT/densities.png" | tee -a "$LOG"
else
    echo "experiment-2d.sh: no ebmc-montage binary; skipped densities.png (build target ebmc-montage)" >&2
fi
echo "== done in $(($(date +%s) - start)) s" | tee -a "$LOG"
