#!/bin/sh
# The run commands through the CLI: train with checkpoints, --resume, sample (.png, .csv), eval, and the
# errors each must refuse with a message and a non-zero exit. Usage: cli_runs.sh path/to/ebmc
set -u
EBMC=$1
DIR=$(mktemp -d /tmp/ebmc-cli-XXXXXX)
. "$(dirname "$0")/cli_lib.sh"
cat >"$DIR/small.ebm" <<'MODEL'
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
  buffer_size = 128
  grid = 32
  n_samples = 128
  sample_steps = 5
  threads = 2
}
MODEL
R=$DIR/run
check "train" "$EBMC" train "$DIR/small.ebm" --out "$R" --steps 10 --set checkpoint_every=5 --quiet
for f in model.ebm config.txt model.ckpt log.csv metrics.json density.png samples.png; do
    [ -s "$R/$f" ] || { echo "FAIL: train did not write $f"; fail=1; }
done
grep -q '^checkpoint_every = 5$' "$R/config.txt" || { echo "FAIL: config.txt lacks checkpoint_every"; fail=1; }
grep -q '"mmd2": [0-9-]' "$R/metrics.json" || { echo "FAIL: metrics.json lacks mmd2"; fail=1; }
check "resume" "$EBMC" train --resume "$R" --steps 15 --quiet
grep -q '"steps_done": 15' "$R/metrics.json" || { echo "FAIL: resume did not reach 15 steps"; fail=1; }
[ "$(wc -l <"$R/log.csv")" -eq 16 ] || { echo "FAIL: log.csv after resume has $(wc -l <"$R/log.csv") lines"; fail=1; }
refuse "resume with a model" "only --steps" "$EBMC" train "$DIR/small.ebm" --resume "$R"
refuse "resume with a setting" "only --steps" "$EBMC" train --resume "$R" --set lr=1
refuse "resume backwards" "cannot continue" "$EBMC" train --resume "$R" --steps 5
refuse "resume nothing" "no such run folder" "$EBMC" train --resume "$DIR/nope"
# the model text is part of the checkpoint's identity: an edited energy (same shapes) is not resumed
cp -r "$R" "$DIR/edited" && rm -f "$DIR/edited/.lock"
sed -i 's/return silu(/return tanh(/' "$DIR/edited/model.ebm"
cp "$DIR/edited/model.ckpt" "$DIR/ckpt.before"
refuse "resume an edited model" "model.ckpt: the model text is not the one this checkpoint was trained with (line 6 is '  return tanh(x @ W1 + b1) @ W2 + b2' here and '  return silu(x @ W1 + b1) @ W2 + b2' in the checkpoint)" \
    "$EBMC" train --resume "$DIR/edited" --steps 20 --quiet
grep -q "train the edited model anew with 'ebmc train $DIR/edited/model.ebm --out $DIR/edited --force'" "$DIR/err" ||
    { echo "FAIL: no way forward after an edited model"; cat "$DIR/err"; fail=1; }
cmp -s "$DIR/edited/model.ckpt" "$DIR/ckpt.before" || { echo "FAIL: a refused resume changed model.ckpt"; fail=1; }
sed -i 's/^train {$/# a comment\ntrain {/' "$DIR/edited/model.ebm"
refuse "resume an edited model (the edit goes on)" "line 6 is '  return tanh" "$EBMC" train --resume "$DIR/edited" --steps 20 --quiet
cp "$R/model.ebm" "$DIR/edited/model.ebm"
check "resume once the edit is undone" "$EBMC" train --resume "$DIR/edited" --steps 20 --quiet
sed -i 's/return silu(/return tanh(/' "$DIR/edited/model.ebm"
check "train the edited model anew, as the note says" "$EBMC" train "$DIR/edited/model.ebm" --out "$DIR/edited" --force --steps 3 --quiet
check "and resume it" "$EBMC" train --resume "$DIR/edited" --steps 6 --quiet
# a data file of the user's: the model's input must have its sample shape, and check says so at the line
for i in $(seq 1 40); do echo "$i,$((i * 2)),$((i % 5))"; done >"$DIR/three.csv"
printf 'param W: [2, 1] = xavier()\nenergy(x: [B, 2]) { return x @ W }\ntrain {\n  data = "%s"\n}\n' "$DIR/three.csv" >"$DIR/csv2.ebm"
refuse "check: data shape" "csv2.ebm:4:10: error: the data .* has samples of shape \[3\]" "$EBMC" check "$DIR/csv2.ebm"
sed 's/\[B, 2\]/[B, 3]/; s/\[2, 1\]/[3, 1]/' "$DIR/csv2.ebm" >"$DIR/csv3.ebm"
check "check: data shape matches" "$EBMC" check "$DIR/csv3.ebm"
check "train on a csv file" "$EBMC" train "$DIR/csv3.ebm" --steps 20 --set batch=8 --out "$DIR/csv3" --quiet
grep -q '"energy_test"' "$DIR/csv3/metrics.json" || { echo "FAIL: csv run has no energy_test"; fail=1; }
refuse "train over a run" "already holds a run" "$EBMC" train "$DIR/small.ebm" --out "$R" --steps 5 --quiet
check "train over a run with --force" "$EBMC" train "$DIR/small.ebm" --out "$DIR/forced" --steps 3 --quiet
check "train over it again, forced" "$EBMC" train "$DIR/small.ebm" --out "$DIR/forced" --steps 3 --quiet --force
# resuming a finished run leaves its pictures and metrics alone
cp "$R/metrics.json" "$DIR/metrics.before"
check "resume a finished run" "$EBMC" train --resume "$R" --steps 15 --quiet
cmp -s "$R/metrics.json" "$DIR/metrics.before" || { echo "FAIL: resuming a finished run rewrote metrics.json"; fail=1; }
# SIGINT: the step ends, the checkpoint is written, the message says how to resume; the run resumes
"$EBMC" train "$DIR/small.ebm" --out "$DIR/int" --steps 100000 --set eval_every=0 >"$DIR/int.out" 2>"$DIR/int.err" &
pid=$!
for _ in $(seq 1 600); do grep -q "step" "$DIR/int.err" 2>/dev/null && break; sleep 0.1; done
# a second training into the same folder is refused while the first holds it
refuse "two trainings into one folder" "another ebmc process" "$EBMC" train "$DIR/small.ebm" --out "$DIR/int" --steps 10 --quiet --force
kill -INT "$pid"
wait "$pid"; code=$?
[ "$code" -eq 130 ] || { echo "FAIL: interrupted training exited $code, want 130"; cat "$DIR/int.err"; fail=1; }
grep -q "train --resume $DIR/int" "$DIR/int.err" || { echo "FAIL: no resume hint after SIGINT"; cat "$DIR/int.err"; fail=1; }
check "resume after SIGINT" "$EBMC" eval "$DIR/int"

check "sample png" "$EBMC" sample "$R" --n 50 --steps 3 --out "$DIR/s.png"
[ -s "$DIR/s.png" ] || { echo "FAIL: no s.png"; fail=1; }
check "sample csv" "$EBMC" sample "$R" --n 50 --out "$DIR/s.csv"
[ "$(wc -l <"$DIR/s.csv")" -eq 50 ] || { echo "FAIL: s.csv has $(wc -l <"$DIR/s.csv") lines, want one per sample"; fail=1; }
check "sample npy" "$EBMC" sample "$R" --n 7 --out "$DIR/s.npy"
check "energy of the samples" "$EBMC" energy "$R" "$DIR/s.npy" --out "$DIR/e.csv" --grad "$DIR/g.npy"
[ "$(wc -l <"$DIR/e.csv")" -eq 7 ] || { echo "FAIL: e.csv has $(wc -l <"$DIR/e.csv") lines, want 7 energies"; fail=1; }
refuse "energy of a missing file" "nope.npy" "$EBMC" energy "$R" "$DIR/nope.npy"
refuse "denoise of 2-D points" "needs image data" "$EBMC" denoise "$R" --noise 0.3 --n 5
refuse "sample bad extension" "unknown output type" "$EBMC" sample "$R" --n 5 --out "$DIR/s.jpg"
refuse "sample missing run" "no such run folder" "$EBMC" sample "$DIR/nope" --n 5 --out "$DIR/s.png"
refuse "sample no --n" "no --n" "$EBMC" sample "$R" --out "$DIR/s.png"
refuse "sample bad --n" "whole number" "$EBMC" sample "$R" --n x --out "$DIR/s.png"
mkdir "$DIR/nockpt" && cp "$R/model.ebm" "$R/config.txt" "$DIR/nockpt/"
refuse "sample no checkpoint" "model.ckpt: cannot open" "$EBMC" sample "$DIR/nockpt" --n 5 --out "$DIR/s.png"

check "eval" "$EBMC" eval "$R"
grep -q '^mmd2 ' "$DIR/out" || { echo "FAIL: eval printed no mmd2"; cat "$DIR/out"; fail=1; }
grep -q '"nll": ' "$R/eval.json" || { echo "FAIL: no eval.json"; fail=1; }
refuse "eval no checkpoint" "cannot open" "$EBMC" eval "$DIR/nockpt"
# compile: every stage of every program prints, --stats reports, AOT writes its files, bad input is refused
for stage in ast graph grad opt fused kernels llvm-unopt llvm asm dot profile; do
    for program in energy sampler loss train langevin; do
        check "compile --emit=$stage --program=$program" "$EBMC" compile "$DIR/small.ebm" --emit=$stage --program=$program
        [ -s "$DIR/out" ] || { echo "FAIL: --emit=$stage --program=$program printed nothing"; fail=1; }
    done
done
check "compile --emit=profile" "$EBMC" compile "$DIR/small.ebm" --emit=profile --program=train
kernels=$(grep -c '^[kt][0-9]' "$DIR/out")
[ "$kernels" -gt 0 ] && grep -q "^; $kernels kernels on one thread" "$DIR/out" || { echo "FAIL: --emit=profile"; cat "$DIR/out"; fail=1; }
timed=$(awk '/^[kt][0-9]/ && $NF > 0' "$DIR/out" | wc -l) # the profile compiles cold: every kernel has a compile time
[ "$timed" -eq "$kernels" ] || { echo "FAIL: --emit=profile timed the compile of $timed of $kernels kernels"; fail=1; }
check "compile --emit=dot" "$EBMC" compile "$DIR/small.ebm" --emit=dot
grep -q "^digraph" "$DIR/out" || { echo "FAIL: --emit=dot is not Graphviz"; fail=1; }
check "compile --print-after" "$EBMC" compile "$DIR/small.ebm" --print-after=simplify,dce
[ "$(grep -c '^; after' "$DIR/out")" -eq 2 ] || { echo "FAIL: --print-after printed $(grep -c '^; after' "$DIR/out") graphs"; fail=1; }
check "compile --stats" "$EBMC" compile "$DIR/small.ebm" --stats
[ "$(grep -cE '^(energy|sampler|loss|train) ' "$DIR/out")" -eq 4 ] || { echo "FAIL: --stats"; cat "$DIR/out"; fail=1; }
check "compile -o" "$EBMC" compile "$DIR/small.ebm" -o "$DIR/small.o" --header "$DIR/small.h"
for program in energy sampler loss train langevin; do
    grep -q "extern const struct ebmc_aot_program small_$program;" "$DIR/small.h" || { echo "FAIL: header: $program"; fail=1; }
done
[ -s "$DIR/small.o" ] || { echo "FAIL: no object file"; fail=1; }
refuse "compile unknown stage" "unknown stage 'nope'" "$EBMC" compile "$DIR/small.ebm" --emit=nope
refuse "compile unknown program" "unknown program 'x'" "$EBMC" compile "$DIR/small.ebm" --emit=opt --program=x
refuse "compile unknown pass" "unknown pass" "$EBMC" compile "$DIR/small.ebm" --print-after=nopass
refuse "compile bad name" "not a C identifier" "$EBMC" compile "$DIR/small.ebm" -o "$DIR/x.o" --name 9x
refuse "compile unwritable object" "cannot write" "$EBMC" compile "$DIR/small.ebm" -o /nonexistent/x.o
refuse "compile --header without -o" "go with -o" "$EBMC" compile "$DIR/small.ebm" --header "$DIR/x.h"
refuse "compile nothing to do" "nothing to do" "$EBMC" compile "$DIR/small.ebm"

# inputs too big for any machine end with an error that says what and how much, before allocating
refuse "check an endless file" "larger than the limit of 16777216 bytes" "$EBMC" check /dev/zero
refuse "opt an endless file" "larger than the limit" "$EBMC" opt /dev/zero
sed 's/\[2, 16\]/[2, 65536]/; s/\[16, 1\]/[65536, 65536]/; s/@ W2 + b2/@ W2 @ W3/; s/^param b2.*/param W3: [65536, 1] = xavier()/' \
    "$DIR/small.ebm" | sed 's/^param b1: \[16\]/param b1: [65536]/' >"$DIR/huge.ebm"
refuse "a 16 GiB parameter" "needs .* of memory, more than this machine's .*the largest, 'W2', 64.00 GiB" \
    "$EBMC" train "$DIR/huge.ebm" --out "$DIR/huge" --steps 1
sed 's/16/16384/g' "$DIR/small.ebm" >"$DIR/wide.ebm"
refuse "a huge batch" "needs .* of memory, more than this machine's .*program buffers" \
    "$EBMC" compile "$DIR/wide.ebm" --stats --set batch=1048576 --set buffer_size=1048576
refuse "sample a huge --n" "number of samples must be between 1 and" "$EBMC" sample "$R" --n 2305843009213693952 --out "$DIR/s.csv"
mkdir "$DIR/zero" && cp "$R/model.ebm" "$R/config.txt" "$DIR/zero/" && ln -s /dev/zero "$DIR/zero/model.ckpt"
refuse "an endless checkpoint" "model.ckpt: larger than the limit" "$EBMC" eval "$DIR/zero"
rm "$DIR/zero/model.ckpt" && ln -sf /dev/zero "$DIR/zero/config.txt"
refuse "an endless config.txt" "config.txt: larger than the limit" "$EBMC" eval "$DIR/zero"
check "compile --stats memory" "$EBMC" compile "$DIR/small.ebm" --stats
grep -q "^memory: .* in all (this machine has " "$DIR/out" || { echo "FAIL: --stats shows no memory"; cat "$DIR/out"; fail=1; }

for cmd in sample eval train compile; do
    "$EBMC" $cmd --help >/dev/null 2>&1 || { echo "FAIL: ebmc $cmd --help"; fail=1; }
done
"$EBMC" --help | grep -q "sample RUN_DIR" || { echo "FAIL: ebmc --help lacks sample"; fail=1; }
[ $fail -eq 0 ] && rm -rf "$DIR" && echo "cli runs: ok"
exit $fail
