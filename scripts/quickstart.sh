#!/usr/bin/env bash
# quickstart.sh: the README's first command. Installs what is missing, builds, and runs
# the notebook's experiment (sweeps/notebook.yaml) into results/notebook.h5.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
mkdir -p results
build/ncsn run sweeps/notebook.yaml -o results/notebook.h5
echo "quickstart: wrote results/notebook.h5"
