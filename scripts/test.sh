#!/usr/bin/env bash
# test.sh: the README's test command. Builds and runs every test with ctest.
# NCSN_TEST_LONG=1 also runs the long checks (full-size runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 600
