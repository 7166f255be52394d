#!/usr/bin/env bash
# sweep.sh: `ncsn sweep` as users run it: --dry-run, one process without mpirun, two MPI
# ranks (results bit-identical to one), kill -9 and continue (finished runs kept, the
# final table equal to an uninterrupted sweep's), a different sweep refused, a diverged
# run recorded while the sweep goes on, --retry-failed and --fail-fast.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mpi_setup

cat > "$tmp/small.yaml" <<'YAML'
dataset: {n: 200}
train: {steps: [150, 300], batch: 64, lr: [0.001, 0.003], log_every: 50}
noise: {L: 8}
sample: {n: 300, T: 15, max_bad_fraction: 1} # quality is not what this tests
sweep: {repeats: 2}
YAML

# --dry-run lists every run and runs nothing
"$NCSN" sweep "$tmp/small.yaml" --dry-run > "$tmp/list"
grep -q "^8 runs" "$tmp/list" || fail "dry run: $(head -2 "$tmp/list")"
grep -q "c0003-r1" "$tmp/list" || fail "dry run ids"

# one process, no mpirun
"$NCSN" sweep "$tmp/small.yaml" -q -o "$tmp/p1" > /dev/null
# two ranks
mpiexec -n 2 --oversubscribe "$NCSN" sweep "$tmp/small.yaml" -q -o "$tmp/p2" > /dev/null
grep -q "rank=1" "$tmp/p2/journal.log" || fail "rank 1 ran nothing"
grep -q "rank=0 status=complete" "$tmp/p2/journal.log" || fail "rank 0 ran nothing"

"$PY" - "$tmp" <<'PY'
import sys, h5py, h5same, numpy as np
d = sys.argv[1]
h5same.same_sweep(f"{d}/p1", f"{d}/p2")  # every run, every array
a, b = h5py.File(f"{d}/p1/sweep.h5", "r"), h5py.File(f"{d}/p2/sweep.h5", "r")
ta, tb = a["runs"][:], b["runs"][:]
assert len(ta) == 8, len(ta)
ids = [x.decode() if isinstance(x, bytes) else x for x in ta["id"]]
st = [x.decode() if isinstance(x, bytes) else x for x in ta["status"]]
assert st == ["complete"] * 8, st
for name in ("train.steps", "train.lr"):
    assert name in ta.dtype.names, ta.dtype.names
assert sorted(set(ta["train.lr"])) == [0.001, 0.003]
for i in ids:
    for key in ("samples", "model/backbone.0/weight", "model/sigma_emb.0/bias", "train/loss"):
        assert np.array_equal(a[f"run/{i}/{key}"][:], b[f"run/{i}/{key}"][:]), (i, key)
# repeats differ, configurations differ
assert not np.array_equal(a["run/c0000-r0/samples"][:], a["run/c0000-r1/samples"][:])
print("P=1 and P=2 bit-identical over", len(ids), "runs")
PY

# A run is its configuration: `ncsn run` on a run file's own config_yaml writes that run
# file again bit for bit, times aside (a repeat's seed, an auto eps and a run that differs
# from another only in sample.* keys included), and runs that differ only in sample.* keys
# train the same model.
cat > "$tmp/own.yaml" <<'YAML'
dataset: {n: 200}
train: {steps: 120, batch: 64, lr: [0.001, 0.003], log_every: 40}
noise: {L: 8}
sample: {n: 200, T: [10, 15], eps: [0.001, auto], max_bad_fraction: 1}
sweep: {repeats: 2}
YAML
"$NCSN" sweep "$tmp/own.yaml" -q -o "$tmp/own" > /dev/null
for id in c0000-r0 c0003-r1 c0005-r1; do
  "$PY" -c 'import sys, h5py; open(sys.argv[2], "w").write(h5py.File(sys.argv[1], "r").attrs["config_yaml"])' \
    "$tmp/own/runs/$id.h5" "$tmp/own-$id.yaml"
  "$NCSN" run "$tmp/own-$id.yaml" -q -o "$tmp/own-$id.h5"
done
"$PY" - "$tmp" <<'PY'
import sys, h5py, h5same, numpy as np
d = sys.argv[1]
for i in ("c0000-r0", "c0003-r1", "c0005-r1"):
    h5same.same_replay(f"{d}/own/runs/{i}.h5", f"{d}/own-{i}.h5", i)
t = h5py.File(f"{d}/own/sweep.h5", "r")["runs"][:]
seed = {r["id"].decode(): int(r["seed"]) for r in t}
assert seed["c0000-r0"] == seed["c0003-r0"] == 0 and seed["c0000-r1"] == seed["c0007-r1"] != 0
f = lambda i, k: h5py.File(f"{d}/own/runs/{i}.h5", "r")[k][()]
for i, j in (("c0000-r0", "c0003-r0"), ("c0004-r1", "c0007-r1")):  # same training key
    assert np.array_equal(f(i, "model/backbone.2/weight"), f(j, "model/backbone.2/weight")), (i, j)
    assert np.array_equal(f(i, "train/loss"), f(j, "train/loss")), (i, j)
for i, j in (("c0000-r0", "c0000-r1"), ("c0000-r0", "c0004-r0")):  # another seed, another lr
    assert not np.array_equal(f(i, "model/backbone.2/weight"), f(j, "model/backbone.2/weight"))
print("run files rewritten bit for bit from their own config_yaml; sample.* variants share the model")
PY

# kill -9 after some runs, then continue
kill9_after_runs 2 "$tmp/k" "$NCSN" sweep "$tmp/small.yaml" -q -o "$tmp/k"
done_before=$(ls "$tmp/k/runs" | grep '\.h5$' | sort)
[ -n "$done_before" ] || fail "no run finished before the kill"
stat -c '%n %i %Y' "$tmp/k/runs"/*.h5 > "$tmp/before"
"$NCSN" sweep "$tmp/small.yaml" -q -o "$tmp/k" > /dev/null
for f in $done_before; do
  grep -q "$(stat -c '%n %i %Y' "$tmp/k/runs/$f")" "$tmp/before" || fail "$f was recomputed"
done
[ "$(ls "$tmp/k/runs" | grep -c '\.h5$')" -eq 8 ] || fail "continued sweep: not every run file is there"
[ "$(grep -c event=sweep_started "$tmp/k/journal.log")" -eq 2 ] || fail "journal: expected two sweep starts"
"$PY" - "$tmp" <<'PY'
import sys, h5same
h5same.same_sweep(f"{sys.argv[1]}/p1", f"{sys.argv[1]}/k")
print("continued sweep equals the uninterrupted one")
PY

# a different sweep into the same directory is refused
set +e
"$NCSN" sweep "$tmp/small.yaml" -s seed=5 -q -o "$tmp/p1" 2> "$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "different sweep: exit $rc, expected 2"
grep -q "different sweep" "$tmp/err" || fail "different sweep message: $(cat "$tmp/err")"

# a configuration error names file, line and key, before any work
printf 'train:\n  lr: [0.001, -1]\n' > "$tmp/bad.yaml"
set +e
"$NCSN" sweep "$tmp/bad.yaml" -q -o "$tmp/bad" 2> "$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "bad sweep: exit $rc"
grep -q "bad.yaml:2" "$tmp/err" || fail "bad sweep message: $(cat "$tmp/err")"
grep -q "train.lr" "$tmp/err" || fail "bad sweep message: $(cat "$tmp/err")"
[ -e "$tmp/bad" ] && fail "a directory was created for a bad sweep"

# a diverging run is recorded and the sweep goes on; --retry-failed reruns only it
cat > "$tmp/div.yaml" <<'YAML'
dataset: {n: 200}
train: {steps: 100, batch: 64, lr: [0.001, 1.0e+30]}
noise: {L: 5}
sample: {n: 100, T: 5, max_bad_fraction: 1}
YAML
set +e
"$NCSN" sweep "$tmp/div.yaml" -q -o "$tmp/div" > /dev/null 2>&1; rc=$?
set -e
[ $rc -eq 1 ] || fail "sweep with a diverged run: exit $rc, expected 1"
grep -q "status=diverged" "$tmp/div/journal.log" || fail "journal lacks the diverged run"
# Every journal line splits back into key=value pairs (values with spaces or quotes are
# double-quoted, \\ and \" inside): the diverged run's reason, which quotes its status,
# reads back as runs/<id>.failed says it.
"$PY" - "$tmp/div" <<'PY' || fail "the journal does not parse back"
import glob, os, shlex, sys
d = sys.argv[1]
reasons = {}
for line in open(os.path.join(d, "journal.log")):
    pairs = dict(t.split("=", 1) for t in shlex.split(line))
    assert "time" in pairs and "event" in pairs, line
    if pairs["event"] == "failed":
        reasons[pairs["id"]] = pairs["reason"]
(failed,) = glob.glob(os.path.join(d, "runs", "*.failed"))
rid = os.path.basename(failed)[:-len(".failed")]
want = open(failed).read().rstrip("\n")
assert reasons.get(rid) == want, (reasons, want)
PY
# ... and sweep.h5's error column holds it (the run has a run file, status diverged), as
# analysis.load's table (and r.df) does, with sweep.h5 and without it
"$PY" - "$tmp/div" "$SRC" <<'PY' || fail "the failed run's reason is not in sweep.h5 or analysis.load"
import glob, os, shutil, sys
import h5py
d = sys.argv[1]
sys.path.insert(0, sys.argv[2])
import analysis
(failed,) = glob.glob(os.path.join(d, "runs", "*.failed"))
rid = os.path.basename(failed)[:-len(".failed")]
want = open(failed).read().rstrip("\n")
t = h5py.File(os.path.join(d, "sweep.h5"), "r")["runs"][:]
err = {r["id"].decode(): r["error"].decode() for r in t}
st = {r["id"].decode(): r["status"].decode() for r in t}
assert st[rid] == "diverged" and err[rid] == want, (st, err)
assert all(e == "" for i, e in err.items() if i != rid), err
nosum = d + "-nosum"
shutil.copytree(d, nosum)
os.remove(os.path.join(nosum, "sweep.h5"))
for path in (d, nosum):
    r = analysis.load(path)
    ids = [str(i) for i in r.table["id"]]
    got = dict(zip(ids, (str(e) for e in r.table["error"])))
    assert got[rid] == want and all(got[i] == "" for i in ids if i != rid), (path, got)
    try:
        df = r.df
    except ImportError:
        continue
    assert df.loc[rid, "error"] == want, path  # r.df is indexed by id
assert 'records status "diverged"' in want, want
PY
"$PY" - "$tmp/div/sweep.h5" <<'PY'
import sys, h5py
t = h5py.File(sys.argv[1])["runs"][:]
st = [x.decode() if isinstance(x, bytes) else x for x in t["status"]]
assert sorted(st) == ["complete", "diverged"], st
PY
set +e
"$NCSN" sweep "$tmp/div.yaml" -q --retry-failed -o "$tmp/div" > /dev/null 2>&1; rc=$?
set -e
[ $rc -eq 1 ] || fail "retry: exit $rc"
[ "$(grep -c 'event=started' "$tmp/div/journal.log")" -eq 3 ] || fail "--retry-failed reran more than the failed run"

# --fail-fast stops taking runs after the first failure
cat > "$tmp/ff.yaml" <<'YAML'
dataset: {n: 200}
train: {steps: 100, batch: 64, lr: [1.0e+30, 1.0e+31, 1.0e+32]}
noise: {L: 5}
sample: {n: 100, T: 5, max_bad_fraction: 1}
YAML
set +e
"$NCSN" sweep "$tmp/ff.yaml" -q --fail-fast -o "$tmp/ff" > /dev/null 2>&1; rc=$?
set -e
[ $rc -eq 1 ] || fail "fail-fast: exit $rc"
[ "$(grep -c 'event=started' "$tmp/ff/journal.log")" -eq 1 ] || fail "--fail-fast went on"
# kill -9 of one rank of a 2-rank sweep: the other exits (no hang), and running the same
# command again completes with nothing lost
cat > "$tmp/long.yaml" <<'YAML'
dataset: {n: 200}
train: {steps: [40000, 60000], batch: 64, lr: [0.001, 0.003]}
noise: {L: 8}
sample: {n: 300, T: 15, max_bad_fraction: 1} # quality is not what this tests
YAML
set +e
timeout 300 mpiexec -n 2 --oversubscribe "$NCSN" sweep "$tmp/long.yaml" -q -o "$tmp/kr" > /dev/null 2>&1 &
mpi=$!
set -e
pid=""
for _ in $(seq 300); do
  pid=$(grep "event=started" "$tmp/kr/journal.log" 2>/dev/null | grep "rank=1" | head -1 | sed 's/.*pid=\([0-9]*\).*/\1/' || true)
  [ -n "$pid" ] && break
  sleep 0.1
done
[ -n "$pid" ] || fail "rank 1 never started a run"
kill -9 "$pid"
set +e
wait $mpi; rc=$?
set -e
[ $rc -ne 124 ] || fail "the sweep hung after one rank was killed"
[ $rc -ne 0 ] || fail "the sweep exited 0 after one rank was killed"
mpiexec -n 2 --oversubscribe "$NCSN" sweep "$tmp/long.yaml" -q -o "$tmp/kr" > /dev/null
[ "$(ls "$tmp/kr/runs" | grep -c '\.h5$')" -eq 4 ] || fail "after the rank kill: not every run file is there"
all_passed
