#!/usr/bin/env bash
# bench-ab.sh: the training speed of two revisions of ncsn, timed in turn in one process
# (scripts/bench-ab.c; why: docs/performance.md, Measuring). Builds each revision's library
# as a shared object in a temporary directory, then for each row D H STEPS ROUNDS (default
# 64 512 100 20) and each thread count runs ROUNDS rounds of STEPS steps of each.
#   scripts/bench-ab.sh [--threads 1,2] REV_A REV_B [D H STEPS ROUNDS]...
# REV: a git revision, or . for the working tree. Threads: --threads, else OMP_NUM_THREADS.
# Example: scripts/bench-ab.sh --threads 1,2 main . 2 128 1000 20 64 512 100 20
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${OMP_NUM_THREADS:-}
if [[ ${1:-} == --threads ]]; then
    threads=${2:-}
    shift 2 || true
fi
if [[ $# -lt 2 || $(( ($# - 2) % 4 )) -ne 0 || ! $threads =~ ^([1-9][0-9]*(,[1-9][0-9]*)*)?$ ]]; then
    sed -n 2,8p "$0" >&2
    exit 2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ncsn-ab.XXXXXX")
trap 'rm -rf "$work"' EXIT

# build_so REV NAME: $work/NAME.so, the library of REV
build_so() {
    local src=$PWD
    if [[ $1 != . ]]; then
        src=$work/src-$2
        mkdir -p "$src"
        git archive "$1" | tar -x -C "$src"
    fi
    if ! { cmake -S "$src" -B "$work/build-$2" -DCMAKE_BUILD_TYPE=Release \
               -DCMAKE_POSITION_INDEPENDENT_CODE=ON &&
           cmake --build "$work/build-$2" -j"$(nproc)" --target ncsn_core; } \
        >"$work/build-$2.log" 2>&1; then
        cat "$work/build-$2.log" >&2
        echo "bench-ab.sh: building $1 failed" >&2
        exit 1
    fi
    # shellcheck disable=SC2046
    mpicc -shared -fopenmp -o "$work/$2.so" -Wl,--whole-archive \
        "$work/build-$2/libncsn_core.a" -Wl,--no-whole-archive \
        $(pkg-config --libs hdf5 gsl yaml-0.1)
}
build_so "$1" a
build_so "$2" b
cc -O2 -std=c11 -D_DEFAULT_SOURCE -Iinclude scripts/bench-ab.c -o "$work/bench-ab" -ldl
[[ -n $threads ]] || threads=$(nproc)
echo "A = $1, B = $2"
shift 2
[[ $# -gt 0 ]] || set -- 64 512 100 20
while [[ $# -gt 0 ]]; do
    for t in ${threads//,/ }; do
        echo "D $1, H $2, $3 steps x $4 rounds, $t thread(s):"
        OMP_NUM_THREADS=$t "$work/bench-ab" "$work/a.so" "$work/b.so" "$1" "$2" "$3" "$4" |
            sed "s|$work/a.so|  A|; s|$work/b.so|  B|; s|^B / A|  B / A|"
    done
    shift 4
done
