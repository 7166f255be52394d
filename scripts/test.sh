#!/usr/bin/env bash
# test.sh: the README's test command. Builds and runs every test with ctest.
#   scripts/test.sh              build/ (Release), every test
#   scripts/test.sh --sanitize   build-asan/ (RelWithDebInfo, -DNCSN_SANITIZE=ON:
#                                AddressSanitizer, LeakSanitizer and UBSan), every test
# NCSN_TEST_LONG=1 also runs the long checks (full-size runs).
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=0
for arg in "$@"; do
  case $arg in
    --sanitize) sanitize=1 ;;
    -h | --help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test.sh: unknown option $arg (see scripts/test.sh --help)" >&2; exit 2 ;;
  esac
done

if [ "$sanitize" -eq 0 ]; then
  scripts/build.sh
  ctest --test-dir build --output-on-failure --timeout 600
  exit 0
fi

cmake -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNCSN_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
# Every finding fails its test: UBSan aborts (the build has -fno-sanitize-recover), ASan and
# LSan exit non-zero. fast_unwind_on_malloc=0 records whole allocation stacks, which the
# suppressions of Open MPI's leaks in tests/lsan.supp need; libgomp needs nothing.
export ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:strict_string_checks=1:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
ctest --test-dir build-asan --output-on-failure --timeout 1200
