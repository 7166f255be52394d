#!/usr/bin/env bash
# interrupt.sh: stopping cleanly, without SLURM. `ncsn run` and `ncsn sweep` catch SIGUSR1,
# SIGTERM and SIGINT, stop at the next training step or sampling level, write no run file
# for what was in flight, and exit 3; the sweep gives its runs in flight back (journal
# `interrupted`, claim removed, summary rewritten) and the same command then finishes it
# with results bit-identical to an uninterrupted sweep's. Also through mpiexec (which
# forwards SIGUSR1 to every rank), and --deadline / NCSN_DEADLINE: runs that would not end
# before it are deferred (journal `deferred`, exit 3).
set -euo pipefail
NCSN=${NCSN_BIN:-build/ncsn}
PY=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_NUM_THREADS=1

# Four runs of about half a second each (one thread): long enough that a signal sent as
# soon as a run is claimed lands in its training.
cat > "$tmp/mid.yaml" <<'YAML'
dataset: {n: 200}
train: {steps: 10000, batch: 64, lr: [0.001, 0.002, 0.003, 0.004], log_every: 500}
noise: {L: 8}
sample: {n: 300, T: 15}
YAML

# in_flight DIR: prints the ids claimed and not finished
in_flight() {
  local c id
  for c in "$1"/claims/*; do
    [ -e "$c" ] || continue
    id=${c##*/}
    [ -e "$1/runs/$id.h5" ] || [ -e "$1/runs/$id.failed" ] || echo "$id"
  done
}
# n_done DIR: how many run files there are
n_done() { local f n=0; for f in "$1"/runs/*.h5; do [ -e "$f" ] && n=$((n + 1)); done; echo $n; }
# wait_in_flight DIR N: until N runs are in flight (10 s at most)
wait_in_flight() {
  for _ in $(seq 1000); do
    [ "$(in_flight "$1" | wc -l)" -ge "$2" ] && return 0
    sleep 0.01
  done
  fail "$1: $2 runs never in flight"
}
# same_results A B: the summary tables (times aside) and every run file's arrays equal
same_results() {
  "$PY" - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = h5py.File(f"{sys.argv[1]}/sweep.h5", "r"), h5py.File(f"{sys.argv[2]}/sweep.h5", "r")
ta, tb = a["runs"][:], b["runs"][:]
assert ta.dtype.names == tb.dtype.names
for name in ta.dtype.names:
    if name in ("train_seconds", "sample_seconds"):
        continue
    x, y = ta[name], tb[name]
    if x.dtype.kind == "f":
        assert np.array_equal(x, y, equal_nan=True), name
    else:
        assert list(x) == list(y), name
status = [s.decode() for s in ta["status"]]
assert status == ["complete"] * len(status), status
for i in (s.decode() for s in ta["id"]):
    fa, fb = a[f"run/{i}"], b[f"run/{i}"]
    def arrays(g, prefix=""):
        out = {}
        for k, v in g.items():
            if isinstance(v, h5py.Group):
                out.update(arrays(v, prefix + k + "/"))
            else:
                out[prefix + k] = v[()]
        return out
    xa, xb = arrays(fa), arrays(fb)
    assert xa.keys() == xb.keys(), i
    for k in xa:
        if k in ("metrics/train_seconds", "metrics/sample_seconds"):
            continue
        assert np.array_equal(xa[k], xb[k], equal_nan=True), (i, k)
PY
}

SECONDS=0
# the reference: uninterrupted
"$NCSN" sweep "$tmp/mid.yaml" -q -o "$tmp/ref" > /dev/null

# 1. `ncsn run`: SIGTERM in training, SIGUSR1 in sampling -> exit 3, no file
# (not SIGINT: a script's background jobs ignore it, and ncsn leaves it ignored)
# wait_line FILE REGEX: until a progress line appears (20 s at most)
wait_line() {
  for _ in $(seq 2000); do grep -q "$2" "$1" && return 0; sleep 0.01; done
  fail "no line $2 in $1"
}
"$NCSN" run -s train.steps=100000000 -o "$tmp/run.h5" 2> "$tmp/err" & pid=$!; pids+=("$pid")
wait_line "$tmp/err" "^train "
kill -TERM $pid
set +e; wait $pid; rc=$?; set -e
[ $rc -eq 3 ] || fail "ncsn run after SIGTERM: exit $rc, expected 3"
grep -q "^ncsn run: interrupted by SIGTERM" "$tmp/err" || fail "ncsn run message: $(cat "$tmp/err")"
ls "$tmp"/run.h5* > /dev/null 2>&1 && fail "ncsn run wrote a file after SIGTERM"
"$NCSN" run -s train.steps=10 -s sample.n=200 -s sample.T=300000 -o "$tmp/run.h5" 2> "$tmp/err" &
pid=$!; pids+=("$pid")
wait_line "$tmp/err" "^sample "
kill -USR1 $pid
set +e; wait $pid; rc=$?; set -e
[ $rc -eq 3 ] || fail "ncsn run after SIGUSR1: exit $rc, expected 3"
grep -q "^ncsn run: interrupted by SIGUSR1" "$tmp/err" || fail "ncsn run message: $(cat "$tmp/err")"
ls "$tmp"/run.h5* > /dev/null 2>&1 && fail "ncsn run wrote a file after SIGUSR1"

# 2. one process: SIGUSR1 while the second run is in flight
"$NCSN" sweep "$tmp/mid.yaml" -q -o "$tmp/s" > /dev/null 2> "$tmp/err" & pid=$!; pids+=("$pid")
for _ in $(seq 1000); do
  [ "$(n_done "$tmp/s")" -ge 1 ] && break
  sleep 0.01
done
wait_in_flight "$tmp/s" 1
victim=$(in_flight "$tmp/s")
kill -USR1 $pid
set +e; wait $pid; rc=$?; set -e
[ $rc -eq 3 ] || fail "sweep after SIGUSR1: exit $rc, expected 3 ($(cat "$tmp/err"))"
grep -q "interrupted by SIGUSR1" "$tmp/err" || fail "sweep message: $(cat "$tmp/err")"
grep -q "event=interrupted id=$victim reason=signal signal=USR1" "$tmp/s/journal.log" ||
  fail "journal lacks the interrupted run $victim"
grep -q "event=sweep_ended .*stopped=signal" "$tmp/s/journal.log" || fail "journal: sweep_ended"
[ -e "$tmp/s/runs/$victim.h5" ] && fail "a run file for the interrupted run $victim"
[ -e "$tmp/s/runs/$victim.failed" ] && fail "the interrupted run $victim recorded as failed"
[ -e "$tmp/s/claims/$victim" ] && fail "the interrupted run $victim is still claimed"
n_done=$(n_done "$tmp/s")
[ "$n_done" -ge 1 ] && [ "$n_done" -lt 4 ] || fail "$n_done runs done before the signal"
"$PY" - "$tmp/s/sweep.h5" "$victim" "$n_done" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
st = dict(zip((x.decode() for x in f["runs"]["id"]), (x.decode() for x in f["runs"]["status"])))
assert st[sys.argv[2]] == "queued", st
assert list(st.values()).count("complete") == int(sys.argv[3]), st
assert f.attrs["n_running"] == 0, f.attrs["n_running"]
PY
stat -c '%n %i %Y' "$tmp/s/runs"/*.h5 > "$tmp/before"
"$NCSN" sweep "$tmp/mid.yaml" -q -o "$tmp/s" > /dev/null
for f in "$tmp/s/runs"/*.h5; do
  grep -q "^$f " "$tmp/before" || continue
  grep -qx "$(stat -c '%n %i %Y' "$f")" "$tmp/before" || fail "$f was recomputed"
done
[ "$(grep -c "event=started id=$victim " "$tmp/s/journal.log")" -eq 2 ] ||
  fail "the interrupted run was not started again exactly once"
same_results "$tmp/ref" "$tmp/s" || fail "the continued sweep differs from the uninterrupted one"

# 3. two MPI ranks: mpiexec forwards SIGUSR1; both runs in flight are given back
if command -v mpiexec > /dev/null; then
  mpiexec -n 2 --oversubscribe "$NCSN" sweep "$tmp/mid.yaml" -q -o "$tmp/m" > /dev/null 2>&1 &
  pid=$!; pids+=("$pid")
  wait_in_flight "$tmp/m" 2
  kill -USR1 $pid
  set +e; wait $pid; rc=$?; set -e
  [ $rc -eq 3 ] || fail "mpiexec sweep after SIGUSR1: exit $rc, expected 3"
  [ "$(grep -c 'event=interrupted' "$tmp/m/journal.log")" -eq 2 ] ||
    fail "two ranks: expected two interrupted runs"
  [ -z "$(in_flight "$tmp/m")" ] || fail "two ranks: claims left: $(in_flight "$tmp/m")"
  mpiexec -n 2 --oversubscribe "$NCSN" sweep "$tmp/mid.yaml" -q -o "$tmp/m" > /dev/null 2>&1
  same_results "$tmp/ref" "$tmp/m" || fail "two ranks: the continued sweep differs"
fi

# 4. a deadline already past: nothing starts, every run deferred, exit 3
set +e
NCSN_DEADLINE=$(($(date +%s) - 10)) "$NCSN" sweep "$tmp/mid.yaml" -q -o "$tmp/d0" > /dev/null 2>&1
rc=$?; set -e
[ $rc -eq 3 ] || fail "past deadline: exit $rc, expected 3"
[ "$(grep -c 'event=deferred' "$tmp/d0/journal.log")" -eq 4 ] || fail "past deadline: deferrals"
grep -q 'event=started' "$tmp/d0/journal.log" && fail "past deadline: a run started"
set +e
"$NCSN" sweep "$tmp/mid.yaml" -q -o "$tmp/d0" --deadline yesterday > /dev/null 2>&1; rc=$?
set -e
[ $rc -eq 2 ] || fail "--deadline yesterday: exit $rc, expected 2"

# 5. a deadline about four runs away, over eight runs: the first run always starts; later
# ones are deferred once the speed measured so far says they would end after the deadline
# (robust to the machine running twice as fast or as slow as during the reference)
per_run=$("$PY" - "$tmp/ref/journal.log" <<'PY'
import re, sys
s = [float(x) for x in re.findall(r"event=finished .* seconds=([0-9.]+)", open(sys.argv[1]).read())]
print(sum(s) / len(s))
PY
)
deadline=$("$PY" -c "import time; print(f'{time.time() + 4 * $per_run:.3f}')")
set +e
"$NCSN" sweep "$tmp/mid.yaml" -s sweep.repeats=2 -q -o "$tmp/d" --deadline "$deadline" \
  > /dev/null 2>&1; rc=$?
set -e
[ $rc -eq 3 ] || fail "deadline: exit $rc, expected 3"
n_fin=$(grep -c 'event=finished' "$tmp/d/journal.log" || true)
[ "$n_fin" -ge 1 ] && [ "$n_fin" -lt 8 ] || fail "deadline: $n_fin runs finished"
grep -Eq 'event=deferred .*estimate_seconds=[0-9.]*[1-9]' "$tmp/d/journal.log" ||
  fail "deadline: no deferral from the measured speed: $(grep deferred "$tmp/d/journal.log")"
grep -q 'event=sweep_ended .*stopped=deadline' "$tmp/d/journal.log" || fail "deadline: sweep_ended"
"$PY" - "$tmp/d/journal.log" "$deadline" "$per_run" <<'PY'
import calendar, re, sys, time
deadline, per_run = float(sys.argv[2]), float(sys.argv[3])
for t in re.findall(r"time=(\S+) event=finished", open(sys.argv[1]).read()):
    end = calendar.timegm(time.strptime(t, "%Y-%m-%dT%H:%M:%SZ"))
    assert end <= deadline + 1 + per_run, ("a run ended late", t, deadline)
PY

echo "interrupt.sh: all checks passed (${SECONDS} s)"
