#!/usr/bin/env bash
# Installs what ebmc needs to build and test on Debian 12. Idempotent: installs only what is missing.
set -euo pipefail
pkgs=(cmake make gcc libc6-dev llvm-19-dev libzstd-dev zlib1g-dev libpng-dev libjpeg-dev libomp-dev)
pkgs+=(libopenmpi-dev openmpi-bin) # data-parallel training (docs/parallel.md) and its tests
pkgs+=(python3-numpy) # the independent SSIM and blur oracle of tests/runtime/test_image
# libFuzzer targets (tests/fuzz/): clang with its fuzzing and sanitizer runtimes
pkgs+=(clang-19 libclang-rt-19-dev) # with libomp-dev's OpenMP (libomp-19-dev conflicts with it)
[ "${EBMC_WITH_TORCH:-0}" = 1 ] && pkgs+=(python3-torch python3-numpy libopenblas0-pthread)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
