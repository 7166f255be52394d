#!/usr/bin/env bash
# make-digits.sh: the 1797 handwritten 8x8 digits as an ncsn data file (dataset.name hdf5).
# Reads the copy Debian's python3-sklearn ships (installed with apt-get when missing; no
# network otherwise) and writes, under a temporary name renamed into place when complete:
#   /x   (1797, 64) float32   pixel / 16, in [0, 1]; row i is image i, row-major 8 x 8
#        attribute image_shape (2,) int64 = [8, 8] on /x
#   /y   (1797,) int64        the digit, 0 to 9
# Use with `-s dataset.name=hdf5 -s dataset.path=data/digits.h5 -s dataset.key=/x
# -s dataset.labels=/y`.
#   scripts/make-digits.sh [OUT.h5]           default data/digits.h5
#   scripts/make-digits.sh --from CSV.gz [OUT.h5]   another copy of digits.csv.gz
# Exit status: 0 written, 1 failure (no source file, no h5py, cannot write), 2 usage.
# PYTHON overrides the Python (with h5py and numpy) that writes the file.
set -euo pipefail

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}
die() { echo "make-digits: $*" >&2; exit 1; }
usage_error() { echo "make-digits: $* (see --help)" >&2; exit 2; }

csv=/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz
from_given=0
out=""
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --from) [ $# -ge 2 ] || usage_error "--from needs a file"
            csv=$2; from_given=1; shift 2 ;;
    --from=*) csv=${1#--from=}; from_given=1; shift ;;
    -*) usage_error "unknown option $1" ;;
    *) [ -z "$out" ] || usage_error "one output file, got \"$out\" and \"$1\""
       out=$1; shift ;;
  esac
done
out=${out:-data/digits.h5}
case $out in */) usage_error "the output \"$out\" is a directory; give a file name" ;; esac
PY=${PYTHON:-/usr/bin/python3}

if [ ! -f "$csv" ] && [ "$from_given" -eq 0 ]; then
  echo "make-digits: $csv is missing: installing python3-sklearn" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "run as root, or install python3-sklearn first"
    sudo=sudo
  fi
  { $sudo apt-get update -q &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
      python3-sklearn; } >&2 || die "apt-get install python3-sklearn failed"
fi
[ -f "$csv" ] || die "$csv: no such file (python3-sklearn ships it)"
"$PY" -c "import h5py, numpy" 2>/dev/null || die "$PY cannot import h5py and numpy (apt-get install python3-h5py)"

dir=$(dirname -- "$out")
mkdir -p -- "$dir" || die "cannot create the directory $dir"
tmp="$out.tmp.$$"
trap 'rm -f -- "$tmp"' EXIT
"$PY" - "$csv" "$tmp" <<'PYEOF' || exit 1 # the Python said why
import gzip, sys
import h5py, numpy as np

csv, tmp = sys.argv[1], sys.argv[2]
try:
    with gzip.open(csv, "rt") as f:
        table = np.loadtxt(f, delimiter=",", ndmin=2)
except (OSError, ValueError, EOFError) as e:
    sys.exit(f"make-digits: {csv}: cannot read it as gzip'd comma-separated numbers ({e})")
if table.shape != (1797, 65):
    sys.exit(f"make-digits: {csv}: {table.shape[0]} rows of {table.shape[1]} numbers, "
             "expected 1797 rows of 64 pixels and a label")
pixels, labels = table[:, :64], table[:, 64]
if not (np.all(pixels == np.round(pixels)) and pixels.min() >= 0 and pixels.max() <= 16):
    sys.exit(f"make-digits: {csv}: pixels must be whole numbers 0 to 16")
if not (np.all(labels == np.round(labels)) and labels.min() >= 0 and labels.max() <= 9):
    sys.exit(f"make-digits: {csv}: labels must be whole numbers 0 to 9")
try:
    with h5py.File(tmp, "w") as f:
        x = f.create_dataset("x", data=(pixels / 16.0).astype(np.float32))
        x.attrs["image_shape"] = np.array([8, 8], dtype=np.int64)
        f.create_dataset("y", data=labels.astype(np.int64))
except OSError as e:
    sys.exit(f"make-digits: cannot write {tmp} ({e})")
PYEOF
mv -f -- "$tmp" "$out" || die "cannot rename $tmp to $out"
trap - EXIT
echo "make-digits: wrote $out: /x (1797, 64) float32 in [0, 1], /y (1797,) labels 0-9"
