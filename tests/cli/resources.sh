#!/usr/bin/env bash
# resources.sh: memory and time known before the work (docs/cluster.md, Sizing a job).
#   - every oversized key (sample.n, noise.L, dataset.n, model.hidden, dataset.dim; sizes
#     beyond 64 bits) refused by `ncsn run` in well under a second: exit 2, the key and the
#     bytes named, nothing written; the same for `ncsn sample` and for a sweep list holding
#     one huge run (the run named, its directory not created)
#   - the dry run: its totals are the sums of its per-run lines (text and --json), and it
#     says what to ask SLURM for
#   - the deadline planning takes a smaller run the model says fits before a larger one it
#     says does not, and still runs the first when none fits
#   - the estimates against the peak RSS (/usr/bin/time) of two small real runs: within 25%
# NCSN_MEMORY_LIMIT makes the limit the same on every machine.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$tmp"
export OMP_NUM_THREADS=1 NCSN_MEMORY_LIMIT=4G

# refused NAME KEY CMD...: exit 2 within a second, stderr names KEY and the bytes (or the
# overflow), and nothing appeared in out/
refused() {
  local name=$1 key=$2 rc=0
  shift 2
  mkdir -p out
  local t0 t1
  t0=$(date +%s%N)
  "$@" > /dev/null 2> err || rc=$?
  t1=$(date +%s%N)
  local ms=$(((t1 - t0) / 1000000))
  [ "$rc" -eq 2 ] || fail "$name: exit $rc, expected 2: $(cat err)"
  grep -q -- "$key" err || fail "$name: the message does not name $key: $(cat err)"
  grep -Eq "\([0-9]+ bytes\) at its peak|overflows 64-bit" err || fail "$name: no bytes: $(cat err)"
  [ "$ms" -lt 1000 ] || fail "$name: took $ms ms"
  [ -z "$(ls -A out)" ] || fail "$name: wrote $(ls -A out)"
  echo "$name: refused in $ms ms: $(head -c 300 err)"
}

refused "run sample.n" "--set sample.n:" "$NCSN" run -s sample.n=2000000000 -o out/r.h5
refused "run noise.L" "--set noise.L:" "$NCSN" run -s noise.L=1000000000 -o out/r.h5
refused "run dataset.n" "--set dataset.n:" "$NCSN" run -s dataset.n=2000000000 -o out/r.h5
refused "run train.snapshot_every" "--set train.snapshot_every:" \
  "$NCSN" run -s train.snapshot_every=1 -s train.steps=100000000 -o out/r.h5
NCSN_MEMORY_LIMIT=64M refused "run model.hidden" "--set model.hidden:" \
  "$NCSN" run -s model.hidden=65536 -o out/r.h5
NCSN_MEMORY_LIMIT=256M refused "run dataset.dim" "--set dataset.dim:" \
  "$NCSN" run -s dataset.name=manifold -s dataset.dim=4096 -o out/r.h5
refused "run beyond 64 bits" "train.steps = 9000000000000000000" \
  "$NCSN" run -s train.steps=9000000000000000000 -s train.log_every=1 -o out/r.h5
grep -q "it cannot run anywhere" err || fail "overflow: $(cat err)"
# the limit's source is named
grep -q "(NCSN_MEMORY_LIMIT)" <("$NCSN" run -s sample.n=2000000000 -o out/r.h5 2>&1) ||
  fail "the limit's source"
# a bad override is a usage error too
rc=0
NCSN_MEMORY_LIMIT=lots "$NCSN" run -o out/r.h5 2> err || rc=$?
[ "$rc" -eq 2 ] && grep -q "NCSN_MEMORY_LIMIT=lots" err || fail "bad override: $rc $(cat err)"
[ -z "$(ls -A out)" ] || fail "bad override wrote $(ls -A out)"

# ncsn sample: a trained run file, resampled with too many chains
"$NCSN" run -s train.steps=20 -s sample.n=10 -s sample.T=1 -s noise.L=3 -o tiny.h5 -q
refused "sample sample.n" "--set sample.n:" "$NCSN" sample tiny.h5 -s sample.n=2000000000 -o out/s.h5

# a sweep list that holds one huge run: refused before the directory exists, naming the run
refused "sweep sample.n" "run c0001 needs" "$NCSN" sweep -s "sample.n=[100,2000000000]" -o out/sw
grep -q -- "--set sample.n:" err || fail "sweep: the key: $(cat err)"
NCSN_MEMORY_LIMIT=64M refused "sweep model.hidden" "model.hidden" \
  "$NCSN" sweep -s "model.hidden=[128,65536]" -o out/sw
# two ranks on one node: twice the largest run must fit
if command -v mpiexec > /dev/null; then
  mpi_setup
  one=$("$NCSN" sweep -s train.steps=10 --dry-run --json | "$PY" -c \
    'import json, sys; print(json.load(sys.stdin)["total"]["peak_bytes"])')
  rc=0
  NCSN_MEMORY_LIMIT=$((one * 3 / 2)) mpiexec -n 2 "$NCSN" sweep -s "train.lr=[0.1,0.2]" \
    -s train.steps=10 -o out/mp > /dev/null 2> err || rc=$?
  [ "$rc" -eq 2 ] && grep -q "for 2 such runs at once" err || fail "two ranks: $rc $(cat err)"
  [ -z "$(ls -A out)" ] || fail "two ranks wrote $(ls -A out)"
else
  skip "two ranks on a node: no mpiexec"
fi
# a dry run sizes a job for elsewhere: the huge run is listed, not refused; an overflow is
"$NCSN" sweep -s "sample.n=[100,2000000000]" --dry-run > list || fail "dry run refused"
grep -q "^c0001 " list || fail "dry run lists c0001"
rc=0
"$NCSN" sweep -s "train.steps=[10,9000000000000000000]" -s train.log_every=1 --dry-run \
  > /dev/null 2> err || rc=$?
[ "$rc" -eq 2 ] && grep -q "the memory of run c0001 overflows" err ||
  fail "dry run overflow: $rc $(cat err)"

# ---- the dry run's totals ---------------------------------------------------------------
cat > sw.yaml <<'YAML'
dataset: {n: 500}
model: {hidden: [64, 128]}
train: {steps: [1000, 3000], batch: 64}
noise: {L: 10}
sample: {n: [500, 2000], T: 20}
sweep: {repeats: 2}
YAML
"$NCSN" sweep sw.yaml --dry-run --ranks 3 --threads 2 > list
"$NCSN" sweep sw.yaml --dry-run --ranks 3 --threads 2 --json > list.json
"$PY" - list list.json <<'PY'
import json, re, sys
text = open(sys.argv[1]).read().splitlines()
d = json.load(open(sys.argv[2]))
runs = d["per_run"]
assert d["runs"] == len(runs) == 16, (d["runs"], len(runs))
t = d["total"]
core = sum(r["core_seconds"] for r in runs)
assert abs(core - t["core_seconds"]) <= 1e-9 * core, (core, t)
assert abs(sum(r["seconds"] for r in runs) - t["seconds"]) <= 1e-9 * t["seconds"]
assert max(r["peak_bytes"] for r in runs) == t["peak_bytes"]
for r in runs:  # two threads: core-seconds are twice the seconds
    assert abs(r["core_seconds"] - 2 * r["seconds"]) <= 1e-12 * r["core_seconds"], r
    assert r["peak_bytes"] == max(r["phase_bytes"].values()), r
# the text: its per-run column sums to its total line
header = next(i for i, l in enumerate(text) if l.startswith("id "))
cols = text[header].split()
rows = [l.split() for l in text[header + 1:] if re.match(r"c\d{4}", l)]
assert len(rows) == 16, len(rows)
col = cols.index("core_s")
total_line = next(l for l in text if l.startswith("total:"))
total = float(re.search(r"([0-9.]+) core-seconds", total_line).group(1))
s = sum(float(r[col]) for r in rows)
assert abs(s - total) <= 0.05 + 0.0005 * len(rows), (s, total)
assert abs(total - t["core_seconds"]) <= 0.05, (total, t)
sb = next(l for l in text if l.startswith("sbatch "))
assert "--ntasks=3 --cpus-per-task=2" in sb and re.search(r"--mem=\d+M --time=\d\d:\d\d:\d\d", sb), sb
assert d["slurm"]["ntasks"] == 3 and d["slurm"]["cpus_per_task"] == 2, d["slurm"]
# --mem holds every rank's largest run; --time is more than the ranks' share of the work
assert d["slurm"]["mem_bytes"] >= 3 * t["peak_bytes"], d["slurm"]
assert d["slurm"]["time_seconds"] >= t["seconds"] / 3, d["slurm"]
print("dry run: %d runs, %.2f core-seconds = the sum of the lines; %s" % (len(runs), total, sb))
PY

# ---- the deadline planning uses the model -------------------------------------------------
# A calibration that makes training look 10^4 times slower than it is: c0000 (1000 steps)
# is estimated at about 330 s, c0001 (10 steps) at about 3 s.
printf 'threads=1\ntrain_small_gflops_1=0.001\ntrain_small_gflops_threads=0.001\n' > slow.cal
dl() { "$PY" -c "import time; print(f'{time.time() + $1:.3f}')"; }
order() { grep -o 'event=started id=c000[01]' "$1/journal.log" | tr '\n' ' '; }
# 60 s left: the model passes over c0000 for c0001, which then measures the model 10^4 times
# too slow, so c0000 fits after all
NCSN_CALIBRATION=slow.cal "$NCSN" sweep -s "train.steps=[1000,10]" -s sample.n=200 \
  -s sample.T=5 -s noise.L=5 -s sample.max_bad_fraction=1 -q -o dl1 --deadline "$(dl 60)" > /dev/null
[ "$(order dl1)" = "event=started id=c0001 event=started id=c0000 " ] ||
  fail "deadline: the smaller run first: $(order dl1)"
grep -q "event=deferred" dl1/journal.log && fail "deadline: a run deferred: $(cat dl1/journal.log)"
# 2 s left: nothing fits by the model, so the first (the costliest) runs all the same
NCSN_CALIBRATION=slow.cal "$NCSN" sweep -s "train.steps=[1000,10]" -s sample.n=200 \
  -s sample.T=5 -s noise.L=5 -s sample.max_bad_fraction=1 -q -o dl2 --deadline "$(dl 2)" > /dev/null 2>&1 || true
case "$(order dl2)" in
  "event=started id=c0000 "*) ;;
  *) fail "deadline: nothing fits, the first runs all the same: $(order dl2)" ;;
esac

# ---- the estimates against real runs ----------------------------------------------------
if ! /usr/bin/time -f %M true > /dev/null 2>&1; then
  skip "estimates against peak RSS: no GNU time at /usr/bin/time"
  all_passed
  exit 0
fi
if ldd "$NCSN" 2> /dev/null | grep -q 'libasan'; then # its shadow memory is no run's
  skip "estimates against peak RSS: a sanitizer build"
  all_passed
  exit 0
fi
# rss ARGS...: the peak RSS of `ncsn run ARGS` in bytes, started from GNU time (a small
# process: a child's peak counts the memory of the process it was started from)
rss() {
  /usr/bin/time -f %M -o rss.txt "$NCSN" run "$@" -o run.h5 --force -q
  echo $(($(tail -1 rss.txt) * 1024))
}
# estimate CALIBRATION ARGS...: the dry run's peak of the same configuration, one thread
estimate() {
  local cal=$1
  shift
  NCSN_CALIBRATION=$cal "$NCSN" sweep "$@" --dry-run --json --threads 1 | "$PY" -c \
    'import json, sys; print(json.load(sys.stdin)["per_run"][0]["peak_bytes"])'
}
# the process's own memory on this machine, as `ncsn bench --calibrate` finds it: a tiny
# run's peak (a checkpoint in each phase, as the estimate counts) less its estimate without
# a baseline (the dry run's, less what a sweep adds: sweep_bytes 0)
tiny=(-s train.steps=2 -s sample.n=2 -s sample.T=1 -s noise.L=2 -s dataset.n=2 -s train.batch=2
      -s train.checkpoint_every=1 -s sample.checkpoint_every=1)
printf 'baseline_bytes=1\nsweep_bytes=1\n' > zero.cal
base=$(($(rss "${tiny[@]}") - $(estimate zero.cal "${tiny[@]}") + 1))
printf 'baseline_bytes=%s\nsweep_bytes=1\n' "$base" > here.cal
# A: the notebook's network, many chains (the metrics' sets and the median's selection);
# B: D = 256, H = 4096 with EMA (training's weights, moments and checkpoint images; no
# mixture, so no score error to compute)
A=(-s train.steps=2000 -s sample.n=8000 -s sample.T=10 -s noise.L=10
   -s train.checkpoint_every=1000 -s sample.checkpoint_every=5 -s sample.max_bad_fraction=1)
B=(-s dataset.name=manifold -s dataset.base=swissroll -s dataset.dim=256 -s model.hidden=4096 -s train.steps=30
   -s train.batch=32 -s sample.n=600 -s sample.T=3 -s noise.L=4 -s train.ema=0.999
   -s train.checkpoint_every=15 -s sample.checkpoint_every=2 -s sample.max_bad_fraction=1)
for name in A B; do
  declare -n args=$name
  got=$(rss "${args[@]}")
  est=$(estimate here.cal "${args[@]}")
  "$PY" -c "
got, est = $got, $est
err = (est - got) / got
print('run $name: peak RSS %.1f MiB, estimate %.1f MiB (%+.0f%%)' % (got / 2**20, est / 2**20, 100 * err))
assert abs(err) <= 0.25, err
" || fail "run $name: the estimate is more than 25% off"
done

all_passed "baseline $((base / 1048576)) MiB"
