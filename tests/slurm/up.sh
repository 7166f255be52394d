#!/usr/bin/env bash
# up.sh: brings up a single-node SLURM cluster on this machine, for tests: munged,
# slurmctld and slurmd started by hand (no systemd, no cgroups, no accounting database),
# everything else under one directory of the caller's.
#   tests/slurm/up.sh DIR        then: export SLURM_CONF=DIR/etc/slurm.conf
#   tests/slurm/down.sh DIR      cancels every job, stops what up.sh started
# Needs root and Debian's slurmctld, slurmd, slurm-client and munge packages
# (scripts/install-deps.sh --slurm); SLURM_LOCAL_INSTALL=1 installs them when missing.
# Knobs: SLURM_LOCAL_CTLD_PORT (default 16817), SLURM_LOCAL_SLURMD_PORT (16818),
# SLURM_LOCAL_NODE (default ncsn-node).
# What it does (docs/testing.md, "A SLURM cluster on one machine", says why): munged runs
# as the munge user (it refuses root's ownership of the key) with /run/munge made first; an
# existing munged is reused and left running. slurm.conf: SlurmctldHost=localhost, one node
# at 127.0.0.1 with the CPUs and 95 % of the memory `slurmd -C` reports, proctrack/linuxproc,
# task/none, EnforcePartLimits=ALL (impossible requests fail instead of pending forever),
# batch_sched_delay=0, MpiDefault=pmix, jobcomp/filetxt, MinJobAge=3600 (finished jobs stay
# visible to `scontrol show job`). Starting again on a running cluster does nothing; on a
# dead one (daemons gone) it restarts them with a fresh state. Zombie daemons count as dead.
set -euo pipefail
dir=${1:?usage: up.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
ctld_port=${SLURM_LOCAL_CTLD_PORT:-16817}
slurmd_port=${SLURM_LOCAL_SLURMD_PORT:-16818}
node=${SLURM_LOCAL_NODE:-ncsn-node}
conf=$dir/etc/slurm.conf
say() { echo "slurm-up: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (SlurmUser=root, munged started as the munge user)"

need=()
for cmd in slurmctld slurmd sbatch munged; do command -v "$cmd" > /dev/null || need+=("$cmd"); done
if [ ${#need[@]} -gt 0 ]; then
  if [ "${SLURM_LOCAL_INSTALL:-0}" = 1 ]; then
    say "installing slurmctld slurmd slurm-client munge"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      slurmctld slurmd slurm-client munge > "$dir/apt.log" 2>&1 ||
      { apt-get update -q > /dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install \
          -y -q --no-install-recommends slurmctld slurmd slurm-client munge > "$dir/apt.log" 2>&1; } ||
      die "apt-get install failed; see $dir/apt.log"
  else
    die "missing ${need[*]}: run scripts/install-deps.sh --slurm (or set SLURM_LOCAL_INSTALL=1)"
  fi
fi

# alive PID: the process exists and is not a zombie
alive() {
  local pid=$1 state
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2> /dev/null | cut -d' ' -f1) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
pid_of() { [ -r "$1" ] && tr -d ' \n' < "$1" || true; }
port_taken() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

if alive "$(pid_of "$dir/run/slurmctld.pid")" && alive "$(pid_of "$dir/run/slurmd.pid")"; then
  say "already running ($conf)"
  exit 0
fi
# half up: stop what is left, start afresh
for d in slurmd slurmctld; do
  pid=$(pid_of "$dir/run/$d.pid")
  if alive "$pid"; then kill -TERM "$pid" 2> /dev/null || true; fi
done
for _ in $(seq 100); do
  alive "$(pid_of "$dir/run/slurmd.pid")" || alive "$(pid_of "$dir/run/slurmctld.pid")" || break
  sleep 0.1
done
rm -rf "$dir/state" "$dir/spool" "$dir/run"
mkdir -p "$dir/etc" "$dir/state" "$dir/spool" "$dir/run" "$dir/log"

for p in "$ctld_port" "$slurmd_port"; do
  port_taken "$p" && die "port $p is taken (another SLURM?); set SLURM_LOCAL_CTLD_PORT / SLURM_LOCAL_SLURMD_PORT"
done

# munge: reuse a working one, else start ours as the munge user
if ! munge -n 2> /dev/null | unmunge > /dev/null 2>&1; then
  if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    install -d -o munge -g munge -m 0700 /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=128 count=1 status=none
    chown munge:munge /etc/munge/munge.key
    chmod 0600 /etc/munge/munge.key
  fi
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge 2> /dev/null || true
  runuser -u munge -- /usr/sbin/munged --force
  for _ in $(seq 100); do
    munge -n 2> /dev/null | unmunge > /dev/null 2>&1 && break
    sleep 0.05
  done
  munge -n | unmunge > /dev/null || die "munged did not start (see /var/log/munge/munged.log)"
  pid_of /run/munge/munged.pid > "$dir/munged.ours"
fi

# the node as slurmd sees it, under our name, with 95 % of its memory
hw=$(slurmd -C | head -1)
cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<< "$hw")
mem=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<< "$hw")
topo=$(grep -o 'Boards=[0-9]* SocketsPerBoard=[0-9]* CoresPerSocket=[0-9]* ThreadsPerCore=[0-9]*' <<< "$hw")
[ -n "$cpus" ] && [ -n "$mem" ] || die "cannot read slurmd -C: $hw"
cat > "$conf" << EOF
# written by tests/slurm/up.sh
ClusterName=ncsn-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
MpiDefault=pmix
EnforcePartLimits=ALL
ReturnToService=2
KillWait=10
MinJobAge=3600
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus $topo RealMemory=$((mem * 95 / 100)) State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$conf

# both daemons fork and exit 0 even when they fail at once: watch their PIDs
slurmctld
for _ in $(seq 100); do alive "$(pid_of "$dir/run/slurmctld.pid")" && break; sleep 0.05; done
alive "$(pid_of "$dir/run/slurmctld.pid")" || die "slurmctld did not start; see $dir/log/slurmctld.log"
slurmd -N "$node"
for _ in $(seq 100); do alive "$(pid_of "$dir/run/slurmd.pid")" && break; sleep 0.05; done
alive "$(pid_of "$dir/run/slurmd.pid")" || die "slurmd did not start; see $dir/log/slurmd.log"

state=
for _ in $(seq 300); do
  state=$(sinfo -h -n "$node" -o %t 2> /dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.1
done
[ "$state" = idle ] || die "node $node is '$state', not idle; see $dir/log/"
say "up: node $node, $cpus CPUs; export SLURM_CONF=$conf"
