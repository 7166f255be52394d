#!/usr/bin/env bash
# bench.sh: `ncsn bench` end to end, in a few seconds.
#   --quick --json   one JSON object: the fields are there, every speed is a positive
#                    number, and the results are bit-identical across thread counts and
#                    between every kernel variant and the baseline ones (fmaf per lane);
#                    the notebook's D = 2 and an odd --dim 13 --hidden 37 (the blocked
#                    kernels, tails in every vector width); the scaling is the median of
#                    the rounds' ratios, over all rounds and over the whole ones (the
#                    host's steal at most 5% of each measurement's CPU time, as
#                    /proc/stat counts it; none at all where its steal did not grow)
#   --sweep-overhead 3,5 --json   the runner's cost per run over two tiny sweeps
#   --help           exit 0;  an unknown option or a bad value: exit 2
# ctest sets NCSN_BIN (the binary) and PYTHON.
set -euo pipefail
: "${NCSN_BIN:?set NCSN_BIN to the ncsn binary}"
. "$(dirname "$0")/lib.sh"


# The machine's steal time so far, in /proc/stat's ticks (0 where it has none).
steal_ticks() {
    awk '$1 == "cpu" { print ($9 == "" ? 0 : $9); exit }' /proc/stat 2>/dev/null || echo 0
}

check_json() { # FILE D H ROUNDS STEAL: 0 /proc/stat's steal did not grow meanwhile, 1 it
               # may have, none not readable
"$PY" - "$@" <<'PYEOF'
import json, math, sys
d = json.load(open(sys.argv[1]))
D, H, rounds = (int(a) for a in sys.argv[2:5])
steal_grew, steal_known = sys.argv[5] != "0", sys.argv[5] != "none"
def check(ok, what):
    if not ok:
        sys.exit("bench.sh: %s (got %s)" % (what, json.dumps(d)))
def positive(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0
check(d["network"] == {"D": D, "E": 16, "H": H, "batch": 128, "L": 100}, "network sizes")
check(d["flops_per_train_step"] == 2 * 128 * 5 * D * H, "training FLOPs 10 B D H")
check(d["flops_per_eval"] == 4 * D * H, "evaluation FLOPs 4 D H")
for key in ("train_steps", "chains", "sample_levels", "sample_T", "flops_per_train_step",
            "flops_per_eval"):
    check(positive(d[key]), key + " positive")
rows = d["rows"]
check([r["threads"] for r in rows] == [1, 2], "rows for 1 and 2 threads")
for r in rows:
    for key in ("peak_muladd_gflops", "train_us_per_step", "train_ref_us_per_step",
                "train_gflops", "train_pct_peak", "sample_evals_per_s",
                "sample_ref_evals_per_s", "sample_gflops", "sample_pct_peak"):
        check(positive(r[key]), "%s positive for %d threads" % (key, r["threads"]))
    check(r["peak_fma_gflops"] >= 0, "peak_fma_gflops >= 0 (0 without FMA)")
    # each share of the peak is one measurement over the peak measured just before it, the
    # median of the pairs; the speeds are the best measurements
    p = r["paired"]
    n = len(p["train_us_per_step"])
    check(n == rounds and all(len(p[k]) == n for k in p), "one pair of each per round")
    # the host's steal of each measurement: a fraction where /proc/stat counts it, and
    # none where the machine's steal did not grow during the run
    for key in ("train_steal", "sample_steal"):
        for v in p[key]:
            if steal_known:
                check(isinstance(v, (int, float)), "%s known" % key)
            else:
                check(v is None, "%s null: no steal to read" % key)
            check(v is None or 0 <= v <= 1, "%s a fraction" % key)
            if not steal_grew:
                check(v == 0, "%s 0: the machine's steal did not grow" % key)
    def median(v):
        v = sorted(v)
        return v[len(v) // 2] if len(v) % 2 else 0.5 * (v[len(v) // 2 - 1] + v[len(v) // 2])
    share_t = median([d["flops_per_train_step"] / us * 1e-3 / pk
                      for us, pk in zip(p["train_us_per_step"], p["train_peak_gflops"])])
    share_s = median([e * d["flops_per_eval"] * 1e-9 / pk
                      for e, pk in zip(p["sample_evals_per_s"], p["sample_peak_gflops"])])
    # (the pairs print 6 digits; the shares and peaks 2 decimals, the best time 3)
    check(math.isclose(r["train_pct_peak"], 100 * share_t, rel_tol=1e-4, abs_tol=0.006),
          "training's share: the pairs' median")
    check(math.isclose(r["sample_pct_peak"], 100 * share_s, rel_tol=1e-4, abs_tol=0.006),
          "sampling's share: the pairs' median")
    check(math.isclose(r["train_us_per_step"], min(p["train_us_per_step"]), rel_tol=1e-5, abs_tol=6e-4),
          "training: the best")
    check(math.isclose(r["sample_evals_per_s"], max(p["sample_evals_per_s"]), rel_tol=1e-3),
          "sampling: the best")
    peak = r["peak_fma_gflops"] or r["peak_muladd_gflops"]
    check(math.isclose(peak, median(p["train_peak_gflops"] + p["sample_peak_gflops"]), rel_tol=1e-5,
                       abs_tol=0.006), "the row's peak: the pairs' median")
    for key in ("train_hash", "sample_hash"):
        check(isinstance(r[key], str) and len(r[key]) == 16, key + " 16 hex digits")
# the scaling: the thread counts were measured in turn; the median of each round's ratio,
# and the best time against the best
sc, p0, p1 = d["scaling"], rows[0]["paired"], rows[1]["paired"]
check((sc["from_threads"], sc["to_threads"]) == (1, 2), "scaling from 1 to 2 threads")
def median2(v):
    v = sorted(v)
    return v[len(v) // 2] if len(v) % 2 else 0.5 * (v[len(v) // 2 - 1] + v[len(v) // 2])
train_r = [a / b for a, b in zip(p0["train_us_per_step"], p1["train_us_per_step"])]
sample_r = [b / a for a, b in zip(p0["sample_evals_per_s"], p1["sample_evals_per_s"])]
for key, want in (
        ("train", median2(train_r)), ("sample", median2(sample_r)),
        ("train_best", rows[0]["train_us_per_step"] / rows[1]["train_us_per_step"]),
        ("sample_best", rows[1]["sample_evals_per_s"] / rows[0]["sample_evals_per_s"])):
    check(math.isclose(sc[key], want, rel_tol=2e-3), "scaling %s: %s" % (key, want))
# the whole rounds: both measurements' steal at most steal_limit (6 decimals printed)
check(sc["steal_limit"] == 0.05, "steal limit 5%")
for key, ratios in (("train", train_r), ("sample", sample_r)):
    a, b = p0[key + "_steal"], p1[key + "_steal"]
    if None in a + b:
        check(sc["whole_rounds"][key] is None and sc[key + "_whole"] is None,
              "%s: whole rounds not known without steal" % key)
        continue
    kept = [r for r, x, y in zip(ratios, a, b) if x <= 0.05 and y <= 0.05]
    check(sc["whole_rounds"][key] == len(kept), "%s: whole rounds counted" % key)
    if not steal_grew:
        check(len(kept) == rounds, "%s: every round whole without steal" % key)
    if kept:
        check(math.isclose(sc[key + "_whole"], median2(kept), rel_tol=2e-3),
              "%s: the whole rounds' median" % key)
    else:
        check(sc[key + "_whole"] is None, "%s: no whole round, no figure" % key)
check(rows[0]["train_hash"] == rows[1]["train_hash"], "training bits equal for 1 and 2 threads")
check(rows[0]["sample_hash"] == rows[1]["sample_hash"], "sampling bits equal for 1 and 2 threads")
check(d["bits_identical_across_threads"] == {"train": True, "sample": True},
      "bits_identical_across_threads true")
check(d["kernels"] in ("avx512", "avx2+fma", "baseline"), "kernels named")
check(d["peak_isa"] == d["kernels"], "the peak is the kernels' widest FMA")
check(d["bits_identical_to_baseline"] == {"train": True, "sample": True},
      "bits_identical_to_baseline true")
check(d["sweep"] is None, "no sweep without --sweep")
PYEOF
}
# bench_json FILE ARGS...: the run, and whether the machine's steal grew meanwhile
bench_json() {
    local out=$1 s0 s1
    shift
    s0=$(steal_ticks)
    "$NCSN" bench "$@" >"$out"
    s1=$(steal_ticks)
    grew=$([ "$s1" = "$s0" ] && echo 0 || echo 1)
    [ -r /proc/stat ] || grew=none
}
bench_json "$tmp/bench.json" --quick --json --threads 1,2
check_json "$tmp/bench.json" 2 128 1 "$grew"
bench_json "$tmp/bench13.json" --quick --json --threads 1,2 --dim 13 --hidden 37
check_json "$tmp/bench13.json" 13 37 1 "$grew"
# without --quick: five rounds (small sizes, few steps and chains); --rounds sets them,
# with --quick too
bench_json "$tmp/bench5.json" --json --threads 1,2 --dim 5 --hidden 24 --steps 30 --chains 200
check_json "$tmp/bench5.json" 5 24 5 "$grew"
bench_json "$tmp/bench3.json" --quick --json --threads 1,2 --dim 5 --hidden 24 --steps 30 \
    --chains 200 --rounds 3
check_json "$tmp/bench3.json" 5 24 3 "$grew"

# the whole rounds, on hosts of known steal (NCSN_BENCH_PROC_STAT: the file read for it):
# none taken (every round whole), 10000 s taken over each measurement (no round whole, no
# whole figure), no steal to read (not known)
# (check_json's STEAL 0 and none say what every steal must be; steals_grow, the third)
steals_grow() { # FILE: every steal 0 or over 0.99, and some over 0.99
"$PY" - "$@" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
steals = [v for r in d["rows"] for k in ("train_steal", "sample_steal") for v in r["paired"][k]]
# (a measurement for which the writer had no CPU to replace the file reads 0)
if not (all(v == 0 or v > 0.99 for v in steals) and max(steals) > 0.99):
    sys.exit("bench.sh: steal grows: got %s" % steals)
PYEOF
}
small=(--quick --json --threads 1,2 --dim 5 --hidden 24 --steps 30 --chains 200 --rounds 2)
printf 'cpu  10 0 10 100 0 0 0 7 0 0\n' >"$tmp/stat0"
NCSN_BENCH_PROC_STAT="$tmp/stat0" "$NCSN" bench "${small[@]}" >"$tmp/steal0.json"
check_json "$tmp/steal0.json" 5 24 2 0
# (a file replaced as fast as a loop can, its steal 10000 s more each time)
"$PY" -c '
import os, sys
t = 0
while not os.path.exists(sys.argv[1] + ".stop"):
    t += 1000000
    with open(sys.argv[1] + ".new", "w") as f:
        f.write("cpu  1 0 1 1 0 0 0 %d 0 0\n" % t)
    os.replace(sys.argv[1] + ".new", sys.argv[1])
' "$tmp/statgrows" &
writer=$!
cleanup_more() { # (lib.sh calls it on exit: the writer stops before $tmp goes)
    touch "$tmp/statgrows.stop"
    kill "$writer" 2>/dev/null || true
    wait "$writer" 2>/dev/null || true
}
for _ in $(seq 500); do
    [ -e "$tmp/statgrows" ] || ! kill -0 "$writer" 2>/dev/null && break
    sleep 0.01
done
[ -e "$tmp/statgrows" ] || fail "the steal file's writer wrote nothing"
rc=0
NCSN_BENCH_PROC_STAT="$tmp/statgrows" "$NCSN" bench "${small[@]}" >"$tmp/stealall.json" || rc=$?
cleanup_more
[ "$rc" -eq 0 ] || fail "bench with a growing steal exited $rc"
steals_grow "$tmp/stealall.json"
check_json "$tmp/stealall.json" 5 24 2 1
NCSN_BENCH_PROC_STAT="$tmp/no-such-file" "$NCSN" bench "${small[@]}" >"$tmp/stealnone.json"
check_json "$tmp/stealnone.json" 5 24 2 none
NCSN_BENCH_PROC_STAT="$tmp/stat0" "$NCSN" bench --quick --threads 1,2 >"$tmp/table.txt"
want="whole rounds (steal <= 5%): training .*x (1 of 1), sampling .*x (1 of 1)"
grep -q "$want" "$tmp/table.txt" || fail "the table's whole rounds: $(cat "$tmp/table.txt")"

# the runner's overhead per run over a tiny sweep: the fields, a positive wall time, the
# runs' own time from the journal below it
"$NCSN" bench --sweep-overhead 3,5 --json >"$tmp/overhead.json" 2>/dev/null
"$PY" - "$tmp/overhead.json" <<'PYEOF' || fail "bench --sweep-overhead: $(cat "$tmp/overhead.json")"
import json, math, sys
rows = json.load(open(sys.argv[1]))["sweep_overhead"]
assert [(r["runs"], r["ranks"]) for r in rows] == [(3, 1), (5, 1)], rows
for r in rows:
    assert 0 < r["run_seconds"] < r["wall_seconds"], r
    assert math.isclose(r["overhead_ms"], 1e3 * (r["wall_seconds"] - r["run_seconds"]) / r["runs"],
                        rel_tol=1e-2, abs_tol=0.1), r
PYEOF

"$NCSN" bench --help >"$tmp/help.txt" || fail "bench --help exited $?"
grep -q -- "--sweep" "$tmp/help.txt" || fail "bench --help does not mention --sweep"

expect_usage() {
    local rc=0
    "$NCSN" bench "$@" >"$tmp/out.txt" 2>"$tmp/err.txt" || rc=$?
    [ "$rc" -eq 2 ] || fail "bench $* exited $rc, expected 2"
    [ -s "$tmp/err.txt" ] || fail "bench $* printed no message"
}
expect_usage --no-such-option
expect_usage --threads 0
expect_usage --steps x
expect_usage --dim 0
expect_usage --dim 4097
expect_usage --hidden 1.5
expect_usage --rounds 0
expect_usage --rounds 51
expect_usage --sweep-overhead 0
expect_usage --sweep-overhead 100,x
expect_usage --sweep-overhead 100001
all_passed
