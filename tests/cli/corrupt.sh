#!/usr/bin/env bash
# corrupt.sh: a run file that cannot be read is not a finished run. A finished sweep whose
# run file is then truncated, replaced by text, or replaced by an HDF5 file that is no run
# file: the same `ncsn sweep` again journals the run (event=corrupt, naming it and why),
# keeps the damaged file aside (runs/<id>.h5.corrupt, then .corrupt.1, ...), runs it again
# to a file whose datasets are bit-identical to the original's, leaves the other runs'
# files untouched, exits 0, and sweep.h5 reads every run complete.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
"$PY" -c "import h5py" 2> /dev/null || skip_all "no h5py for $PY"

cat > "$tmp/small.yaml" <<'YAML'
dataset: {n: 200}
train: {steps: [150, 300], batch: 64, lr: [0.001, 0.003], log_every: 50}
noise: {L: 8}
sample: {n: 300, T: 15, max_bad_fraction: 1} # quality is not what this tests
sweep: {repeats: 2}
YAML
d=$tmp/s
"$NCSN" sweep "$tmp/small.yaml" -q -o "$d" > /dev/null
v=c0002-r1
cp "$d/runs/$v.h5" "$tmp/original.h5"

# damage runs/$v.h5 with command $1..., rerun, check; $2: the name it must be kept under
damage_and_rerun() {
  local kept=$1; shift
  "$@"
  cp "$d/runs/$v.h5" "$tmp/damaged"
  stat -c '%n %i %Y' "$d/runs"/*.h5 | grep -v "/$v.h5 " > "$tmp/others"
  local before
  before=$(grep -c . "$d/journal.log")
  set +e
  "$NCSN" sweep "$tmp/small.yaml" -q -o "$d" > "$tmp/out" 2>&1; rc=$?
  set -e
  [ $rc -eq 0 ] || fail "$kept: rerun exit $rc: $(cat "$tmp/out")"
  tail -n +$((before + 1)) "$d/journal.log" > "$tmp/new"
  grep -q "event=corrupt id=$v moved_to=$kept reason=\"runs/$v.h5: " "$tmp/new" ||
    fail "$kept: journal lacks the corrupt run: $(cat "$tmp/new")"
  grep -q "event=requeued id=$v reason=corrupt_run_file" "$tmp/new" || fail "$kept: no requeue line"
  [ "$(grep -c 'event=corrupt' "$tmp/new")" -eq 1 ] || fail "$kept: more than one run called corrupt"
  [ "$(grep -c 'event=started' "$tmp/new")" -eq 1 ] || fail "$kept: more than the damaged run ran again"
  grep -q "event=started id=$v " "$tmp/new" || fail "$kept: $v was not run again"
  grep -q "event=sweep_ended done=8 failed=0 queued=0" "$tmp/new" || fail "$kept: $(tail -1 "$tmp/new")"
  cmp -s "$d/$kept" "$tmp/damaged" || fail "$kept: the damaged file was not kept as it was"
  while read -r name inode mtime; do
    [ "$(stat -c '%n %i %Y' "$name")" = "$name $inode $mtime" ] || fail "$kept: $name was rewritten"
  done < "$tmp/others"
  "$PY" - "$d" "$v" "$tmp/original.h5" <<'PY' || fail "$kept: the rerun differs, or sweep.h5 is not all complete"
import sys, h5py, h5same
d, v, original = sys.argv[1:]
h5same.same_run(original, f"{d}/runs/{v}.h5", v)
f = h5py.File(f"{d}/sweep.h5", "r")
st = [x.decode() for x in f["runs"]["status"]]
assert st == ["complete"] * 8, st
assert f.attrs["n_complete"] == 8, f.attrs["n_complete"]
assert f"run/{v}" in f
PY
}

damage_and_rerun "runs/$v.h5.corrupt" truncate -s 1000 "$d/runs/$v.h5"
damage_and_rerun "runs/$v.h5.corrupt.1" sh -c "echo 'not a run file' > '$d/runs/$v.h5'"
damage_and_rerun "runs/$v.h5.corrupt.2" "$PY" -c "import h5py; h5py.File('$d/runs/$v.h5', 'w').attrs['x'] = 1"
cmp -s "$d/runs/$v.h5.corrupt.1" <(echo 'not a run file') || fail "the first damaged file was overwritten"

# a sweep with nothing damaged moves nothing
before=$(grep -c . "$d/journal.log")
"$NCSN" sweep "$tmp/small.yaml" -q -o "$d" > /dev/null
tail -n +$((before + 1)) "$d/journal.log" | grep -q "event=corrupt\|event=started" &&
  fail "an undamaged sweep set something aside or ran again"
[ "$(ls "$d/runs" | grep -c corrupt)" -eq 3 ] || fail "damaged files: $(ls "$d/runs")"
all_passed
