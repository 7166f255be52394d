#!/usr/bin/env bash
# test-slurm.sh: the second test target, which .ci/run runs after scripts/test.sh: the job
# scripts in jobs/ on a real single-node SLURM that the test brings up on this machine and
# tears down (tests/slurm/test.sh: signal, requeue, deadline, job array, dependent report;
# results bit-identical to an uninterrupted sweep). Installs SLURM and munge when missing
# (scripts/install-deps.sh --slurm), builds build/, runs the test. Needs root. About 1-2
# minutes. The same test runs under ctest in a build configured with -DNCSN_SLURM_TESTS=ON
# (ctest -L slurm).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "test-slurm.sh: needs root (it starts munged, slurmctld and slurmd)" >&2
  exit 1
fi
scripts/install-deps.sh --slurm
scripts/build.sh
NCSN_BIN=$PWD/build/ncsn NCSN_SOURCE_DIR=$PWD PYTHON=${PYTHON:-/usr/bin/python3} \
  bash tests/slurm/test.sh
