#!/bin/sh
# SIGKILL a training run at random moments (it checkpoints every step, so most kills land while a
# checkpoint is being written or just after), 30 times; each time the run folder must resume (the
# checkpoint on disk loads) and finish with a checkpoint bitwise equal to an unbroken run's.
# Usage: kill_resume.sh path/to/ebmc
set -u
EBMC=$1
DIR=$(mktemp -d /tmp/ebmc-kill-XXXXXX)
fail=0
cat >"$DIR/m.ebm" <<'MODEL'
param W1: [2, 16] = xavier()
param b1: [16] = zeros()
param W2: [16, 1] = xavier()
param b2: [1] = zeros()
energy(x: [B, 2]) {
  return silu(x @ W1 + b1) @ W2 + b2
}
train {
  data = rings
  objective = pcd
  batch = 64
  buffer_size = 256
  grid = 16
  n_samples = 64
  sample_steps = 2
  threads = 1
  eval_every = 0
  checkpoint_every = 1
}
MODEL
STEPS=200
"$EBMC" train "$DIR/m.ebm" --out "$DIR/ref" --steps $STEPS --quiet >/dev/null 2>&1 || { echo "FAIL: the unbroken run"; exit 1; }
kills=0 resumed=0
for i in $(seq 1 30); do
    R="$DIR/run$i"
    "$EBMC" train "$DIR/m.ebm" --out "$R" --steps $STEPS --quiet >/dev/null 2>&1 &
    pid=$!
    # a pseudo-random moment 0.05 to 0.6 s after the first checkpoint appears (waiting for it, not for a
    # fixed time, so a slow machine or the sanitizer build kills as late in the run as a fast one)
    for _ in $(seq 1 1200); do [ -e "$R/model.ckpt" ] || ! kill -0 $pid 2>/dev/null && break; sleep 0.05; done
    sleep "0.$(( (i * 7919) % 55 + 5 ))"
    kill -9 $pid 2>/dev/null && kills=$((kills + 1))
    wait $pid 2>/dev/null
    if [ ! -e "$R/model.ckpt" ]; then
        rm -rf "$R"   # killed before the first checkpoint: nothing to resume, nothing lost
        continue
    fi
    if ! "$EBMC" train --resume "$R" --steps $STEPS --quiet >"$DIR/out" 2>&1; then
        echo "FAIL: kill $i: the run does not resume:"; cat "$DIR/out"; fail=1; continue
    fi
    resumed=$((resumed + 1))
    cmp -s "$R/model.ckpt" "$DIR/ref/model.ckpt" || { echo "FAIL: kill $i: the resumed run's checkpoint differs"; fail=1; }
    rm -rf "$R"
done
echo "$kills kills, $resumed resumed from a checkpoint on disk"
[ $resumed -ge 15 ] || { echo "FAIL: only $resumed kills left a checkpoint to resume"; fail=1; }
[ $fail -eq 0 ] && rm -rf "$DIR" && echo "kill and resume: ok"
exit $fail
