#!/usr/bin/env bash
# experiment-generation.sh: the paper's generation experiment (issue 12), with our settings (the paper's
# are not available): a time-dependent energy trained with time-DCD-VE, time-DCD-VP and the time-CD
# baseline under one budget, generating by annealed sampling, scored by FCD (docs/experiments.md,
# "Scoring samples: FCD") along each run; then the time-DCD-VE model as a denoiser at several noise levels.
#
#   scripts/experiment-generation.sh [--quick] [--out DIR]    (EBMC=PATH and CHART=PATH pick other binaries)
#
# Budget: every run gets STEPS updates of batch 64 at 6 energy-gradient evaluations per step and chain:
# time-DCD-VE and -VP with 5 MALA steps on the posterior (1 + 5 evaluations), time-CD with one ULA step at
# each of the 6 levels from the top down (6). Data sets: MNIST with models/mnist_time.ebm, seeds SEEDS;
# the cats and dogs with models/cifar_time.ebm, seeds CIFAR_SEEDS, CIFAR_STEPS steps. FCD: FCD_N annealed
# samples (50 MALA steps a level; at most 400 on the cats and dogs, all they hold out) against as many
# held-out images, on the features of a classifier trained
# first (models/mnist_classifier.ebm, models/dogs_cats_classifier.ebm), every EVAL_EVERY steps.
# Writes DIR/table.md, DIR/fcd-mnist.png, DIR/fcd-cats-dogs.png, a 64-sample grid per run
# (DIR/DATA-OBJECTIVE-sSEED.png); runs in DIR/runs (git-ignored). A finished run (metrics.json) is reused.
# Sizes can be overridden from the environment: STEPS, SEEDS, EVAL_EVERY, FCD_N, CIFAR_STEPS, CIFAR_SEEDS,
# SIGMAS, N_IMAGES.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/results/generation"
. "$ROOT/scripts/experiment-setup.sh"

if [ $QUICK = 1 ]; then
  STEPS=${STEPS:-40} SEEDS=${SEEDS:-0} EVAL_EVERY=${EVAL_EVERY:-20} FCD_N=${FCD_N:-64} CIFAR_STEPS=${CIFAR_STEPS:-20}
  CIFAR_SEEDS=${CIFAR_SEEDS:-0} SIGMAS=${SIGMAS:-"0.3"} N_IMAGES=${N_IMAGES:-32} CLASSIFIER_STEPS=${CLASSIFIER_STEPS:-30}
else
  STEPS=${STEPS:-1500} SEEDS=${SEEDS:-"0 1"} EVAL_EVERY=${EVAL_EVERY:-500} FCD_N=${FCD_N:-500} CIFAR_STEPS=${CIFAR_STEPS:-1000}
  CIFAR_SEEDS=${CIFAR_SEEDS:-0} SIGMAS=${SIGMAS:-"0.1 0.2 0.3 0.5"} N_IMAGES=${N_IMAGES:-100} CLASSIFIER_STEPS=${CLASSIFIER_STEPS:-300}
fi
OBJECTIVES="time-dcd-ve time-dcd-vp time-cd"
RUNS="$OUT/runs"
mkdir -p "$RUNS"

knobs() { # objective -> its budget-matched sampler settings
  case "$1" in
    time-dcd-ve|time-dcd-vp) echo "--set langevin_steps=5 --set sampler=mala" ;;
    time-cd) echo "--set langevin_steps=1 --set sampler=ula" ;;
  esac
}

# run DATA MODEL CLASSIFIER_RUN STEPS SEED OBJECTIVE FCD_SAMPLES
run() {
  local dir="$RUNS/$1-$6-s$5"
  if [ ! -f "$dir/metrics.json" ]; then
    rm -rf "$dir"
    # shellcheck disable=SC2046
    "$EBMC" train "$2" --objective "$6" --seed "$5" --steps "$4" --out "$dir" --quiet --set eval_every="$EVAL_EVERY" \
      --set fcd_classifier="$3" --set fcd_n="$7" $(knobs "$6")
  fi
  [ -f "$OUT/$1-$6-s$5.png" ] || "$EBMC" sample "$dir" --n 64 --out "$OUT/$1-$6-s$5.png" >/dev/null
  echo "experiment-generation: $1 $6 seed $5 done"
}

for data in mnist cats-dogs; do
  if [ $data = mnist ]; then model=models/mnist_time.ebm cls_model=models/mnist_classifier.ebm steps=$STEPS seeds=$SEEDS n=$FCD_N
  else # the cats and dogs hold out 400 photos
    model=models/cifar_time.ebm cls_model=models/dogs_cats_classifier.ebm steps=$CIFAR_STEPS seeds=$CIFAR_SEEDS
    n=$((FCD_N < 400 ? FCD_N : 400))
  fi
  cls="$RUNS/classifier-$data"
  [ -f "$cls/metrics.json" ] || { rm -rf "$cls"; "$EBMC" train "$cls_model" --steps "$CLASSIFIER_STEPS" --out "$cls" --quiet; }
  for seed in $seeds; do
    for obj in $OBJECTIVES; do run $data $model "$cls" "$steps" "$seed" $obj $n; done
  done
done

# denoising with the time-DCD-VE model of the first seed, annealed from the level nearest sigma
den="$RUNS/mnist-time-dcd-ve-s${SEEDS%% *}"
for s in $SIGMAS; do
  [ -f "$den/denoise-$s.json" ] || "$EBMC" denoise "$den" --noise "$s" --steps 50 --n "$N_IMAGES" \
    --out "$den/denoise-$s.png" >/dev/null
done

/usr/bin/python3 "$ROOT/scripts/generation_table.py" "$OUT" "$OBJECTIVES" "mnist=$SEEDS" "cats-dogs=$CIFAR_SEEDS" \
  "$SIGMAS" "$FCD_N"
for data in mnist cats-dogs; do
  args=(); for f in "$RUNS"/curve-$data-*.csv; do n=${f##*/curve-$data-}; args+=("${n%.csv}=$f"); done
  "$CHART" "$OUT/fcd-$data.png" --title "$data: FCD of annealed samples (n = $FCD_N) during training" \
    --x "training minutes (this machine, evaluation left out)" --y "FCD (lower is better)" --log-y "${args[@]}"
done
echo "wrote $OUT/table.md, $OUT/fcd-mnist.png, $OUT/fcd-cats-dogs.png"
