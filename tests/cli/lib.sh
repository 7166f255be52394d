# lib.sh: what the command-line tests share; each tests/cli/*.sh sources it first (ctest
# sets NCSN_BIN, NCSN_SOURCE_DIR and PYTHON).
#   NCSN        the binary: NCSN_BIN made absolute (build/ncsn when unset)
#   PY, SRC     Python with h5py (PYTHON, /usr/bin/python3 when unset); the source tree
#   tmp         a fresh directory, removed on exit after the script's cleanup_more, if any;
#               h5same.py (tests/) is importable from Python
#   fail MSG    "NAME: FAIL: MSG" on stderr, exit 1
#   skip MSG    a check that cannot run here: "NAME: SKIP MSG", counted in the last line
#   skip_all MSG  nothing can run here: exit 77, which ctest reports as "Skipped"
#   mpi_setup   mpiexec may run as root and oversubscribe the cores
#   kill9_after_runs N DIR CMD...  runs CMD (a sweep into DIR) in the background and
#               kill -9s it once DIR/runs holds N run files (or after 60 s)
#   all_passed [DETAIL]  the last line: "NAME: all checks passed (DETAIL, N skipped)"
NAME=$(basename "$0")
NCSN=${NCSN_BIN:-build/ncsn}
case $NCSN in /*) ;; *) NCSN=$PWD/$NCSN ;; esac
PY=${PYTHON:-/usr/bin/python3}
SRC=${NCSN_SOURCE_DIR:-.}
export PYTHONPATH="$(cd "$(dirname "$0")/.." && pwd)${PYTHONPATH:+:$PYTHONPATH}"
tmp=$(mktemp -d)
n_skipped=0

on_exit() {
  if [ "$(type -t cleanup_more)" = function ]; then cleanup_more; fi
  rm -rf "$tmp"
}
trap on_exit EXIT

fail() { echo "$NAME: FAIL: $*" >&2; exit 1; }
skip() { echo "$NAME: SKIP $*"; n_skipped=$((n_skipped + 1)); }
skip_all() { echo "$NAME: SKIPPED: $*"; exit 77; }

mpi_setup() {
  if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
  export OMPI_MCA_rmaps_base_oversubscribe=1
}

kill9_after_runs() {
  local want=$1 dir=$2 n pid
  shift 2
  "$@" > /dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1200); do
    n=$(ls "$dir/runs" 2>/dev/null | grep -c '\.h5$' || true)
    [ "$n" -ge "$want" ] && break
    sleep 0.05
  done
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
}

all_passed() { echo "$NAME: all checks passed (${1:+$1, }$n_skipped skipped)"; }
