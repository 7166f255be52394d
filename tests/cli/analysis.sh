#!/usr/bin/env bash
# analysis.sh: the Python analysis package (analysis/) under ctest: its pytest suite, which
# makes small run files and sweeps with the real binary ($NCSN_BIN), checks the numpy score
# network against ncsn's C forward pass, and writes reports. "No tests collected" (pytest
# exit 5) is a failure too.
set -eu
PY=${PYTHON:-/usr/bin/python3}
SRC=${NCSN_SOURCE_DIR:-.}
# The tests run from the source tree: make a relative NCSN_BIN absolute first. Unset, the
# tests use build/ncsn there and skip when it does not exist.
if [ -n "${NCSN_BIN:-}" ]; then
  case "$NCSN_BIN" in /*) ;; *) NCSN_BIN=$PWD/$NCSN_BIN ;; esac
  [ -x "$NCSN_BIN" ] || { echo "FAIL: NCSN_BIN=$NCSN_BIN is not an executable" >&2; exit 1; }
  export NCSN_BIN
fi
export MPLBACKEND=Agg
export MPLCONFIGDIR=$(mktemp -d)
trap 'rm -rf "$MPLCONFIGDIR"' EXIT
cd "$SRC"
rc=0
"$PY" -m pytest -q -p no:cacheprovider "$SRC/analysis/tests" || rc=$?
if [ "$rc" -eq 5 ]; then
  echo "FAIL: pytest collected no tests in $SRC/analysis/tests" >&2
  exit 1
fi
[ "$rc" -eq 0 ] || { echo "FAIL: analysis tests (pytest exit $rc)" >&2; exit 1; }
echo "analysis.sh: all checks passed"
