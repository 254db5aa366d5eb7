#!/bin/sh
# `ebmc score`: a small classifier (objective classify, with a features function) and a small generator
# trained on the same labelled 8x8 IDX images (write_two_classes), then FCD with its floor and ceiling,
# printed and in the JSON file, and the refusals: no --classifier, a missing classifier run, a run that is
# not a classifier, a classifier without features, a classifier of another sample shape or data_scale, N
# out of range, an output that is not .json; and the fcd_classifier setting (FCD in metrics.json at the end of
# training, a wrong classifier refused before training). Usage: score_cli.sh path/to/ebmc path/to/write_two_classes
set -u
EBMC=$1
WRITE=$2
DIR=$(mktemp -d /tmp/ebmc-score-XXXXXX)
. "$(dirname "$0")/cli_lib.sh"
mkdir -p "$DIR/data"
"$WRITE" "$DIR/data" 8 400 200 || { echo "FAIL: could not write the images"; exit 1; }
cat >"$DIR/cls.ebm" <<MODEL
param W1: [64, 16] = kaiming_uniform()
param b1: [16] = zeros()
param W2: [16, 2] = kaiming_uniform()
param b2: [2] = zeros()
def features(x) {
  return silu(reshape(x, [B, 64]) @ W1 + b1)
}
energy(x: [B, 1, 8, 8]) {
  return -(features(x) @ W2 + b2)
}
train {
  data = "$DIR/data/train-images-idx3-ubyte"
  objective = classify
  batch = 32
  lr = 0.01
  eval_every = 0
  threads = 1
}
MODEL
# the same without features
sed '/^def features/,/^}/d; s/features(x)/silu(reshape(x, [B, 64]) @ W1 + b1)/' "$DIR/cls.ebm" >"$DIR/nofeat.ebm"
cat >"$DIR/gen.ebm" <<MODEL
param W1: [64, 32] = kaiming_uniform()
param b1: [32] = zeros()
param w2: [32, 1] = kaiming_uniform()
energy(x: [B, 1, 8, 8]) {
  return silu(reshape(x, [B, 64]) @ W1 + b1) @ w2
}
train {
  data = "$DIR/data/train-images-idx3-ubyte"
  objective = dcd-ve
  batch = 32
  eval_every = 0
  sample_steps = 5
  threads = 1
}
MODEL
check "train the classifier" "$EBMC" train "$DIR/cls.ebm" --out "$DIR/cls" --steps 60 --quiet
grep -q '"accuracy": 0\.9' "$DIR/cls/metrics.json" || grep -q '"accuracy": 1' "$DIR/cls/metrics.json" ||
    { echo "FAIL: the classifier's held-out accuracy is not above 0.9:"; grep accuracy "$DIR/cls/metrics.json"; fail=1; }
check "train the generator" "$EBMC" train "$DIR/gen.ebm" --out "$DIR/gen" --steps 5 --quiet
check "train a classifier without features" "$EBMC" train "$DIR/nofeat.ebm" --out "$DIR/nofeat" --steps 2 --quiet
cat >"$DIR/rings.ebm" <<'MODEL'
param W: [2, 8] = kaiming_uniform()
param w: [8, 1] = kaiming_uniform()
energy(x: [B, 2]) {
  return silu(x @ W) @ w
}
train {
  data = rings
  batch = 32
  n_samples = 64
  grid = 16
  threads = 1
}
MODEL
check "train a 2-D model" "$EBMC" train "$DIR/rings.ebm" --out "$DIR/rings" --steps 2 --quiet
check "train with another data_scale" "$EBMC" train "$DIR/gen.ebm" --out "$DIR/centered" --steps 2 --quiet \
    --set data_scale=centered

check "score --help" "$EBMC" score --help
grep -q -- "--classifier" "$DIR/out" || { echo "FAIL: score --help does not name --classifier"; fail=1; }
check "score" "$EBMC" score "$DIR/gen" --classifier "$DIR/cls" --n 150 --steps 3 --out "$DIR/s.json"
for word in "not FID" "model samples vs held-out" "floor: training vs held-out" "ceiling: noise vs held-out" \
    "classifier accuracy"; do
    grep -q "$word" "$DIR/out" || { echo "FAIL: score does not print '$word':"; cat "$DIR/out"; fail=1; }
done
# the JSON: every figure, and floor < ceiling (real images against noise on the classifier's features)
num() { sed -n "s/^ *\"$1\": \([-0-9.e+]*\),*$/\1/p" "$DIR/s.json"; }
fcd=$(num fcd); floor=$(num fcd_floor); ceiling=$(num fcd_ceiling); n=$(num n)
if [ -z "$fcd" ] || [ -z "$floor" ] || [ -z "$ceiling" ] || [ "$n" != 150 ]; then
    echo "FAIL: s.json lacks a figure:"; cat "$DIR/s.json"; fail=1
elif ! awk -v f="$floor" -v c="$ceiling" 'BEGIN { exit !(f >= 0 && c > 2 * f) }'; then
    echo "FAIL: floor $floor is not well below ceiling $ceiling"; fail=1
fi
check "score to RUN_DIR/score.json" "$EBMC" score "$DIR/gen" --classifier "$DIR/cls" --n 40 --steps 1
[ -s "$DIR/gen/score.json" ] || { echo "FAIL: score did not write RUN_DIR/score.json"; fail=1; }

# fcd_classifier: metrics.json records FCD at the end of training; a wrong classifier fails before step 1
check "train with fcd_classifier" "$EBMC" train "$DIR/gen.ebm" --out "$DIR/gen_fcd" --steps 3 --quiet \
    --set fcd_classifier="$DIR/cls" --set fcd_n=60
grep -q '"fcd": {' "$DIR/gen_fcd/metrics.json" && grep -q '"floor": ' "$DIR/gen_fcd/metrics.json" &&
    grep -q '"ceiling": ' "$DIR/gen_fcd/metrics.json" ||
    { echo "FAIL: metrics.json has no fcd with floor and ceiling:"; cat "$DIR/gen_fcd/metrics.json"; fail=1; }
grep -q "^FCD (on the fcd_classifier" "$DIR/err" || { echo "FAIL: train does not print the FCD:"; cat "$DIR/err"; fail=1; }
# ... and at every evaluation, in log.csv's fcd column, without changing the training
check "train with fcd_classifier, eval_every 2" "$EBMC" train "$DIR/gen.ebm" --out "$DIR/gen_fcd2" --steps 4 --quiet \
    --set fcd_classifier="$DIR/cls" --set fcd_n=60 --set eval_every=2
check "train without it" "$EBMC" train "$DIR/gen.ebm" --out "$DIR/gen_nofcd" --steps 4 --quiet --set eval_every=2
cmp -s "$DIR/gen_fcd2/model.ckpt" "$DIR/gen_nofcd/model.ckpt" ||
    { echo "FAIL: scoring during training changed the parameters"; fail=1; }
column=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "fcd") c = i } NR > 1 { printf "%s:%s ", $1, $c }' \
    "$DIR/gen_fcd2/log.csv")
case "$column" in
    "1: 2:"[0-9]*" 3: 4:"[0-9]*" ") ;;
    *) echo "FAIL: log.csv's fcd column is not filled at steps 2 and 4 alone: $column"; fail=1 ;;
esac
last=$(echo "$column" | sed 's/.*4://; s/ $//')
final=$(tr -d '\n ' <"$DIR/gen_fcd2/metrics.json" | sed -n 's/.*"fcd":{"value":\([-0-9.e+]*\).*/\1/p')
awk -v a="$last" -v b="$final" 'BEGIN { exit !(b != "" && (a - b) ^ 2 < 1e-10 * (1 + b * b)) }' ||
    { echo "FAIL: the last fcd of log.csv ($last) is not metrics.json's ($final)"; fail=1; }
refuse "fcd_classifier not a classifier" "is not a classifier" "$EBMC" train "$DIR/gen.ebm" --out "$DIR/gen_bad" \
    --steps 3 --quiet --set fcd_classifier="$DIR/gen"
[ -e "$DIR/gen_bad/model.ckpt" ] && { echo "FAIL: a wrong fcd_classifier trained anyway"; fail=1; }
refuse "no --classifier" "no --classifier" "$EBMC" score "$DIR/gen" --n 10
refuse "a missing classifier run" "$DIR/nope" "$EBMC" score "$DIR/gen" --classifier "$DIR/nope" --n 10
refuse "a run that is not a classifier" "is not a classifier" "$EBMC" score "$DIR/gen" --classifier "$DIR/gen" --n 10
refuse "a classifier without features" "has no function 'features'" "$EBMC" score "$DIR/gen" --classifier "$DIR/nofeat" --n 10
refuse "shape mismatch" "takes samples of shape \[1, 8, 8\]" "$EBMC" score "$DIR/rings" --classifier "$DIR/cls" --n 10
refuse "data_scale mismatch" "data_scale = centered" "$EBMC" score "$DIR/centered" --classifier "$DIR/cls" --n 10
refuse "N too large" "between 2 and 200" "$EBMC" score "$DIR/gen" --classifier "$DIR/cls" --n 201
refuse "N too small" "whole number >= 2" "$EBMC" score "$DIR/gen" --classifier "$DIR/cls" --n 1
refuse "N not a number" "whole number >= 2" "$EBMC" score "$DIR/gen" --classifier "$DIR/cls" --n 1e99
refuse "output not .json" "must end in .json" "$EBMC" score "$DIR/gen" --classifier "$DIR/cls" --out "$DIR/s.txt"
[ $fail = 0 ] && [ -z "${KEEP:-}" ] && rm -rf "$DIR"
exit $fail
