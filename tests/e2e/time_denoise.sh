#!/bin/sh
# Denoising with a time-dependent energy E(x, t) (restore.h): MALA starts at the level of the ladder whose
# noise is nearest the observations' and anneals down to level 0; MAP stays descent on E(x, 0). On 12x12
# images (write_two_classes) and a VE ladder of 4 levels from 0.1 to 1 (0.1, 0.215, 0.464, 1): noise 0.3 is
# nearest level 2, 0.9 level 4. Usage: time_denoise.sh path/to/ebmc path/to/write_two_classes
set -u
EBMC=$1
DIR=$(mktemp -d /tmp/ebmc-time-denoise-XXXXXX)
. "$(dirname "$0")/cli_lib.sh"
"$2" "$DIR" 12 64 40 || { echo "FAIL: write_two_classes"; exit 1; }
cat >"$DIR/t.ebm" <<MODEL
param Wt: [8, 4] = xavier()
param W1: [4, 1, 3, 3] = kaiming_uniform()
param b1: [4] = zeros()
param w2: [144, 1] = kaiming_uniform()
energy(x: [B, 1, 12, 12], t: [B]) {
  a = reshape(t, [B, 1]) * exp(-0.5 * range(4))
  e = concat(sin(a), cos(a), 1) @ Wt
  h = silu(conv2d(x, W1, b1, 2, 1) + reshape(e, [B, 4, 1, 1]))
  return reshape(h, [B, 144]) @ w2
}
train {
  data = "$DIR/train-images-idx3-ubyte"
  objective = time-dcd-ve
  levels = 4
  sigma_min = 0.1
  sigma_max = 1
  batch = 16
  sample_steps = 2
  threads = 1
}
MODEL
check "train" "$EBMC" train "$DIR/t.ebm" --out "$DIR/run" --steps 5 --quiet
check "denoise 0.3" "$EBMC" denoise "$DIR/run" --noise 0.3 --steps 4 --n 8 --out "$DIR/d3.png"
grep -q "annealed from level 2 of the ladder, noise 0.215" "$DIR/out" ||
    { echo "FAIL: noise 0.3 did not start at level 2 (0.215)"; cat "$DIR/out"; fail=1; }
grep -q '"annealed_from_level": 2' "$DIR/d3.json" || { echo "FAIL: d3.json lacks the level"; fail=1; }
grep -q '"psnr_mean": [0-9]' "$DIR/d3.json" || { echo "FAIL: d3.json has no finite PSNR"; cat "$DIR/d3.json"; fail=1; }
[ -s "$DIR/d3.png" ] || { echo "FAIL: no d3.png"; fail=1; }
check "denoise 0.9" "$EBMC" denoise "$DIR/run" --noise 0.9 --steps 4 --n 8 --out "$DIR/d9.png"
grep -q "annealed from level 4 of the ladder, noise 1" "$DIR/out" ||
    { echo "FAIL: noise 0.9 did not start at the top level"; cat "$DIR/out"; fail=1; }
check "denoise map" "$EBMC" denoise "$DIR/run" --noise 0.3 --steps 4 --n 8 --method map --out "$DIR/m.png"
if grep -q "annealed" "$DIR/out" "$DIR/m.json"; then echo "FAIL: MAP annealed"; fail=1; fi
rm -rf "$DIR"
exit $fail
