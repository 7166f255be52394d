#!/bin/bash
# requeue.sh: what jobs/sweep.sbatch and jobs/array.sbatch run. Inside a SLURM batch job,
# runs COMMAND (an `ncsn sweep`, usually through srun or mpirun) so that the job survives
# its time limit:
#   exec "$NCSN_ROOT/jobs/requeue.sh" COMMAND [ARGS...]
# 1. Deadline: exports NCSN_DEADLINE = the job's end time (squeue %e) minus
#    NCSN_DEADLINE_MARGIN seconds (default 180: keep it at least the --signal lead time plus
#    60 s, since SLURM may signal up to a minute early). `ncsn sweep` then starts no run that
#    its measured speed says would end after that; it defers them and exits 3. Unset when
#    the job has no time limit.
# 2. Signals: SIGUSR1 (sbatch --signal=B:USR1@SECONDS, or scancel --batch --signal=USR1) and
#    SIGTERM (the time limit itself) to this batch shell are passed to COMMAND as SIGUSR1;
#    srun and mpirun forward it to every rank. ncsn stops every run at its next training
#    step or sampling level, saves each run's state to DIR/checkpoints/<id>.h5, gives the
#    runs back, rewrites the summary and exits 3.
# 3. Requeue: when COMMAND exits 3 (or fails after a signal), `scontrol requeue` puts the
#    job back in the queue: this job only, and inside an array this task only
#    (${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}; the array's first task has SLURM_JOB_ID
#    equal to SLURM_ARRAY_JOB_ID, and requeueing that id would requeue every task) (SLURM_RESTART_COUNT counts the restarts); the next start runs
#    the same command, which continues the sweep: finished runs are kept, interrupted runs
#    resume from their checkpoints and give the same bits as uninterrupted ones (so a run
#    longer than the time limit finishes over several starts). A requeued job is held for
#    SLURM's requeue delay (2 minutes on Debian's defaults) before it may start.
#    NCSN_MAX_REQUEUES (default 50) stops a job that keeps coming back.
# Otherwise the job ends with COMMAND's status: 0 every run complete, 1 some run failed,
# 2 usage error. Lines prefixed "requeue.sh:" go to the job's output.
set -u
say() { echo "requeue.sh: $(date -u +%H:%M:%S) $*"; }
[ $# -gt 0 ] || { echo "usage: requeue.sh COMMAND [ARGS...]" >&2; exit 2; }
job=${SLURM_JOB_ID:-}
# what to requeue: an array task by its own name, never the array's id
if [ -n "${SLURM_ARRAY_TASK_ID:-}" ] && [ -n "${SLURM_ARRAY_JOB_ID:-}" ]; then
  target=${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}
else
  target=$job
fi
restarts=${SLURM_RESTART_COUNT:-0}

if [ -n "$job" ] && [ -z "${NCSN_DEADLINE:-}" ]; then
  end=$(squeue -h -j "$job" -o %e 2> /dev/null | head -1)
  case "$end" in
    '' | N/A | NONE | Unknown | UNLIMITED) ;;
    *)
      if t=$(date -d "$end" +%s 2> /dev/null); then
        export NCSN_DEADLINE=$((t - ${NCSN_DEADLINE_MARGIN:-180}))
        say "job $job ends $end; runs must end by $(date -d "@$NCSN_DEADLINE" '+%F %T')"
      fi
      ;;
  esac
fi

signalled=
nsig=0
child=
forward() {
  signalled=$1
  nsig=$((nsig + 1))
  say "got SIG$1: asking the sweep to stop (SIGUSR1 to $child)"
  [ -n "$child" ] && kill -USR1 "$child" 2> /dev/null
}
trap 'forward USR1' USR1
trap 'forward TERM' TERM

say "job ${job:-?} start $((restarts + 1)): $*"
"$@" &
child=$!
[ -n "$signalled" ] && kill -USR1 "$child" 2> /dev/null  # a signal came before it started
# wait returns early (status > 128) when a trapped signal arrives: then wait again, which
# returns the command's own status once it has ended
while :; do
  before=$nsig
  wait "$child"
  rc=$?
  [ "$rc" -gt 128 ] && [ "$nsig" -ne "$before" ] && continue
  break
done
say "command exited $rc"

if [ -n "$job" ] && { [ "$rc" -eq 3 ] || { [ -n "$signalled" ] && [ "$rc" -ne 0 ]; }; }; then
  if [ "$restarts" -ge "${NCSN_MAX_REQUEUES:-50}" ]; then
    say "not requeueing: $restarts restarts already (NCSN_MAX_REQUEUES)"
    exit "$rc"
  fi
  say "requeueing job $target (restart $((restarts + 1)))"
  if scontrol requeue "$target"; then
    exit 0
  fi
  say "scontrol requeue $target failed; the job ends here (run the same sbatch again to continue)"
fi
exit "$rc"
