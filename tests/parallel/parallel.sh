#!/bin/sh
# Data-parallel training (docs/parallel.md) on this machine: 2 and 3 ranks at the global batch B (B/N rows
# each) end with the parameters of one process at batch B to float rounding after 100 steps, for an
# objective with MALA chains (dcd-ve) and one with a replay buffer shared by the ranks (pcd); a job is
# bitwise the same run to run; --resume continues it bitwise with as many ranks and says what it needs
# with another count; a rank killed mid-run ends the job with a message, and its last checkpoint loads
# and resumes; SIGUSR1 to mpirun stops every rank after the same step with a checkpoint.
# Usage: parallel.sh path/to/ebmc path/to/compare_runs path/to/mpiexec
set -u
EBMC=$1 COMPARE=$2 MPIEXEC=$3
DIR=$(mktemp -d /tmp/ebmc-mpi-XXXXXX)
fail=0
# one thread per rank; --allow-run-as-root: CI and these machines run tests as root
mpi() { n=$1; shift; "$MPIEXEC" --oversubscribe --allow-run-as-root -np "$n" "$@"; }
check() { if "$@" >"$DIR/out" 2>&1; then :; else echo "FAIL: $*"; cat "$DIR/out"; fail=1; fi; }
cat >"$DIR/m.ebm" <<'MODEL'
param W1: [2, 32] = xavier()
param b1: [32] = zeros()
param W2: [32, 32] = xavier()
param b2: [32] = zeros()
param W3: [32, 1] = xavier()
param b3: [1] = zeros()
energy(x: [B, 2]) {
  h = silu(x @ W1 + b1)
  h = silu(h @ W2 + b2)
  return h @ W3 + b3
}
train {
  data = 8gaussians
  objective = dcd-ve
  steps = 100
  batch = 96
  threads = 1
  eval_every = 0
  check_ranks_every = 10
  buffer_size = 384
  grid = 16
  n_samples = 96
  sample_steps = 2
}
MODEL
T="$EBMC train $DIR/m.ebm --quiet"
TOL=1e-5
for obj in dcd-ve pcd; do
    check $T --objective $obj --out "$DIR/one-$obj"
    for n in 2 3; do
        check mpi $n $T --objective $obj --out "$DIR/n$n-$obj"
        check "$COMPARE" "$DIR/one-$obj" "$DIR/n$n-$obj" $TOL
        echo "$obj, $n ranks against one process: $(cat "$DIR/out")"
    done
done
# the same job twice: bitwise the same parameters and Adam moments
check mpi 2 $T --out "$DIR/again"
check "$COMPARE" "$DIR/n2-dcd-ve" "$DIR/again" 0
# 2 ranks for 50 steps, resumed to 100 with 2: bitwise the unbroken 2-rank run
check mpi 2 $T --steps 50 --out "$DIR/half"
check mpi 2 $EBMC train --resume "$DIR/half" --steps 100 --quiet
check "$COMPARE" "$DIR/n2-dcd-ve" "$DIR/half" 0
# another count is refused with what it needs
if mpi 3 $EBMC train --resume "$DIR/half" --steps 120 --quiet >"$DIR/out" 2>&1; then
    echo "FAIL: a 2-rank run resumed with 3 ranks"; fail=1
elif ! grep -q "mpirun -np 2 ebmc train --resume" "$DIR/out"; then
    echo "FAIL: resuming with 3 ranks does not say it needs 2:"; cat "$DIR/out"; fail=1
fi
# a batch that does not split
if mpi 2 $T --batch 95 --out "$DIR/odd" >"$DIR/out" 2>&1 || ! grep -q "multiple of 2" "$DIR/out"; then
    echo "FAIL: batch 95 over 2 ranks:"; cat "$DIR/out"; fail=1
fi
# a rank killed mid-run: the job ends with a message, the last checkpoint loads and resumes
"$MPIEXEC" --oversubscribe --allow-run-as-root -np 2 $T --steps 1000000 --set checkpoint_every=20 --out "$DIR/killed" \
    >"$DIR/killed.log" 2>&1 &
job=$! # mpirun itself: the ranks are its children
i=0
while [ ! -f "$DIR/killed/model.ckpt" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
victim=$(pgrep -P $job | tail -n 1)
if [ -z "$victim" ]; then
    echo "FAIL: no rank of the job to kill"; fail=1
else
    kill -9 "$victim"
fi
i=0
while kill -0 $job 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 $job 2>/dev/null; then
    echo "FAIL: the job outlived its killed rank by 30 s"; kill -9 $job; fail=1
elif wait $job; then
    echo "FAIL: the job with a killed rank exited 0"; fail=1
else
    echo "killed rank: $(grep -m1 -i "signal\|killed\|exited" "$DIR/killed.log")"
    check "$COMPARE" "$DIR/killed" "$DIR/killed" 0
    at=$("$EBMC" eval "$DIR/killed" 2>/dev/null | sed -n 's/^step //p')
    check mpi 2 $EBMC train --resume "$DIR/killed" --steps $((${at:-0} + 10)) --quiet
fi
# SIGUSR1 to mpirun, which forwards it to every rank: they stop after the same step and rank 0 checkpoints
"$MPIEXEC" --oversubscribe --allow-run-as-root -np 2 $T --steps 1000000 --set checkpoint_every=50 --out "$DIR/usr1" \
    >"$DIR/usr1.log" 2>&1 &
job=$!
i=0 # a checkpoint: both ranks are training, their signal handlers in place
while [ ! -f "$DIR/usr1/model.ckpt" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
kill -USR1 $job
wait $job
rc=$?
if [ $rc != 130 ] || ! grep -q "continue with 'mpirun -np 2 ebmc train --resume" "$DIR/usr1.log"; then
    echo "FAIL: SIGUSR1 to mpirun (exit $rc):"; cat "$DIR/usr1.log"; fail=1
else
    check "$COMPARE" "$DIR/usr1" "$DIR/usr1" 0
fi
[ $fail = 0 ] && rm -rf "$DIR"
exit $fail
