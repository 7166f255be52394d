#!/usr/bin/env bash
# build_options.sh: the program builds without the tests' dependencies. With CUnit hidden
# from pkg-config (only libyaml's .pc file visible), configuring with -DBUILD_TESTING=OFF
# succeeds and defines no test, and configuring with the tests on fails naming cunit.
# Configure only (a few seconds): the build itself is what every other test exercises.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v cmake >/dev/null || skip_all "no cmake"
yaml_pc=$(pkg-config --variable=pcfiledir yaml-0.1 2>/dev/null)/yaml-0.1.pc
[ -f "$yaml_pc" ] || skip_all "no yaml-0.1.pc"
mkdir "$tmp/pc"
cp "$yaml_pc" "$tmp/pc/"
export PKG_CONFIG_LIBDIR=$tmp/pc PKG_CONFIG_PATH=

cmake -S "$SRC" -B "$tmp/off" -DBUILD_TESTING=OFF >"$tmp/off.log" 2>&1 ||
  fail "configure with BUILD_TESTING=OFF and no CUnit: $(tail -5 "$tmp/off.log")"
grep -q "test_model" "$tmp/off/Makefile" && fail "BUILD_TESTING=OFF still defines test programs"
[ -e "$tmp/off/CTestTestfile.cmake" ] && fail "BUILD_TESTING=OFF still registers tests"

if cmake -S "$SRC" -B "$tmp/on" >"$tmp/on.log" 2>&1; then
  fail "configure with the tests and no CUnit succeeded"
fi
grep -q "cunit" "$tmp/on.log" || fail "the failure does not name cunit: $(tail -5 "$tmp/on.log")"
all_passed
