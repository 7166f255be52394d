#!/usr/bin/env bash
# down.sh: tears down the cluster tests/slurm/up.sh DIR brought up, leaving no process:
# cancels every job and waits for them to go, stops slurmd and slurmctld by the PIDs in
# their pid files (TERM, then KILL after 10 s), kills any process left from a job of this
# cluster (slurmstepd, job steps: found by SLURM_CONF=DIR/etc/slurm.conf together with
# SLURM_JOB_ID in their environment), and stops munged if up.sh started it. Safe to run
# twice, or on a cluster that is half up. Prints what it had to kill.
#   tests/slurm/down.sh DIR
set -uo pipefail
dir=${1:?usage: down.sh DIR}
[ -d "$dir" ] || exit 0
dir=$(cd "$dir" && pwd)
conf=$dir/etc/slurm.conf
export SLURM_CONF=$conf
say() { echo "slurm-down: $*" >&2; }

alive() {
  local pid=$1 state
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2> /dev/null | cut -d' ' -f1) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
pid_of() { [ -r "$1" ] && tr -d ' \n' < "$1" || true; }
# stop PID NAME: TERM, up to 10 s, then KILL
stop() {
  local pid=$1 name=$2
  alive "$pid" || return 0
  kill -TERM "$pid" 2> /dev/null || return 0
  for _ in $(seq 100); do alive "$pid" || return 0; sleep 0.1; done
  say "$name ($pid) ignored SIGTERM for 10 s: killing it"
  kill -KILL "$pid" 2> /dev/null || true
}
# processes of this cluster's jobs
job_pids() {
  local e pid
  for e in /proc/[0-9]*/environ; do
    pid=${e#/proc/}
    pid=${pid%/environ}
    [ "$pid" = $$ ] && continue
    { tr '\0' '\n' < "$e"; } 2> /dev/null | grep -qx "SLURM_CONF=$conf" || continue
    if { tr '\0' '\n' < "$e"; } 2> /dev/null | grep -q '^SLURM_JOB_ID=' ||
       [ "$(cat "/proc/$pid/comm" 2> /dev/null)" = slurmstepd ]; then
      alive "$pid" && echo "$pid"
    fi
  done
}

ctld=$(pid_of "$dir/run/slurmctld.pid")
slurmd=$(pid_of "$dir/run/slurmd.pid")
if alive "$ctld" && [ -r "$conf" ]; then
  jobs=$(squeue -h -o %A 2> /dev/null | sort -u)
  if [ -n "$jobs" ]; then
    # shellcheck disable=SC2086
    scancel $jobs 2> /dev/null || true
    for _ in $(seq 150); do
      [ -z "$(squeue -h -o %A 2> /dev/null)" ] && break
      sleep 0.1
    done
  fi
fi
stop "$slurmd" slurmd
stop "$ctld" slurmctld
left=$(job_pids)
if [ -n "$left" ]; then
  say "killing what jobs left: $(for p in $left; do printf '%s(%s) ' "$p" "$(cat /proc/$p/comm 2> /dev/null)"; done)"
  # shellcheck disable=SC2086
  kill -KILL $left 2> /dev/null || true
fi
munged=$(cat "$dir/munged.ours" 2> /dev/null || true)
if [ -n "$munged" ] && [ "$(cat "/proc/$munged/comm" 2> /dev/null)" = munged ]; then
  stop "$munged" munged
fi
rm -f "$dir/munged.ours"
# wait until the daemons are gone (zombies count as gone)
for _ in $(seq 50); do
  alive "$slurmd" || alive "$ctld" || [ -n "$(job_pids)" ] || break
  sleep 0.1
done
exit 0
