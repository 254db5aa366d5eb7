# experiment-setup.sh: what the image experiments (experiment-denoise.sh, experiment-generation.sh) share.
# Sourced with their arguments once ROOT and OUT are set: the options --quick (QUICK=1), --out DIR and
# --help (the script's header comment); the binaries EBMC and CHART (from the environment, else build/,
# built when missing); the data sets (scripts/fetch-data.sh). Leaves the shell in ROOT.
QUICK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --out) OUT=$2; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
    *) echo "$(basename "$0"): unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
EBMC=${EBMC:-"$ROOT/build/ebmc"}
CHART=${CHART:-"$ROOT/build/ebmc-chart"}
[ -x "$EBMC" ] && [ -x "$CHART" ] || "$ROOT/scripts/build.sh"
"$ROOT/scripts/fetch-data.sh" >/dev/null
cd "$ROOT"
