#!/usr/bin/env bash
# requeue.sh: jobs/requeue.sh without SLURM. Stand-in `scontrol` and `squeue` first on PATH
# record their arguments; the command exits 3 (what `ncsn sweep` does when interrupted).
# An array task must requeue itself (ARRAYJOB_TASK), never the array's id, which in SLURM
# is also the first task's SLURM_JOB_ID and would requeue every task; a plain job requeues
# SLURM_JOB_ID; exit 0 or no SLURM job requeues nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
script=$SRC/jobs/requeue.sh
[ -f "$script" ] || fail "no $script"

mkdir -p "$tmp/bin"
for tool in scontrol squeue; do
  printf '#!/bin/sh\necho "$*" >> "%s/%s.calls"\n' "$tmp" "$tool" > "$tmp/bin/$tool"
  chmod +x "$tmp/bin/$tool"
done
export PATH="$tmp/bin:$PATH"
unset SLURM_JOB_ID SLURM_ARRAY_JOB_ID SLURM_ARRAY_TASK_ID SLURM_RESTART_COUNT NCSN_DEADLINE

# run requeue.sh with the given environment around a command that exits RC; prints its status
job() {
  local rc=$1; shift
  rm -f "$tmp/scontrol.calls"
  set +e
  env "$@" bash "$script" sh -c "exit $rc" > "$tmp/out" 2>&1
  echo $?
  set -e
}
calls() { cat "$tmp/scontrol.calls" 2>/dev/null || true; }

# an array task: the array's first task has SLURM_JOB_ID == SLURM_ARRAY_JOB_ID
rc=$(job 3 SLURM_JOB_ID=100 SLURM_ARRAY_JOB_ID=100 SLURM_ARRAY_TASK_ID=0)
[ "$rc" -eq 0 ] || fail "array task 0: exit $rc after a requeue, expected 0"
[ "$(calls)" = "requeue 100_0" ] || fail "array task 0 requeued '$(calls)', expected 'requeue 100_0'"
grep -q "requeueing job 100_0" "$tmp/out" || fail "array task 0: output $(cat "$tmp/out")"
# another task of the same array: its own SLURM_JOB_ID differs, the target names the task
rc=$(job 3 SLURM_JOB_ID=103 SLURM_ARRAY_JOB_ID=100 SLURM_ARRAY_TASK_ID=3)
[ "$(calls)" = "requeue 100_3" ] || fail "array task 3 requeued '$(calls)', expected 'requeue 100_3'"

# a plain job requeues its own id
rc=$(job 3 SLURM_JOB_ID=200)
[ "$rc" -eq 0 ] || fail "plain job: exit $rc after a requeue, expected 0"
[ "$(calls)" = "requeue 200" ] || fail "plain job requeued '$(calls)', expected 'requeue 200'"

# nothing to requeue: the command finished, or no SLURM job
rc=$(job 0 SLURM_JOB_ID=200)
[ "$rc" -eq 0 ] && [ -z "$(calls)" ] || fail "exit 0: status $rc, scontrol '$(calls)'"
rc=$(job 1 SLURM_JOB_ID=100 SLURM_ARRAY_JOB_ID=100 SLURM_ARRAY_TASK_ID=0)
[ "$rc" -eq 1 ] && [ -z "$(calls)" ] || fail "exit 1: status $rc, scontrol '$(calls)'"
rc=$(job 3)
[ "$rc" -eq 3 ] && [ -z "$(calls)" ] || fail "outside SLURM: status $rc, scontrol '$(calls)'"
# NCSN_MAX_REQUEUES stops a task that keeps coming back
rc=$(job 3 SLURM_JOB_ID=103 SLURM_ARRAY_JOB_ID=100 SLURM_ARRAY_TASK_ID=3 SLURM_RESTART_COUNT=2 NCSN_MAX_REQUEUES=2)
[ "$rc" -eq 3 ] && [ -z "$(calls)" ] || fail "past NCSN_MAX_REQUEUES: status $rc, scontrol '$(calls)'"
all_passed
