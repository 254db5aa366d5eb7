#!/bin/sh
# A time-dependent energy E(x, t) through the CLI: check, train on the VE and VP ladders, --resume to the
# same checkpoint as an unbroken run, annealed `sample` to .png and .csv, `--emit` and the AOT header
# listing the level input, and the refusals (an E(x) objective on E(x, t), and the other way round).
# time-cd, the CD baseline on the same ladder, trains too. Usage: time_cli.sh path/to/ebmc
set -u
EBMC=$1
DIR=$(mktemp -d /tmp/ebmc-time-XXXXXX)
. "$(dirname "$0")/cli_lib.sh"
cat >"$DIR/time.ebm" <<'MODEL'
param Wt: [8, 16] = xavier()
param W1: [2, 16] = xavier()
param b1: [16] = zeros()
param W2: [16, 1] = xavier()
def embed(t) {
  a = reshape(t, [B, 1]) * exp(-0.5 * range(4))
  return concat(sin(a), cos(a), 1) @ Wt
}
energy(x: [B, 2], t: [B]) {
  return silu(x @ W1 + b1 + embed(t)) @ W2
}
train {
  data = rings
  objective = time-dcd-ve
  levels = 4
  sigma_min = 0.1
  sigma_max = 2
  batch = 64
  grid = 32
  n_samples = 128
  sample_steps = 5
  threads = 2
}
MODEL
check "check" "$EBMC" check "$DIR/time.ebm"
check "train ve" "$EBMC" train "$DIR/time.ebm" --out "$DIR/ve" --steps 10 --quiet
for f in model.ckpt log.csv metrics.json density.png samples.png; do
    [ -s "$DIR/ve/$f" ] || { echo "FAIL: train did not write $f"; fail=1; }
done
grep -q '"objective": "time-dcd-ve"' "$DIR/ve/metrics.json" || { echo "FAIL: metrics.json lacks the objective"; fail=1; }
check "train 5 steps" "$EBMC" train "$DIR/time.ebm" --out "$DIR/half" --steps 5 --quiet
check "resume to 10" "$EBMC" train --resume "$DIR/half" --steps 10 --quiet
cmp -s "$DIR/ve/model.ckpt" "$DIR/half/model.ckpt" || { echo "FAIL: a resumed time run differs from an unbroken one"; fail=1; }
check "train vp" "$EBMC" train "$DIR/time.ebm" --out "$DIR/vp" --steps 5 --set objective=time-dcd-vp --quiet
check "train cd" "$EBMC" train "$DIR/time.ebm" --out "$DIR/cd" --steps 5 --set objective=time-cd --quiet
grep -q '"objective": "time-cd"' "$DIR/cd/metrics.json" || { echo "FAIL: time-cd did not run"; fail=1; }
check "sample png" "$EBMC" sample "$DIR/ve" --n 20 --out "$DIR/s.png"
check "sample csv" "$EBMC" sample "$DIR/vp" --n 20 --out "$DIR/s.csv"
[ "$(grep -c '^[-0-9]' "$DIR/s.csv")" -eq 20 ] || { echo "FAIL: s.csv does not hold 20 samples"; cat "$DIR/s.csv"; fail=1; }
check "emit graph" "$EBMC" compile "$DIR/time.ebm" --emit=graph
grep -q 'input "in:t" : \[64\]' "$DIR/out" || { echo "FAIL: --emit=graph lacks in:t"; cat "$DIR/out"; fail=1; }
check "emit ast" "$EBMC" compile "$DIR/time.ebm" --emit=ast
grep -q 'energy x \[B, 2\], t \[B\]' "$DIR/out" || { echo "FAIL: --emit=ast lacks the arguments"; cat "$DIR/out"; fail=1; }
check "compile -o" "$EBMC" compile "$DIR/time.ebm" -o "$DIR/time.o" --header "$DIR/time.h"
[ "$(grep -c 'in:t  ' "$DIR/time.h")" -eq 5 ] || { echo "FAIL: the header does not list in:t in all 5 programs"; fail=1; }
refuse "E(x) objective on E(x, t)" "trains an energy of x alone" "$EBMC" train "$DIR/time.ebm" --out "$DIR/no" --steps 2 --set objective=dcd-ve --quiet
printf 'param W: [2, 1] = xavier()\nenergy(x: [B, 2]) { return x @ W }\ntrain {\n  objective = time-dcd-ve\n}\n' >"$DIR/plain.ebm"
refuse "time objective on E(x)" "a level t" "$EBMC" train "$DIR/plain.ebm" --out "$DIR/no2" --steps 2 --quiet
printf 'param W: [2, 1] = xavier()\nenergy(x: [B, 2], w: [B]) { return x @ W }\ntrain {\n  objective = time-dcd-ve\n}\n' >"$DIR/w.ebm"
refuse "a level named like a runtime input" "rename it" "$EBMC" train "$DIR/w.ebm" --out "$DIR/no3" --steps 2 --quiet
rm -rf "$DIR"
exit $fail
