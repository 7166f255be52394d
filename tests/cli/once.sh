#!/usr/bin/env bash
# once.sh: a sweep trains once and samples many (docs/cluster.md, Train once, sample many):
# the runs that differ only in sample.* keys share one training; the dry run counts the
# trainings (the notebook sweep: 24 for 96 runs); every run file equals a separate
# `ncsn run` of its configuration; 1 and 2 ranks write the same bits; kill -9 in the middle
# and continuing keeps the finished runs and writes the same files; a trainer that fails
# leaves its samplers to train their own models.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mpi_setup

# 2 lr x 2 ema (4 trainings a seed) x 2 T x 2 snapshots, eps auto (from T), 2 seeds
cat > "$tmp/once.yaml" <<'YAML'
dataset: {n: 200}
train: {steps: 120, batch: 64, lr: [0.001, 0.003], ema: [0, 0.99], log_every: 40,
        snapshot_every: 60, checkpoint_every: 30}
noise: {L: 8}
sample: {n: 200, T: [10, 15], snapshot: [0, 60], eps: auto, max_bad_fraction: 1}
sweep: {repeats: 2}
YAML

# ---- the dry run counts them -------------------------------------------------------------
"$NCSN" sweep "$tmp/once.yaml" --dry-run > "$tmp/list"
grep -q "^32 runs (16 configurations x 2 repeats), 8 trainings," "$tmp/list" ||
  fail "dry run: $(head -1 "$tmp/list")"
grep -q "^total: 32 runs, 8 trainings," "$tmp/list" || fail "dry run total: $(grep total "$tmp/list")"
"$NCSN" sweep "$SRC/sweeps/notebook-sweep.yaml" --dry-run --json > "$tmp/nb.json"
"$NCSN" sweep "$tmp/once.yaml" --dry-run --json > "$tmp/once.json"
"$PY" - "$tmp/nb.json" "$tmp/once.json" <<'PY'
import json, sys
nb, d = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
# notebook-sweep.yaml: 2 scale_by_sigma x 2 lr x 2 ema x 3 repeats trainings, each sampled
# with 2 T x 2 eps
assert (nb["runs"], nb["trainings"]) == (96, 24), (nb["runs"], nb["trainings"])
assert (d["runs"], d["trainings"]) == (32, 8), (d["runs"], d["trainings"])
by = {r["id"]: r["trained_by"] for r in d["per_run"]}
trainers = sorted(set(by.values()))
assert len(trainers) == 8 and all(by[t] == t for t in trainers), trainers
for r in d["per_run"]:  # a sampling run costs its sampling alone
    assert (r["train_seconds"] == 0) == (by[r["id"]] != r["id"]), r
PY

# ---- one rank, two ranks: 8 trainings, 24 samplings, the same bits -----------------------
"$NCSN" sweep "$tmp/once.yaml" -q -o "$tmp/p1" > /dev/null
mpiexec -n 2 --oversubscribe "$NCSN" sweep "$tmp/once.yaml" -q -o "$tmp/p2" > /dev/null
for d in p1 p2; do
  [ "$(grep -c 'event=started .*kind=train shares=3' "$tmp/$d/journal.log")" -eq 8 ] ||
    fail "$d: trainings: $(grep -c 'kind=train' "$tmp/$d/journal.log")"
  [ "$(grep -c 'event=started .*kind=sample model=runs/' "$tmp/$d/journal.log")" -eq 24 ] ||
    fail "$d: samplings"
  [ "$(grep -c 'event=finished .*status=complete' "$tmp/$d/journal.log")" -eq 32 ] || fail "$d: finished"
done
grep -q "rank=1 .*kind=sample" "$tmp/p2/journal.log" || fail "rank 1 sampled nothing"
"$PY" - "$tmp" <<'PY'
import sys, h5same
h5same.same_sweep(f"{sys.argv[1]}/p1", f"{sys.argv[1]}/p2")
print("P=1 and P=2 bit-identical")
PY

# ---- every run file is the one a separate `ncsn run` of its configuration writes ---------
# (times aside; the same exceptions as tests/cli/sweep.sh's replay: where the sweep said
# auto the replay's configuration gives the number, so its provenance says explicit, and the
# origins name other files and lines)
for f in "$tmp"/p1/runs/*.h5; do
  id=$(basename "$f" .h5)
  "$PY" -c 'import sys, h5py; open(sys.argv[2], "w").write(h5py.File(sys.argv[1], "r").attrs["config_yaml"])' \
    "$f" "$tmp/$id.yaml"
  "$NCSN" run "$tmp/$id.yaml" -q -o "$tmp/alone-$id.h5"
done
"$PY" - "$tmp" <<'PY'
import glob, os, sys, h5py, h5same
d = sys.argv[1]
ids = sorted(os.path.basename(f)[:-3] for f in glob.glob(f"{d}/p1/runs/*.h5"))
assert len(ids) == 32, ids
for i in ids:
    a = h5py.File(f"{d}/p1/runs/{i}.h5", "r")
    h5same.same_replay(a, h5py.File(f"{d}/alone-{i}.h5", "r"), i)
    # training time: the trainer's, carried into its samplers' files
    assert a["metrics/train_seconds"][()] > 0, i
print("32 run files equal to separate runs")
PY

# ---- kill -9 in the middle, then continue: the same files, finished runs kept ------------
kill9_after_runs 6 "$tmp/k" "$NCSN" sweep "$tmp/once.yaml" -q -o "$tmp/k"
done_before=$(ls "$tmp/k/runs" | grep '\.h5$' | sort)
n_before=$(echo "$done_before" | grep -c . || true)
[ "$n_before" -ge 1 ] && [ "$n_before" -lt 32 ] || fail "kill: $n_before runs finished before it"
stat -c '%n %i %Y' "$tmp/k/runs"/*.h5 > "$tmp/before"
"$NCSN" sweep "$tmp/once.yaml" -q -o "$tmp/k" > /dev/null
for f in $done_before; do
  grep -q "$(stat -c '%n %i %Y' "$tmp/k/runs/$f")" "$tmp/before" || fail "$f was recomputed"
done
# a training whose run file was there is not done again: 8 trainings in all, one more at
# most for the run in flight at the kill (it resumes from its checkpoint)
n_train=$(grep -c 'event=started .*kind=train' "$tmp/k/journal.log")
[ "$n_train" -ge 8 ] && [ "$n_train" -le 9 ] || fail "kill: $n_train trainings"
"$PY" - "$tmp" <<'PY'
import sys, h5same
h5same.same_sweep(f"{sys.argv[1]}/p1", f"{sys.argv[1]}/k")
print("continued sweep equals the uninterrupted one")
PY

# ---- SIGUSR1 during a sampling run: its state goes to its checkpoint, and the next
# invocation continues it from there (from the trainer's model) to the same bits ------------
cat > "$tmp/sig.yaml" <<'YAML'
dataset: {n: 200}
train: {steps: 50, batch: 64}
noise: {L: 8}
sample: {n: 3000, T: [300, 301], checkpoint_every: 1, max_bad_fraction: 1}
YAML
"$NCSN" sweep "$tmp/sig.yaml" -q -o "$tmp/sig-ref" > /dev/null
"$NCSN" sweep "$tmp/sig.yaml" -q -o "$tmp/sig" > /dev/null 2>&1 & pid=$!
for _ in $(seq 1000); do
  grep -q "event=started id=c0001 " "$tmp/sig/journal.log" 2>/dev/null && break
  sleep 0.01
done
for _ in $(seq 1000); do # a sampling checkpoint written: the signal lands mid-sampling
  [ -e "$tmp/sig/checkpoints/c0001.h5" ] && break
  sleep 0.01
done
kill -USR1 $pid
rc=0
wait $pid || rc=$?
[ $rc -eq 3 ] || fail "sampling run signalled: exit $rc, expected 3"
grep -q "event=started id=c0001 .*kind=sample model=runs/c0000.h5" "$tmp/sig/journal.log" ||
  fail "c0001 was no sampling run: $(cat "$tmp/sig/journal.log")"
grep -q "event=interrupted id=c0001 .*checkpoint=checkpoints/c0001.h5" "$tmp/sig/journal.log" ||
  fail "no checkpoint for the sampling run: $(grep c0001 "$tmp/sig/journal.log")"
"$NCSN" sweep "$tmp/sig.yaml" -q -o "$tmp/sig" > /dev/null
grep -q "event=started id=c0001 .*resume=checkpoints/c0001.h5 kind=sample" "$tmp/sig/journal.log" ||
  fail "the sampling run did not resume: $(grep c0001 "$tmp/sig/journal.log")"
grep -q "^resuming from .*checkpoints/c0001.h5: sampling level" "$tmp/sig/logs/c0001.log" ||
  fail "the sampling run's log: $(cat "$tmp/sig/logs/c0001.log")"
"$PY" - "$tmp" <<'PY'
import sys, h5same
h5same.same_sweep(f"{sys.argv[1]}/sig-ref", f"{sys.argv[1]}/sig")
print("a sampling run stopped by SIGUSR1 continues to the same bits")
PY

# ---- a trainer that fails: its samplers train their own models (and fail the same way) ---
cat > "$tmp/div.yaml" <<'YAML'
dataset: {n: 200}
train: {steps: 100, batch: 64, lr: [0.001, 1.0e+30]}
noise: {L: 5}
sample: {n: 100, T: [5, 6], max_bad_fraction: 1}
YAML
rc=0
"$NCSN" sweep "$tmp/div.yaml" -q -o "$tmp/div" > /dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "diverged trainer: exit $rc, expected 1"
grep -q "event=started id=c0003 .*kind=train shares=0" "$tmp/div/journal.log" ||
  fail "the diverged trainer's sampler did not train: $(grep c0003 "$tmp/div/journal.log")"
grep -q "event=failed id=c0003 .*status=diverged" "$tmp/div/journal.log" || fail "c0003 did not diverge"
grep -q "event=started id=c0001 .*kind=sample model=runs/c0000.h5" "$tmp/div/journal.log" ||
  fail "c0001 did not sample c0000's model"

# ---- a trainer with bad samples still has its model: its samplers sample it --------------
cat > "$tmp/bad.yaml" <<'YAML'
dataset: {n: 200}
train: {steps: 5, batch: 64}
noise: {L: 5}
sample: {n: 100, T: 5, eps: [0.05, 0.00001]}
YAML
rc=0
"$NCSN" sweep "$tmp/bad.yaml" -q -o "$tmp/bad" > /dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "bad-samples trainer: exit $rc, expected 1"
grep -q "event=failed id=c0000 .*status=bad_samples" "$tmp/bad/journal.log" ||
  fail "c0000 is not bad_samples: $(grep c0000 "$tmp/bad/journal.log")"
grep -q "event=started id=c0001 .*kind=sample model=runs/c0000.h5" "$tmp/bad/journal.log" ||
  fail "c0001 did not sample the bad-samples trainer's model: $(grep c0001 "$tmp/bad/journal.log")"
"$PY" -c "import sys, h5py; print(h5py.File(sys.argv[1])['/'].attrs['config_yaml'])" \
  "$tmp/bad/runs/c0001.h5" > "$tmp/bad-c0001.yaml"
"$NCSN" run "$tmp/bad-c0001.yaml" -q -o "$tmp/bad-c0001.h5" || fail "a separate run of c0001"
"$PY" - "$tmp" <<'PY'
import sys, h5same
d = sys.argv[1]
h5same.same_run(f"{d}/bad/runs/c0001.h5", f"{d}/bad-c0001.h5", "c0001")
print("a sampler of a bad-samples trainer equals its separate run")
PY

all_passed "8 trainings for 32 runs"
