#!/usr/bin/env bash
# quickstart.sh: the README's first command. Installs what is missing, builds, runs the
# notebook's experiment (sweeps/notebook.yaml -> results/notebook.h5), the 8x8 digits
# (scripts/make-digits.sh, sweeps/digits.yaml -> results/digits.h5), then the sweep
# around the notebook's experiment over one MPI rank per core (sweeps/notebook-sweep.yaml ->
# results/notebook-sweep/; about three and a half minutes on two cores in all), and writes
# the sweep's report.
# Its last line is the report's path (results/notebook-sweep/report/index.html).
# NCSN_RANKS overrides the number of ranks, PYTHON the Python that runs the analysis.
# A sweep in which some runs failed (a configuration whose samples turn non-finite, say)
# still gets its report, which lists them. Run it again to continue an interrupted sweep.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
mkdir -p results
build/ncsn run sweeps/notebook.yaml -o results/notebook.h5
# real data: the 8x8 digits (D = 64), every technique auto
scripts/make-digits.sh data/digits.h5
build/ncsn run sweeps/digits.yaml -o results/digits.h5
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
ranks=${NCSN_RANKS:-$(nproc)}
rc=0
mpirun -n "$ranks" build/ncsn sweep sweeps/notebook-sweep.yaml -o results/notebook-sweep || rc=$?
case $rc in
  0) ;;
  1) echo "quickstart: some runs of the sweep failed (results/notebook-sweep/journal.log);" \
          "the report lists them" >&2 ;;
  3) echo "quickstart: the sweep stopped early with runs left; run scripts/quickstart.sh" \
          "again to continue it" >&2
     exit 3 ;;
  *) echo "quickstart: the sweep failed (exit $rc; see above)" >&2
     exit "$rc" ;;
esac
"${PYTHON:-/usr/bin/python3}" -m analysis report results/notebook-sweep
