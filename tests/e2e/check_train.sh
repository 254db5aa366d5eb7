#!/bin/sh
# `ebmc check` runs every check `train` runs before compiling: for each model below (bad settings, bad
# data, a wrong input shape, too much memory, and two good ones), check fails exactly when train fails,
# and prints the same message. Usage: check_train.sh path/to/ebmc
set -u
EBMC=$1
DIR=$(mktemp -d /tmp/ebmc-check-train-XXXXXX)
fail=0
n=0
# a small model: NAME, the energy's input shape, the first layer's shape, then train-block lines (each
# replaces the default of its key)
model() {
    name=$1 x=$2 w=$3; shift 3
    {
        printf 'param W1: [%s] = xavier()\nparam b1: [%s] = zeros()\nparam W2: [%s, 1] = xavier()\n' "$w" "${w#*, }" "${w#*, }"
        printf 'energy(x: %s) {\n  return sum(silu(x @ W1 + b1) @ W2, 1)\n}\n' "$x"
        printf 'train {\n  steps = 2\n  batch = 16\n  grid = 16\n  n_samples = 16\n  sample_steps = 2\n  threads = 1\n}\n'
    } >"$DIR/$name.ebm"
    for line in "$@"; do
        key=${line%% =*}
        if grep -q "^  $key = " "$DIR/$name.ebm"; then sed -i "s|^  $key = .*|  $line|" "$DIR/$name.ebm"
        else sed -i "$ s|^}\$|  $line\\n}|" "$DIR/$name.ebm"; fi
    done
}
# same NAME WANT: WANT is ok or fails; check and train must both end that way, with the same stderr
same() {
    name=$1 want=$2
    n=$((n + 1))
    "$EBMC" check "$DIR/$name.ebm" >/dev/null 2>"$DIR/check.err"; c=$?
    "$EBMC" train "$DIR/$name.ebm" --out "$DIR/run-$name" --quiet >/dev/null 2>"$DIR/train.err"; t=$?
    if [ "$want" = ok ]; then
        [ $c -eq 0 ] && [ $t -eq 0 ] || { echo "FAIL: $name: check exit $c, train exit $t (want 0 and 0)"; cat "$DIR/check.err" "$DIR/train.err"; fail=1; }
        return
    fi
    if [ $c -eq 0 ] || [ $t -eq 0 ]; then
        echo "FAIL: $name: check exit $c, train exit $t (want both to fail)"; cat "$DIR/check.err" "$DIR/train.err"; fail=1
    elif ! [ -s "$DIR/check.err" ] || ! cmp -s "$DIR/check.err" "$DIR/train.err"; then
        echo "FAIL: $name: check and train say different things:"; cat "$DIR/check.err"; echo "---"; cat "$DIR/train.err"; fail=1
    fi
}

model good '[B, 2]' '2, 16' "data = rings"
same good ok
for i in $(seq 1 40); do echo "$i,$((i * 2)),$((i % 5))"; done >"$DIR/three.csv"
model good_csv '[B, 3]' '3, 16' "data = \"$DIR/three.csv\""
same good_csv ok

# settings that do not go together (config_check)
model linearized_cd '[B, 2]' '2, 16' "data = rings" "objective = cd" "sampler = linearized"
same linearized_cd fails
model pcd_small_buffer '[B, 2]' '2, 16' "data = rings" "objective = pcd" "buffer_size = 8"
same pcd_small_buffer fails
# a setting out of range, an unknown one (refused when the model loads)
model bad_lr '[B, 2]' '2, 16' "data = rings" "lr = -1"
same bad_lr fails
model unknown '[B, 2]' '2, 16' "data = rings" "stepz = 3"
same unknown fails
# data the input does not fit: rank, width, images for a 2-D model, a CSV of 3 columns
model rank3 '[B, 2, 1]' '1, 16' "data = rings"
same rank3 fails
model wide '[B, 3]' '3, 16' "data = rings"
same wide fails
model csv_narrow '[B, 2]' '2, 16' "data = \"$DIR/three.csv\""
same csv_narrow fails
# data that does not open: missing, truncated, not data, an unknown name
model missing '[B, 2]' '2, 16' "data = \"$DIR/nope.npy\""
same missing fails
printf '\223NUMPY\001\000v\000{' >"$DIR/cut.npy"
model truncated '[B, 2]' '2, 16' "data = \"$DIR/cut.npy\""
same truncated fails
mkdir "$DIR/no-images"
model folder_empty '[B, 2]' '2, 16' "data = \"folder:$DIR/no-images\""
same folder_empty fails
model unknown_data '[B, 2]' '2, 16' "data = ringz"
same unknown_data fails
# too much memory: a huge parameter, a huge batch (refused before allocating, with the bytes)
model huge_param '[B, 65536]' '65536, 65536' "data = rings"
same huge_param fails
model huge_batch '[B, 2]' '2, 16384' "data = rings" "batch = 1048576"
same huge_batch fails

[ "$fail" -eq 0 ] && echo "check and train agree on $n models" && [ -z "${KEEP:-}" ] && rm -rf "$DIR"
exit "$fail"
