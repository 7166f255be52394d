#!/usr/bin/env bash
# fuzz.sh: fuzzes the configuration loader (tests/fuzz/fuzz_config.c) with libFuzzer for a
# bounded time. Builds build-fuzz/ with clang (-DNCSN_FUZZ=ON: AddressSanitizer and UBSan
# on), starts from the seed corpus tests/fuzz/corpus plus the regressions, and keeps what
# it learns in build-fuzz/corpus (tests/fuzz/config.dict: keys and YAML tokens to try).
# Optional: not part of scripts/test.sh or CI.
#   scripts/fuzz.sh [SECONDS] [-- LIBFUZZER_OPTIONS...]     default 60 s, one process
# A crash leaves build-fuzz/artifacts/crash-*: copy it into tests/fuzz/regressions/ (with
# a name that says what it does) once fixed, and ctest replays it in every build.
# Needs clang and libclang-rt-14-dev (installed here when missing; Debian bookworm).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
if [ $# -gt 0 ] && [ "$1" != "--" ]; then seconds=$1; shift; fi
[ "${1:-}" = "--" ] && shift

if ! command -v clang >/dev/null || ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null |
    grep -q "install ok installed"; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "fuzz: installing clang libclang-rt-14-dev"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
    clang libclang-rt-14-dev
fi

# OpenMP off: the loader does not use it, and clang's libomp need not be installed.
cmake -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DNCSN_FUZZ=ON -DNCSN_OPENMP=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_config

mkdir -p build-fuzz/corpus build-fuzz/artifacts
# detect_leaks stays on: a leak on an error path is a finding too.
build-fuzz/fuzz_config build-fuzz/corpus tests/fuzz/corpus tests/fuzz/regressions \
  -max_total_time="$seconds" -dict=tests/fuzz/config.dict -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix=build-fuzz/artifacts/ \
  -print_final_stats=1 "$@"
echo "fuzz: ${seconds}s without a crash; corpus in build-fuzz/corpus"
