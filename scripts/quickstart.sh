#!/usr/bin/env bash
# quickstart.sh: the README's first command. Installs what is missing, builds, runs the
# notebook's experiment (sweeps/notebook.yaml -> results/notebook.h5), then the sweep
# around it over one MPI rank per core (sweeps/notebook-sweep.yaml ->
# results/notebook-sweep/), and writes the sweep's report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
mkdir -p results
build/ncsn run sweeps/notebook.yaml -o results/notebook.h5
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
ranks=${NCSN_RANKS:-$(nproc)}
mpirun -n "$ranks" build/ncsn sweep sweeps/notebook-sweep.yaml -o results/notebook-sweep
"${PYTHON:-/usr/bin/python3}" -m analysis report results/notebook-sweep
