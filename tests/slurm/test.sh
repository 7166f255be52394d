#!/usr/bin/env bash
# test.sh: jobs/*.sbatch on a real single-node SLURM brought up by the test itself
# (tests/slurm/up.sh: munged, slurmctld, slurmd; no systemd) and torn down at the end
# (tests/slurm/down.sh), leaving no process behind. Needs root and Debian's slurmctld,
# slurmd, slurm-client and munge (scripts/install-deps.sh --slurm). Jobs, all on one
# 4-run sweep whose uninterrupted result (computed here first, without SLURM) every
# directory must equal bit for bit:
#   A  jobs/sweep.sbatch, 2 ranks (srun --mpi=pmix): SIGUSR1 (scancel --batch) while both
#      ranks train; the job must checkpoint both runs, give them back, requeue itself and
#      complete, the runs resuming from their checkpoints
#   R  jobs/report.sbatch with --dependency=afterany:A: must start only after A's last end
#      (A requeues itself: a requeue is not an end)
#   E  jobs/sweep.sbatch on a 2-run sweep whose second run diverges: exit 1, FAILED
#   F  jobs/report.sbatch with --dependency=afterany:E: runs all the same, COMPLETED, and its
#      report and output list the diverged run with its reason
#   B  jobs/array.sbatch --array=0-1: task 0 signalled the same way; both shares complete
#      and the summary the last task leaves is complete
#   C  jobs/sweep.sbatch with NCSN_LAUNCHER=mpirun, 2 ranks, not signalled
#   D  jobs/sweep.sbatch, 1 rank, --time=1 and NCSN_DEADLINE_MARGIN=57: the job's end time
#      (squeue %e) leaves a few seconds per start, so runs are deferred, the job requeues
#      itself until the sweep is done (--signal=B:USR1@10: the script's 120 s lead would
#      exceed the 1-minute limit and warn at once)
# SLURM holds a requeued job for 2 minutes (BeginTime); the test releases it 2 s after the
# requeue with `scontrol update StartTime=now`. Takes about a minute on 2 cores.
# Knobs: NCSN_BIN, NCSN_SOURCE_DIR, PYTHON, NCSN_SLURM_TEST_DIR (keep the files there),
# NCSN_SLURM_TEST_TIMEOUT (seconds for the jobs, default 300).
set -euo pipefail
SRC=${NCSN_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
NCSN=${NCSN_BIN:-$SRC/build/ncsn}
case "$NCSN" in /*) ;; *) NCSN=$PWD/$NCSN ;; esac
PY=${PYTHON:-/usr/bin/python3}
[ -x "$NCSN" ] || { echo "FAIL: $NCSN is not built" >&2; exit 1; }
if [ -n "${NCSN_SLURM_TEST_DIR:-}" ]; then
  tmp=$NCSN_SLURM_TEST_DIR
  rm -rf "$tmp"
  mkdir -p "$tmp"
  keep=1
else
  tmp=$(mktemp -d /tmp/ncsn-slurm-test.XXXXXX)
  keep=0
fi
cluster=$tmp/cluster
SECONDS=0
say() { echo "slurm-test: ${SECONDS}s $*" >&2; }
dump() {
  echo "---- squeue / jobs" >&2
  squeue >&2 2> /dev/null || true
  for f in "$tmp"/out/*.out; do [ -e "$f" ] && { echo "---- $f" >&2; tail -20 "$f" >&2; }; done
  for d in a b c d; do
    [ -e "$tmp/$d/journal.log" ] && { echo "---- $d/journal.log" >&2; grep -v 'event=queued' "$tmp/$d/journal.log" | tail -30 >&2; }
  done
  echo "---- slurmctld.log" >&2
  tail -30 "$cluster/log/slurmctld.log" >&2 2> /dev/null || true
}
fail() {
  echo "FAIL: $*" >&2
  dump
  exit 1
}
teardown() {
  local rc=$?
  local munged
  munged=$(cat "$cluster/munged.ours" 2> /dev/null || true) # the munged up.sh started
  bash "$SRC/tests/slurm/down.sh" "$cluster" || true
  # nothing of this cluster may be left: daemons, job steps, ncsn ranks
  local left=
  for e in /proc/[0-9]*/environ; do
    p=${e#/proc/}
    p=${p%/environ}
    [ "$p" = $$ ] && continue
    { tr '\0' '\n' < "$e"; } 2> /dev/null | grep -q "^SLURM_CONF=$cluster/" || continue
    { tr '\0' '\n' < "$e"; } 2> /dev/null | grep -q '^SLURM_JOB_ID=' || continue
    s=$(sed 's/^.*) //' "/proc/$p/stat" 2> /dev/null | cut -d' ' -f1)
    [ -n "$s" ] && [ "$s" != Z ] && left="$left $p($(cat "/proc/$p/comm" 2> /dev/null))"
  done
  for d in slurmctld slurmd munged; do
    p=$(cat "$cluster/run/$d.pid" 2> /dev/null || true)
    [ $d = munged ] && p=$munged
    if [ -n "$p" ] && [ -r "/proc/$p/stat" ]; then
      s=$(sed 's/^.*) //' "/proc/$p/stat" 2> /dev/null | cut -d' ' -f1)
      [ -n "$s" ] && [ "$s" != Z ] && left="$left $p($d)"
    fi
  done
  if [ -n "$left" ]; then
    echo "FAIL: processes left after the tear-down:$left" >&2
    rc=1
  fi
  [ "$keep" = 1 ] || rm -rf "$tmp"
  exit $rc
}
trap teardown EXIT

if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMP_NUM_THREADS=1
bash "$SRC/tests/slurm/up.sh" "$cluster" || { echo "FAIL: the cluster did not come up" >&2; exit 1; }
export SLURM_CONF=$cluster/etc/slurm.conf
say "cluster up"

# Four runs of about 1.5 s each at one thread: a signal sent as soon as runs are in
# flight reaches them in training, and job D's two seconds before its deadline hold one
# run but not two (with 0.5 s runs all four fitted and D never deferred).
cat > "$tmp/sweep.yaml" << 'YAML'
dataset: {n: 200}
train: {steps: 60000, batch: 64, lr: [0.001, 0.002, 0.003, 0.004], log_every: 500}
noise: {L: 8}
sample: {n: 300, T: 15}
YAML
"$NCSN" sweep "$tmp/sweep.yaml" -q -o "$tmp/ref" > /dev/null
say "reference sweep done"
cat > "$tmp/failing.yaml" << 'YAML'
dataset: {n: 200}
train: {steps: 100, batch: 64, lr: [0.001, 1.0e+30]}
noise: {L: 5}
sample: {n: 100, T: 5}
YAML

mkdir -p "$tmp/out"
export NCSN_BIN=$NCSN NCSN_ROOT=$SRC
cd "$SRC" # submitted from the repository root, as users do
sb() { sbatch --parsable --output="$tmp/out/%x-%j.out" "$@"; }
A=$(sb --job-name=A --ntasks-per-node=2 --time=5 jobs/sweep.sbatch "$tmp/sweep.yaml" "$tmp/a")
R=$(sb --job-name=R --dependency=afterany:"$A" jobs/report.sbatch "$tmp/a")
E=$(sb --job-name=E --ntasks-per-node=1 --time=5 jobs/sweep.sbatch "$tmp/failing.yaml" "$tmp/e")
F=$(sb --job-name=F --dependency=afterany:"$E" jobs/report.sbatch "$tmp/e")
B=$(sb --job-name=B --array=0-1 --time=5 jobs/array.sbatch "$tmp/sweep.yaml" "$tmp/b")
C=$(NCSN_LAUNCHER=mpirun sb --job-name=C --ntasks-per-node=2 --time=5 jobs/sweep.sbatch \
  "$tmp/sweep.yaml" "$tmp/c")
D=$(NCSN_DEADLINE_MARGIN=57 sb --job-name=D --ntasks-per-node=1 --time=1 --signal=B:USR1@10 \
  jobs/sweep.sbatch "$tmp/sweep.yaml" "$tmp/d")
say "submitted A=$A R=$R B=$B C=$C D=$D E=$E F=$F"

# in_flight DIR [SHARD_IDS...]: runs claimed and not finished
in_flight() {
  local c id
  for c in "$1"/claims/*; do
    [ -e "$c" ] || continue
    id=${c##*/}
    [ -e "$1/runs/$id.h5" ] || [ -e "$1/runs/$id.failed" ] || echo "$id"
  done
}
restarts() { scontrol show job -o "$1" 2> /dev/null | grep -o 'Restarts=[0-9]*' | head -1 | cut -d= -f2; }
state() { scontrol show job -o "$1" 2> /dev/null | grep -o 'JobState=[A-Z_]*' | head -1 | cut -d= -f2; }

signalled_a=0 signalled_b=0
deadline=$((SECONDS + ${NCSN_SLURM_TEST_TIMEOUT:-300}))
declare -A held # job id -> when first seen held after a requeue
while :; do
  # Release requeued jobs from SLURM's 2-minute hold, but 2 s after the requeue at the
  # earliest: a job started again within the second of its requeue is killed at launch
  # ("Job credential revoked": the node revoked the credentials of that job up to then).
  while read -r id reason; do
    [ "$reason" = BeginTime ] || continue
    now=${EPOCHREALTIME/./} # microseconds
    [ -n "${held[$id]:-}" ] || held[$id]=$now
    if [ $((now - held[$id])) -ge 2000000 ]; then
      scontrol update jobid="$id" StartTime=now 2> /dev/null || true
      unset "held[$id]"
    fi
  done < <(squeue -h -t PD -o '%i %r' 2> /dev/null)
  if [ $signalled_a = 0 ] && [ "$(state "$A")" = RUNNING ] &&
     [ "$(in_flight "$tmp/a" | wc -l)" -ge 2 ]; then
    scancel --batch --signal=USR1 "$A"
    signalled_a=1
    say "signalled A while $(in_flight "$tmp/a" | tr '\n' ' ')were in flight"
  fi
  if [ $signalled_b = 0 ] && [ "$(state "${B}_0")" = RUNNING ] &&
     in_flight "$tmp/b" | grep -qE '^c000[02]$'; then
    scancel --batch --signal=USR1 "${B}_0"
    signalled_b=1
    say "signalled B_0 while $(in_flight "$tmp/b" | tr '\n' ' ')were in flight"
  fi
  [ -z "$(squeue -h 2> /dev/null)" ] && break
  [ $SECONDS -lt $deadline ] || fail "jobs not done after ${NCSN_SLURM_TEST_TIMEOUT:-300} s"
  sleep 0.05
done
say "every job has ended"
[ $signalled_a = 1 ] || fail "A was never seen with two runs in flight"
[ $signalled_b = 1 ] || fail "B_0 was never seen with a run in flight"

for j in "$A" "$R" "${B}_0" "${B}_1" "$C" "$D" "$F"; do
  line=$(scontrol show job -o "$j")
  grep -q 'JobState=COMPLETED' <<< "$line" || fail "job $j: $(grep -o 'JobState=[^ ]*' <<< "$line") $(grep -o 'ExitCode=[^ ]*' <<< "$line")"
  grep -q 'ExitCode=0:0' <<< "$line" || fail "job $j: $(grep -o 'ExitCode=[^ ]*' <<< "$line")"
done
[ "$(restarts "$A")" -ge 1 ] || fail "A did not requeue itself"
[ "$(restarts "${B}_0")" -ge 1 ] || fail "B_0 did not requeue itself"
[ "$(restarts "$D")" -ge 1 ] || fail "D did not requeue itself"
[ "$(restarts "$C")" -eq 0 ] || fail "C requeued itself"

# A: both runs in flight given back, then continued
[ "$(grep -c 'event=interrupted .*reason=signal signal=USR1' "$tmp/a/journal.log")" -eq 2 ] ||
  fail "A: expected two interrupted runs"
grep -q "event=sweep_started ranks=2 .*slurm_job=$A restart=0 deadline=" "$tmp/a/journal.log" ||
  fail "A: first start not journalled with its job and deadline"
grep -q "event=sweep_started ranks=2 .*slurm_job=$A restart=1" "$tmp/a/journal.log" ||
  fail "A: the requeued start is not in the journal"
grep -q 'event=sweep_ended .*stopped=signal' "$tmp/a/journal.log" || fail "A: sweep_ended stopped=signal"
# A and B: every interrupted run left a checkpoint and resumed from it part-way
for d in a b; do
  for id in $(grep -o 'event=interrupted id=[^ ]*' "$tmp/$d/journal.log" | cut -d= -f3); do
    grep -q "event=interrupted id=$id .*checkpoint=checkpoints/$id.h5" "$tmp/$d/journal.log" ||
      fail "$d: $id was interrupted without a checkpoint"
    grep -q "event=started id=$id .*resume=checkpoints/$id.h5" "$tmp/$d/journal.log" ||
      fail "$d: $id did not resume from its checkpoint"
    grep -Eq "^resuming from .*checkpoints/$id.h5: (training step [1-9]|sampling level)" \
      "$tmp/$d/logs/$id.log" || fail "$d: $id resumed from its start: $(grep resuming "$tmp/$d/logs/$id.log")"
  done
  [ -z "$(ls "$tmp/$d/checkpoints")" ] || fail "$d: checkpoints left: $(ls "$tmp/$d/checkpoints")"
done
# R: after A's last end, and it made the report
a_end=$(scontrol show job -o "$A" | grep -o 'EndTime=[^ ]*' | cut -d= -f2)
r_start=$(scontrol show job -o "$R" | grep -o 'StartTime=[^ ]*' | cut -d= -f2)
[ "$(date -d "$r_start" +%s)" -ge "$(date -d "$a_end" +%s)" ] ||
  fail "R started ($r_start) before A ended ($a_end)"
[ -s "$tmp/a/report/index.html" ] || fail "R: no $tmp/a/report/index.html"
# E failed (a diverged run), F reported it all the same
line=$(scontrol show job -o "$E")
grep -q 'JobState=FAILED' <<< "$line" && grep -q 'ExitCode=1:0' <<< "$line" ||
  fail "E: expected FAILED with exit 1: $(grep -o 'JobState=[^ ]*\|ExitCode=[^ ]*' <<< "$line" | tr '\n' ' ')"
e_end=$(grep -o 'EndTime=[^ ]*' <<< "$line" | cut -d= -f2)
f_start=$(scontrol show job -o "$F" | grep -o 'StartTime=[^ ]*' | cut -d= -f2)
[ "$(date -d "$f_start" +%s)" -ge "$(date -d "$e_end" +%s)" ] || fail "F started before E ended"
div=$(basename "$(ls "$tmp"/e/runs/*.failed)" .failed)
grep -q "<h2>Failures</h2>" "$tmp/e/report/index.html" || fail "F: the report has no Failures section"
grep -q "$div.*diverged" "$tmp/e/report/index.html" || fail "F: the report does not list $div as diverged"
grep -q "did not complete" "$tmp"/out/F-"$F".out && grep -q "$div diverged" "$tmp"/out/F-"$F".out ||
  fail "F: its output does not list the failed run: $(cat "$tmp"/out/F-"$F".out)"
# B: task 0 interrupted and continued; each share ran only its own runs
grep -Eq 'event=interrupted id=c000[02] reason=signal' "$tmp/b/journal.log" || fail "B: no interrupted run in share 0"
grep -Eq 'event=interrupted id=c000[13]' "$tmp/b/journal.log" && fail "B: share 1 was interrupted"
# D: deferred at the deadline, at least two starts
grep -q 'event=deferred .*reason=deadline' "$tmp/d/journal.log" || fail "D: nothing deferred"
[ "$(grep -c "event=sweep_started .*slurm_job=$D" "$tmp/d/journal.log")" -ge 2 ] || fail "D: one start only"
grep -q 'event=sweep_ended .*stopped=deadline' "$tmp/d/journal.log" || fail "D: sweep_ended stopped=deadline"
grep -q 'event=interrupted' "$tmp/d/journal.log" && fail "D: a run was interrupted"

# every directory equals the uninterrupted reference, and its summary is complete
PYTHONPATH="$SRC/tests" "$PY" - "$tmp" a b c d << 'PY' || fail "a sweep differs from the uninterrupted one"
import sys, h5py, h5same
tmp = sys.argv[1]
for d in sys.argv[2:]:
    table = h5same.same_sweep(f"{tmp}/ref", f"{tmp}/{d}")
    n_complete = h5py.File(f"{tmp}/{d}/sweep.h5", "r").attrs["n_complete"]
    assert n_complete == len(table) == 4, (d, n_complete, len(table))
PY
say "A, B, C, D equal the uninterrupted sweep bit for bit"
echo "slurm test: all checks passed (${SECONDS} s)"
