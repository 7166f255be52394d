#!/usr/bin/env bash
# interrupt.sh: stopping cleanly, without SLURM. `ncsn run` and `ncsn sweep` catch SIGUSR1,
# SIGTERM and SIGINT, stop at the next training step or sampling level, write no run file
# for what was in flight but a checkpoint of its state, and exit 3; the sweep gives its
# runs in flight back (journal `interrupted`, claim removed, summary rewritten) and the
# same command then resumes them from their checkpoints, with results bit-identical to an
# uninterrupted sweep's. Also through mpiexec (which
# forwards SIGUSR1 to every rank), and --deadline / NCSN_DEADLINE: runs that would not end
# before it are deferred (journal `deferred`, exit 3).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pids=()
cleanup_more() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
mpi_setup
export OMP_NUM_THREADS=1

# Four runs of about half a second each (one thread): long enough that a signal sent as
# soon as a run is claimed lands in its training.
cat > "$tmp/mid.yaml" <<'YAML'
dataset: {n: 200}
train: {steps: 10000, batch: 64, lr: [0.001, 0.002, 0.003, 0.004], log_every: 500}
noise: {L: 8}
sample: {n: 300, T: 15, max_bad_fraction: 1} # quality is not what this tests
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
# same_results A B: the summary tables (times aside) and every run file's arrays equal,
# and every run complete
same_results() {
  "$PY" - "$1" "$2" <<'PY'
import sys, h5same
table = h5same.same_sweep(sys.argv[1], sys.argv[2])
status = [s.decode() for s in table["status"]]
assert status == ["complete"] * len(status), status
PY
}

SECONDS=0
# the reference: uninterrupted
"$NCSN" sweep "$tmp/mid.yaml" -q -o "$tmp/ref" > /dev/null

# 1. `ncsn run`: a stop signal saves the run's whole state to OUT.h5.ckpt and exits 3 with
# no run file; the same command resumes from it, with results bit for bit those of an
# uninterrupted run (on another thread count too). SIGTERM in training, SIGUSR1 in
# sampling, kill -9 after a periodic checkpoint; a checkpoint of another configuration or
# a damaged one is reported and ignored.
# (not SIGINT: a script's background jobs ignore it, and ncsn leaves it ignored)
# wait_line FILE REGEX: until a progress line appears (20 s at most)
wait_line() {
  for _ in $(seq 2000); do grep -q "$2" "$1" && return 0; sleep 0.01; done
  fail "no line $2 in $1"
}
# wait_file FILE: until it exists (20 s at most)
wait_file() {
  for _ in $(seq 2000); do [ -e "$1" ] && return 0; sleep 0.01; done
  fail "$1 never appeared"
}
# same_run A B: every array of two run files equal (times aside)
same_run() { "$PY" -c 'import sys, h5same; h5same.same_run(sys.argv[1], sys.argv[2])' "$1" "$2"; }
# About 1.5 s of training and 1 s of sampling on one thread.
run=(-s dataset.n=200 -s train.steps=60000 -s train.batch=64 -s train.ema=0.99
     -s train.log_every=500 -s noise.L=8 -s sample.n=2000 -s sample.T=3000)
"$NCSN" run "${run[@]}" -q --no-checkpoint -o "$tmp/ref.h5"
[ -e "$tmp/ref.h5.ckpt" ] && fail "--no-checkpoint left a checkpoint"
# stop_run SIGNAL WHEN ARGS...: starts the run, waits for its first periodic checkpoint,
# sends SIGNAL (KILL: a hard kill) and checks what is left
stop_run() {
  local sig=$1 when=$2 rc; shift 2
  rm -f "$tmp/run.h5.ckpt"
  "$NCSN" run "${run[@]}" "$@" -o "$tmp/run.h5" 2> "$tmp/err" & pid=$!; pids+=("$pid")
  wait_file "$tmp/run.h5.ckpt"
  kill -"$sig" $pid
  set +e; wait $pid; rc=$?; set -e
  if [ "$sig" = KILL ]; then
    [ $rc -eq 137 ] || fail "ncsn run after kill -9: exit $rc"
  else
    [ $rc -eq 3 ] || fail "ncsn run after SIG$sig: exit $rc, expected 3 ($(cat "$tmp/err"))"
    grep -q "^ncsn run: interrupted by SIG$sig at $when .* its state is in $tmp/run.h5.ckpt" \
      "$tmp/err" || fail "ncsn run message after SIG$sig: $(tail -1 "$tmp/err")"
  fi
  [ -e "$tmp/run.h5" ] && fail "ncsn run wrote a run file after SIG$sig"
  [ -e "$tmp/run.h5.ckpt" ] || fail "no checkpoint after SIG$sig"
}
# resume WHAT: the same command (two threads, no periodic checkpoints) continues
resume() {
  OMP_NUM_THREADS=2 "$NCSN" run "${run[@]}" -o "$tmp/run.h5" 2> "$tmp/err" ||
    fail "resuming: $(cat "$tmp/err")"
  grep -q "^resuming from $tmp/run.h5.ckpt: $1" "$tmp/err" || fail "did not resume $1: $(cat "$tmp/err")"
  [ -e "$tmp/run.h5.ckpt" ] && fail "the checkpoint outlived the finished run"
  same_run "$tmp/ref.h5" "$tmp/run.h5" || fail "resumed ($1) differs from uninterrupted"
  rm -f "$tmp/run.h5"
}
stop_run TERM "training step" -s train.checkpoint_every=2000
resume "training step"
stop_run USR1 "sampling level" -s sample.checkpoint_every=1
resume "sampling level"
stop_run KILL "" -s train.checkpoint_every=5000
resume "training step"
# another configuration: the checkpoint is not used
stop_run TERM "training step" -s train.checkpoint_every=2000
"$NCSN" run "${run[@]}" -s train.steps=100 -s sample.T=10 -o "$tmp/run.h5" 2> "$tmp/err" || true
grep -q "warning: not resuming: .*different configuration" "$tmp/err" ||
  fail "another configuration: $(cat "$tmp/err")"
rm -f "$tmp/run.h5"
# a damaged checkpoint: reported, ignored, and the run is still right
stop_run TERM "training step" -s train.checkpoint_every=2000
truncate -s 5000 "$tmp/run.h5.ckpt"
"$NCSN" run "${run[@]}" -o "$tmp/run.h5" 2> "$tmp/err" || fail "$(cat "$tmp/err")"
grep -q "warning: not resuming: $tmp/run.h5.ckpt: .*starting from the beginning" "$tmp/err" ||
  fail "damaged checkpoint: $(cat "$tmp/err")"
same_run "$tmp/ref.h5" "$tmp/run.h5" || fail "after a damaged checkpoint: results differ"
set +e
"$NCSN" run --checkpoint a --no-checkpoint -o "$tmp/x.h5" 2> /dev/null; rc1=$?
"$NCSN" run --checkpoint -o "$tmp/x.h5" 2> /dev/null; rc2=$?
set -e
[ $rc1 -eq 2 ] && [ $rc2 -eq 2 ] || fail "checkpoint options: exits $rc1 $rc2, expected 2"

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
grep -q "event=interrupted id=$victim .*checkpoint=checkpoints/$victim.h5" "$tmp/s/journal.log" ||
  fail "journal: no checkpoint for the interrupted run $victim"
[ -e "$tmp/s/checkpoints/$victim.h5" ] || fail "no checkpoint file for $victim"
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
grep -q "event=started id=$victim .*resume=checkpoints/$victim.h5" "$tmp/s/journal.log" ||
  fail "the interrupted run $victim did not resume from its checkpoint"
grep -q "^resuming from .*checkpoints/$victim.h5" "$tmp/s/logs/$victim.log" ||
  fail "the log of $victim does not say where it resumed"
[ -z "$(ls "$tmp/s/checkpoints")" ] || fail "checkpoints left: $(ls "$tmp/s/checkpoints")"
same_results "$tmp/ref" "$tmp/s" || fail "the continued sweep differs from the uninterrupted one"

# 2b. a hard kill (kill -9) of the sweep after a periodic checkpoint: the next invocation
# resumes that run from it (checkpoint intervals given with -s: not a different sweep)
"$NCSN" sweep "$tmp/mid.yaml" -q -s train.checkpoint_every=1000 -o "$tmp/k" > /dev/null 2>&1 &
pid=$!; pids+=("$pid")
# (a checkpoint is written as <id>.h5.tmp.<pid> and renamed: only <id>.h5 counts)
for _ in $(seq 2000); do
  ls "$tmp/k/checkpoints" 2> /dev/null | grep -q '\.h5$' && break
  sleep 0.01
done
kill -9 $pid
set +e; wait $pid 2> /dev/null; set -e
victim=$(ls "$tmp/k/checkpoints" | grep '\.h5$' | head -1)
victim=${victim%.h5}
[ -n "$victim" ] || fail "kill -9: no periodic checkpoint appeared"
"$NCSN" sweep "$tmp/mid.yaml" -q -o "$tmp/k" > /dev/null
grep -q "event=started id=$victim .*resume=checkpoints/$victim.h5" "$tmp/k/journal.log" ||
  fail "kill -9: $victim did not resume from its periodic checkpoint"
same_results "$tmp/ref" "$tmp/k" || fail "kill -9: the continued sweep differs"
left=$(ls "$tmp/k/runs" "$tmp/k/checkpoints" | grep '\.tmp\.' || true)
[ -z "$left" ] || fail "kill -9: temporary files left: $left"

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
  [ "$(grep -c 'event=interrupted .*checkpoint=' "$tmp/m/journal.log")" -eq 2 ] ||
    fail "two ranks: expected two checkpoints"
  [ -z "$(in_flight "$tmp/m")" ] || fail "two ranks: claims left: $(in_flight "$tmp/m")"
  mpiexec -n 2 --oversubscribe "$NCSN" sweep "$tmp/mid.yaml" -q -o "$tmp/m" > /dev/null 2>&1
  same_results "$tmp/ref" "$tmp/m" || fail "two ranks: the continued sweep differs"
  [ "$(grep -c 'event=started .*resume=' "$tmp/m/journal.log")" -eq 2 ] ||
    fail "two ranks: expected two resumed runs"
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

all_passed "${SECONDS} s"
