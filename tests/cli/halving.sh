#!/usr/bin/env bash
# halving.sh: successive halving (sweep.mode: halving; docs/cluster.md, Successive halving):
# the dry run describes the rungs; each rung promotes the best of its configurations by the
# mean of the metric over their repeats; 1 and 2 ranks, a kill -9 in the middle of a rung
# and continuing, and job-array tasks (--shard) taking turns all make the same promotions
# and write the same run files; every run file of a later rung, whose training continued the
# rung before's (snapshots included), equals a separate `ncsn run` of its configuration;
# bad halving settings are refused naming file, line and key; the report shows the rungs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mpi_setup

# 2 lr x 2 ema x 2 T x 2 eps = 16 configurations x 2 seeds; rungs of 30, 70 and 120 steps
# (log_every 35: rung 0 ends between logged steps, whose last entry a longer training drops,
# rung 1 on one, whose last entry it keeps), keeping half
cat > "$tmp/h.yaml" <<'YAML'
dataset: {n: 200}
train: {steps: 120, batch: 64, lr: [0.001, 0.003], ema: [0, 0.99], log_every: 35,
        snapshot_every: 60, checkpoint_every: 20}
noise: {L: 8}
sample: {n: 200, T: [10, 15], eps: [0.001, 0.002], max_bad_fraction: 1}
sweep: {mode: halving, rungs: [30, 70, 120], keep: 0.5, sample_n: 100, repeats: 2}
YAML

# ---- the dry run describes the rungs --------------------------------------------------------
"$NCSN" sweep "$tmp/h.yaml" --dry-run > "$tmp/list"
grep -q "^halving: 16 configurations x 2 repeats; score: the mean mode_weight_error" "$tmp/list" ||
  fail "dry run: $(head -1 "$tmp/list")"
grep -Eq "^0 +30 +100 +16 +32 +8 +240 " "$tmp/list" || fail "dry run rung 0: $(sed -n 3p "$tmp/list")"
grep -Eq "^2 +120 +200 +<=4 +<=8 +<=8 +<=400 " "$tmp/list" || fail "dry run rung 2: $(sed -n 5p "$tmp/list")"
grep -q "^at most 56 runs, 960 training steps" "$tmp/list" || fail "dry run total"
"$NCSN" sweep "$tmp/h.yaml" --dry-run --json > "$tmp/list.json"
"$PY" - "$tmp/list.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
h = d["halving"]
assert [r["configurations_max"] for r in h["rungs"]] == [16, 8, 4], h["rungs"]
assert [r["sample_n"] for r in h["rungs"]] == [100, 100, 200], h["rungs"]
assert h["total"]["runs_max"] == 56 and d["grid"]["runs"] == 32 == len(d["grid"]["per_run"])
PY

# ---- one rank, two ranks: the same promotions and run files ---------------------------------
"$NCSN" sweep "$tmp/h.yaml" -q -o "$tmp/p1" > "$tmp/p1.out"
grep -q "p1/rungs.tsv$" "$tmp/p1.out" || fail "no rungs.tsv printed"
mpiexec -n 2 --oversubscribe "$NCSN" sweep "$tmp/h.yaml" -q -o "$tmp/p2" > /dev/null
"$PY" - "$tmp/p1" <<'PY'
import sys, csv
rows = [r for r in csv.DictReader((l for l in open(sys.argv[1] + "/rungs.tsv")
                                   if not l.startswith("#")), delimiter="\t")]
by = {}
for r in rows:
    by.setdefault(int(r["rung"]), []).append(r)
assert [len(by[k]) for k in (0, 1, 2)] == [16, 8, 4], [len(v) for v in by.values()]
for k in (0, 1):
    assert [r["promoted"] for r in by[k]].count("yes") == len(by[k + 1])
    promoted = {r["configuration"] for r in by[k] if r["promoted"] == "yes"}
    assert promoted == {r["configuration"] for r in by[k + 1]}, k
    scores = [float(r["score"]) for r in by[k]]
    assert scores == sorted(scores), k           # best first (inf last)
    assert [int(r["rank"]) for r in by[k]] == list(range(1, len(by[k]) + 1))
    assert {r["steps"] for r in by[k]} == {("30", "70")[k]}
    assert {r["sample_n"] for r in by[k]} == {"100"}
assert {r["sample_n"] for r in by[2]} == {"200"} and {r["promoted"] for r in by[2]} == {"-"}
PY
cmp "$tmp/p1/rungs.tsv" "$tmp/p2/rungs.tsv" || fail "P=1 and P=2 promoted differently"
grep -q "rank=1 " "$tmp/p2/rung0/journal.log" || fail "rank 1 ran nothing"
# every training of rungs 1 and 2 continued the rung before's (its journal line and its log),
# and none fell back to step 0: were continuing broken, each would retrain to the same bits
# and every comparison below would still pass
continued() { # DIR: every training run of the rung continued
  local n=0 id
  for id in $(sed -n 's/.*event=started id=\([^ ]*\) .* kind=train .*/\1/p' "$1/journal.log"); do
    grep -q "event=started id=$id .* kind=train .* continues=" "$1/journal.log" ||
      fail "$1: $id: no continues= in the journal"
    grep -q "^continuing the training of .*/states/.*: step " "$1/logs/$id.log" ||
      fail "$1: $id: its log does not say it continued"
    n=$((n + 1))
  done
  [ "$n" -ge 1 ] || fail "$1: no training"
}
continued "$tmp/p1/rung1"
continued "$tmp/p1/rung2"
! grep -l "not continuing" "$tmp"/p1/rung*/logs/*.log || fail "a training fell back to step 0"
"$PY" - "$tmp" <<'PY'
import sys, h5same
for k in (0, 1, 2):
    h5same.same_sweep(f"{sys.argv[1]}/p1/rung{k}", f"{sys.argv[1]}/p2/rung{k}")
print("P=1 and P=2: the same promotions, bit-identical run files")
PY

# ---- kill -9 in the middle of rung 1, then continue: the same -----------------------------------
kill9_after_runs 3 "$tmp/k/rung1" "$NCSN" sweep "$tmp/h.yaml" -q -o "$tmp/k"
[ -d "$tmp/k/rung1" ] || fail "the kill came before rung 1"
[ ! -d "$tmp/k/rung2" ] || skip "kill -9 came after rung 1 (a fast machine)"
"$NCSN" sweep "$tmp/h.yaml" -q -o "$tmp/k" > /dev/null
cmp "$tmp/p1/rungs.tsv" "$tmp/k/rungs.tsv" || fail "kill -9 and continue promoted differently"
"$PY" - "$tmp" <<'PY'
import sys, h5same
for k in (0, 1, 2):
    h5same.same_sweep(f"{sys.argv[1]}/p1/rung{k}", f"{sys.argv[1]}/k/rung{k}")
PY

# ---- SIGUSR1 (a SLURM time limit) in the middle of rung 1: exit 3, the run's checkpoint, then
# the same command continues to the same promotions and files --------------------------------
cat > "$tmp/s.yaml" <<'YAML'
dataset: {n: 200}
train: {steps: 20000, batch: 64, lr: [0.001, 0.003], log_every: 100}
noise: {L: 8}
sample: {n: 200, T: [10, 15], max_bad_fraction: 1}
sweep: {mode: halving, rungs: [10000, 20000], keep: 0.5, sample_n: 100, repeats: 2}
YAML
"$NCSN" sweep "$tmp/s.yaml" -q -o "$tmp/sa" > /dev/null
"$NCSN" sweep "$tmp/s.yaml" -q -o "$tmp/sb" > /dev/null 2> "$tmp/sb.err" &
pid=$!
for _ in $(seq 1200); do
  [ -n "$(ls "$tmp/sb/rung1/claims" 2>/dev/null)" ] && break
  sleep 0.02
done
kill -USR1 $pid 2>/dev/null || true
rc=0
wait $pid || rc=$?
if [ "$rc" -eq 3 ]; then
  grep -q "event=interrupted .*checkpoint=checkpoints/" "$tmp/sb/rung1/journal.log" ||
    fail "SIGUSR1: no checkpoint in rung 1"
  ! grep -q "rung_decided rung=1" "$tmp/sb/journal.log" || fail "SIGUSR1: rung 1 decided"
  "$NCSN" sweep "$tmp/s.yaml" -q -o "$tmp/sb" > /dev/null
  cmp "$tmp/sa/rungs.tsv" "$tmp/sb/rungs.tsv" || fail "SIGUSR1 and continue promoted differently"
  "$PY" -c 'import sys, h5same; [h5same.same_sweep(f"{sys.argv[1]}/sa/rung{k}", f"{sys.argv[1]}/sb/rung{k}") for k in (0, 1)]' "$tmp"
elif [ "$rc" -eq 0 ]; then
  skip "SIGUSR1 came after the sweep ended (a fast machine)"
else
  fail "SIGUSR1: exit $rc: $(cat "$tmp/sb.err")"
fi

# ---- job-array tasks taking turns (--shard): a task waits (exit 3) for the other's runs ---------
for round in 1 2 3 4 5 6 7 8; do
  rc0=0; rc1=0
  "$NCSN" sweep "$tmp/h.yaml" -q --shard 0/2 -o "$tmp/s" > /dev/null 2>&1 || rc0=$?
  "$NCSN" sweep "$tmp/h.yaml" -q --shard 1/2 -o "$tmp/s" > /dev/null 2>&1 || rc1=$?
  [ "$rc0" -eq 0 ] || [ "$rc0" -eq 3 ] || fail "shard 0/2 exited $rc0"
  [ "$rc1" -eq 0 ] || [ "$rc1" -eq 3 ] || fail "shard 1/2 exited $rc1"
  [ "$rc0" -eq 0 ] && [ "$rc1" -eq 0 ] && break
done
[ "$rc0" -eq 0 ] && [ "$rc1" -eq 0 ] || fail "the shards did not finish in 8 rounds"
grep -q "event=rung_waiting rung=0 shard=0/2" "$tmp/s/journal.log" || fail "shard 0/2 never waited"
cmp "$tmp/p1/rungs.tsv" "$tmp/s/rungs.tsv" || fail "shards promoted differently"

# ---- a rung is decided only once every run of it has ended -----------------------------------
# A claim that is a directory cannot be taken back: it stands for a run another process holds
# (one that samples another run's model: a training held elsewhere would keep its samplers
# waiting for it). Rung 0 then waits (exit 3) instead of scoring that run as a failure. With
# the claim gone and rung 0's training states lost, the same command decides as before, rung
# 1's trainings start from step 0 and their logs say so, and every file is the same.
id=$(sed -n 's/.*event=started id=\([^ ]*\) .* kind=sample .*/\1/p' "$tmp/p1/rung0/journal.log" |
     head -1)
mkdir -p "$tmp/w/rung0/claims/$id"
rc=0
"$NCSN" sweep "$tmp/h.yaml" -q -o "$tmp/w" > /dev/null 2> "$tmp/w.err" || rc=$?
[ "$rc" -eq 3 ] || fail "a run held elsewhere: exit $rc: $(cat "$tmp/w.err")"
grep -q "event=rung_waiting rung=0 unfinished=1$" "$tmp/w/journal.log" ||
  fail "a run held elsewhere: no rung_waiting: $(cat "$tmp/w/journal.log")"
grep -q "^ncsn sweep: halving rung 0: 1 of its 32 runs has not ended" "$tmp/w.err" ||
  fail "a run held elsewhere: $(cat "$tmp/w.err")"
[ ! -e "$tmp/w/rung1" ] && [ ! -e "$tmp/w/rungs.tsv" ] ||
  fail "rung 0 was decided before all its runs had ended"
rmdir "$tmp/w/rung0/claims/$id"
rm "$tmp"/w/rung0/states/*.h5
"$NCSN" sweep "$tmp/h.yaml" -q -o "$tmp/w" > /dev/null 2>&1 || fail "after the wait: exit $?"
cmp "$tmp/p1/rungs.tsv" "$tmp/w/rungs.tsv" || fail "after the wait: other promotions"
n=0
for id in $(sed -n 's/.*event=started id=\([^ ]*\) .* kind=train .*/\1/p' "$tmp/w/rung1/journal.log"); do
  grep -q "^ncsn: warning: not continuing: no training state .*/rung0/states/$id.h5 .*; training from step 0$" \
    "$tmp/w/rung1/logs/$id.log" || fail "rung 1: $id: its log does not say it trained from step 0"
  n=$((n + 1))
done
[ "$n" -ge 1 ] || fail "rung 1 of w: no training"
continued "$tmp/w/rung2"
"$PY" -c 'import sys, h5same; [h5same.same_sweep(f"{sys.argv[1]}/p1/rung{k}", f"{sys.argv[1]}/w/rung{k}") for k in (0, 1, 2)]' "$tmp"

# ---- failures before the last rung ---------------------------------------------------------------
# lr 1e30 diverges at once: its configuration scores none, ranks last and is not promoted, and
# the sweep exits 0 (only the last rung's failures fail it). Too few scores to promote from
# stops the sweep (exit 1, rung_undecidable) instead of promoting by configuration index.
# Once rung 1 exists, rung 0 stays as decided: a run of it that failed once (a .failed mark
# made before it could run stands for a failure that does not repeat) is not run again by
# --retry-failed, which would promote it, and rung 1 would hold another sweep.
cat > "$tmp/f.yaml" <<'YAML'
dataset: {n: 200}
train: {steps: 70, batch: 64, lr: [0.001, 0.002, 0.003, 0.004, 1e30], log_every: 10}
noise: {L: 8}
sample: {n: 200, T: 10, max_bad_fraction: 0.9}
sweep: {mode: halving, rungs: [30, 70], keep: 0.4}
YAML
rc=0
"$NCSN" sweep "$tmp/f.yaml" -q -o "$tmp/fa" > /dev/null 2> "$tmp/fa.err" || rc=$?
[ "$rc" -eq 0 ] || fail "a failure before the last rung: exit $rc: $(cat "$tmp/fa.err")"
grep -q "event=failed id=c0004 .*status=diverged" "$tmp/fa/rung0/journal.log" ||
  fail "lr 1e30 did not diverge"
"$PY" - "$tmp/fa/rungs.tsv" <<'PY'
import sys, csv
rows = [r for r in csv.DictReader((l for l in open(sys.argv[1]) if not l.startswith("#")),
                                  delimiter="\t")]
r0 = [r for r in rows if r["rung"] == "0"]
assert len(r0) == 5 and [r["promoted"] for r in r0].count("yes") == 2, r0
last = r0[-1]
assert (last["configuration"], last["scored"], last["score"], last["rank"], last["promoted"]) == \
    ("c0004", "0", "inf", "5", "no"), last
assert all(float(r["score"]) < float("inf") for r in r0[:2]), r0
PY
rc=0
"$NCSN" sweep "$tmp/f.yaml" -q -s sweep.keep=0.7 -o "$tmp/fc" > /dev/null 2> "$tmp/fc.err" || rc=$?
[ "$rc" -eq 1 ] || fail "undecidable rung: exit $rc"
grep -q "event=rung_undecidable rung=0 scored=3 of=5 needed=4 metric=mode_weight_error$" \
  "$tmp/fc/journal.log" || fail "undecidable rung: $(cat "$tmp/fc/journal.log")"
grep -q "^ncsn sweep: halving rung 0 cannot be decided: 3 of its 5 configurations have a score" \
  "$tmp/fc.err" || fail "undecidable rung: $(cat "$tmp/fc.err")"
[ ! -e "$tmp/fc/rung1" ] && [ ! -e "$tmp/fc/rungs.tsv" ] || fail "undecidable rung: promoted"
best=$(awk -F'\t' '$1 == "0" && $8 == "1" {print $4}' "$tmp/fa/rungs.tsv")
mkdir -p "$tmp/fb/rung0/runs"
touch "$tmp/fb/rung0/runs/$best.failed"
"$NCSN" sweep "$tmp/f.yaml" -q -o "$tmp/fb" > /dev/null 2>&1 || fail "$best failed: exit $?"
grep -q "^0	30	200	$best	1	0	inf	3	no$" "$tmp/fb/rungs.tsv" ||
  fail "$best failed: $(cat "$tmp/fb/rungs.tsv")"
cp "$tmp/fb/rungs.tsv" "$tmp/fb.tsv"
rc=0
"$NCSN" sweep "$tmp/f.yaml" -q --retry-failed -o "$tmp/fb" > /dev/null 2> "$tmp/fb.err" || rc=$?
[ "$rc" -eq 0 ] || fail "--retry-failed once rung 1 exists: exit $rc: $(cat "$tmp/fb.err")"
cmp "$tmp/fb.tsv" "$tmp/fb/rungs.tsv" || fail "--retry-failed changed rung 0's promotions"
[ ! -e "$tmp/fb/rung0/runs/$best.h5" ] || fail "--retry-failed ran a run of a decided rung"
grep -q "event=rung_fixed rung=0 promoted=2 of=5 by=rung1/sweep.txt$" "$tmp/fb/journal.log" ||
  fail "--retry-failed: no rung_fixed"

# ---- every run file of rungs 1 and 2 is a separate `ncsn run` of its configuration -----------
# (its training continued the rung before's: the loss history, snapshots and weights agree)
for f in "$tmp"/p1/rung1/runs/*.h5 "$tmp"/p1/rung2/runs/*.h5; do
  id=$(basename "$(dirname "$(dirname "$f")")")-$(basename "$f" .h5)
  "$PY" -c 'import sys, h5py; open(sys.argv[2], "w").write(h5py.File(sys.argv[1], "r").attrs["config_yaml"])' \
    "$f" "$tmp/$id.yaml"
  "$NCSN" run "$tmp/$id.yaml" -q --no-checkpoint -o "$tmp/alone-$id.h5"
done
"$PY" - "$tmp" <<'PY'
import glob, os, sys, h5py, h5same
d = sys.argv[1]
n = 0
for k in (1, 2):
    for f in sorted(glob.glob(f"{d}/p1/rung{k}/runs/*.h5")):
        i = f"rung{k}-" + os.path.basename(f)[:-3]
        a, b = h5py.File(f, "r"), h5py.File(f"{d}/alone-{i}.h5", "r")
        h5same.same_run(a, b, i)
        for key in a.attrs:
            if key != "created":
                assert a.attrs[key] == b.attrs[key], (i, key)
        # the loss history: rung 0's last entry (30) dropped, rung 1's (70, on the interval)
        # kept
        assert list(a["train/step"][:]) == ([35, 70], [35, 70, 105, 120])[k - 1], i
        if k == 2:
            assert list(a["snapshots/step"][:]) == [60, 120], i
        n += 1
assert n == 24, n
print("%d run files of rungs 1 and 2 equal separate runs" % n)
PY

# ---- bad halving settings: exit 2, FILE:LINE: KEY ---------------------------------------------
printf 'train: {steps: 200}\nsweep:\n  mode: halving\n  rungs: [50, 100]\n' > "$tmp/bad1.yaml"
printf 'sweep:\n  mode: halving\n  rungs: [30, 120]\n  keep: 2\n' > "$tmp/bad2.yaml"
printf 'sweep:\n  mode: halving\n' > "$tmp/bad3.yaml"
printf 'dataset:\n  name: moons\nsweep: {mode: halving, rungs: [30, 30000]}\n' > "$tmp/bad5.yaml"
for b in bad1 bad2 bad3 bad5; do
  rc=0
  "$NCSN" sweep "$tmp/$b.yaml" -q -o "$tmp/$b" 2> "$tmp/$b.err" > /dev/null || rc=$?
  [ "$rc" -eq 2 ] || fail "$b: exit $rc"
  [ ! -e "$tmp/$b" ] || fail "$b: made its directory"
done
grep -q "bad1.yaml:4: sweep.rungs: the last rung, 100 steps, must equal train.steps (200)" \
  "$tmp/bad1.err" || fail "bad1: $(cat "$tmp/bad1.err")"
grep -q "bad2.yaml:4: sweep.keep: expected the share of configurations promoted" "$tmp/bad2.err" ||
  fail "bad2: $(cat "$tmp/bad2.err")"
grep -q "bad3.yaml:2: sweep.mode: halving needs sweep.rungs" "$tmp/bad3.err" ||
  fail "bad3: $(cat "$tmp/bad3.err")"
grep -q "bad5.yaml:2: dataset.name: halving scores configurations by sweep.metric, default \
mode_weight_error, which configuration c0000's runs cannot have" "$tmp/bad5.err" ||
  fail "bad5: $(cat "$tmp/bad5.err")"
rc=0
"$NCSN" sweep "$tmp/h.yaml" -q -s sweep.metric=loss -o "$tmp/bad4" 2> "$tmp/bad4.err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "^ncsn sweep: --set sweep.metric: expected one of" "$tmp/bad4.err" ||
  fail "bad4: $rc $(cat "$tmp/bad4.err")"

# ---- the report decides over the last rung and shows every rung ----------------------------------
if "$PY" -c "import matplotlib" 2>/dev/null; then
  export MPLBACKEND=Agg MPLCONFIGDIR="$tmp/mpl" PYTHONPATH="$SRC${PYTHONPATH:+:$PYTHONPATH}"
  "$PY" -m analysis report "$tmp/p1" > "$tmp/report.txt" 2>&1 || fail "report: $(tail -3 "$tmp/report.txt")"
  grep -q "p1/report/index.html$" "$tmp/report.txt" || fail "report path: $(tail -1 "$tmp/report.txt")"
  md="$tmp/p1/report/leaderboard.md"
  grep -q "^\*\*Successive halving\*\* (rungs \[30, 70, 120\]): 16 configurations" "$md" ||
    fail "report: no rungs paragraph"
  grep -q "^| configuration | rung 0: 30 steps, 100 chains | rung 1: 70 steps, 100 chains | rung 2: 120 steps, 200 chains |" \
    "$md" || fail "report: no rungs table"
  [ "$(grep -c ' promoted |' "$md")" -ge 4 ] || fail "report: promotions"
else
  skip "the report: $PY has no matplotlib"
fi

all_passed
