#!/usr/bin/env bash
# techniques.sh: `ncsn techniques` end to end (docs/computation.md, Techniques).
#   --dim 3072 ... --json   answers at once; the fields agree with each other and with
#                           the formulas (checked in Python)
#   --dim 2                 Technique 2 has no solution: exit 0, the sentence, eps null;
#                           with --L the eps is still solved
#   --data FILE.h5:/DSET    Technique 1 equals a brute-force maximum (when h5py is there)
#   usage errors            exit 2 with a one-line message
# ctest sets NCSN_BIN (the binary) and PYTHON.
set -eu
: "${NCSN_BIN:?set NCSN_BIN to the ncsn binary}"
. "$(dirname "$0")/lib.sh"


# 1. D = 3072: everything solved, at once.
start=$(date +%s%N)
"$NCSN" techniques --dim 3072 --sigma-1 50 --sigma-L 0.01 --T 5 --json >"$tmp/d3072.json"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed_ms" -lt 5000 ] || fail "--dim 3072 took ${elapsed_ms} ms"
"$PY" - "$tmp/d3072.json" <<'PYEOF'
import json, math, sys
d = json.load(open(sys.argv[1]))
def check(ok, what):
    if not ok:
        sys.exit("techniques.sh: %s (got %s)" % (what, json.dumps(d)))
check(d["D"] == 3072 and d["T"] == 5, "D and T")
check(d["sigma_1"] == 50 and d["sigma_L"] == 0.01, "sigma_1 and sigma_L")
check(d["technique2"] == "solved", "Technique 2 solved")
gt2 = d["gamma_technique2"]
check(abs(gt2 - 1.0398) < 1e-4, "gamma from Technique 2 near 1.0398")
check(d["L"] == d["L_technique2"] == 1 + math.ceil(math.log(50 / 0.01) / math.log(gt2)),
      "L = 1 + ceil(ln(sigma_1/sigma_L)/ln gamma)")
check(abs(d["gamma"] - (50 / 0.01) ** (1 / (d["L"] - 1))) < 1e-12, "realised gamma")
check(d["eps"] == 2 * d["eps_paper"], "sampler's eps = 2 eps_paper")
def f(eps):
    u, g, T = eps / d["sigma_L"] ** 2, d["gamma"], d["T"]
    return (1 - u) ** (2 * T) * (g * g - 2 / (2 - u)) + 2 / (2 - u)
check(abs(f(d["eps_paper"]) - d["f_min"]) < 1e-12, "f_min = f(eps_paper)")
check(1 < d["f_min"] < d["gamma"] ** 2, "1 < f_min < gamma^2")
check(f(d["eps_paper"] * 1.001) >= d["f_min"] and f(d["eps_paper"] * 0.999) >= d["f_min"],
      "eps_paper minimises f")
PYEOF

# 2. D = 2: no solution is an answer (exit 0), and eps is null without L.
"$NCSN" techniques --dim 2 --sigma-1 20 --sigma-L 0.1 --T 1000 --json >"$tmp/d2.json"
"$NCSN" techniques --dim 2 --sigma-1 20 --sigma-L 0.1 --T 1000 --L 100 --json >"$tmp/d2L.json"
"$PY" - "$tmp/d2.json" "$tmp/d2L.json" <<'PYEOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
if not a["technique2"].startswith("Technique 2 has no solution for D = 2"):
    sys.exit("techniques.sh: D = 2 sentence: %r" % a["technique2"])
if a["L"] is not None or a["eps"] is not None or a["gamma_technique2"] is not None:
    sys.exit("techniques.sh: D = 2 without L must leave L, eps, gamma null: %r" % a)
if b["L"] != 100 or abs(b["eps_paper"] - 3.05e-5) > 0.01e-5 or abs(b["f_min"] - 1.00177) > 1e-5:
    sys.exit("techniques.sh: D = 2 with L = 100 (the notebook): %r" % b)
PYEOF
"$NCSN" techniques --dim 2 --sigma-1 20 --sigma-L 0.1 --T 1000 >"$tmp/d2.txt"
grep -q "no solution for D = 2" "$tmp/d2.txt" || fail "plain text does not explain D = 2"

# 3. Points from HDF5 (needs h5py and numpy; skipped without them).
if "$PY" -c 'import h5py, numpy' 2>/dev/null; then
    "$PY" - "$tmp/pts.h5" <<'PYEOF'
import sys, h5py, numpy as np
rng = np.random.default_rng(7)
with h5py.File(sys.argv[1], "w") as f:
    f["data/x"] = rng.normal(size=(300, 8)).astype(np.float32)
PYEOF
    "$NCSN" techniques --data "$tmp/pts.h5:/data/x" --json >"$tmp/pts.json"
    "$PY" - "$tmp/pts.h5" "$tmp/pts.json" <<'PYEOF'
import json, sys, h5py, numpy as np
x = h5py.File(sys.argv[1], "r")["data/x"][...].astype(np.float64)
d = json.load(open(sys.argv[2]))
best = max(np.sqrt(((x - x[i]) ** 2).sum(axis=1)).max() for i in range(len(x)))
if d["n"] != 300 or d["D"] != 8 or abs(d["sigma_1"] - best) > 1e-12 * best:
    sys.exit("techniques.sh: Technique 1 on --data: %r vs %r" % (d["sigma_1"], best))
PYEOF
    set +e
    "$NCSN" techniques --data "$tmp/pts.h5:/nope" 2>"$tmp/err"; rc=$?
    set -e
    [ "$rc" = 2 ] || fail "a missing dataset exits $rc, not 2 (a bad input)"
    grep -q "pts.h5: no dataset /nope" "$tmp/err" || fail "missing dataset message: $(cat "$tmp/err")"
fi

# 4. Usage errors: exit 2 and one line on stderr.
usage_case() {
    set +e
    "$NCSN" techniques "$@" >/dev/null 2>"$tmp/err"; rc=$?
    set -e
    [ "$rc" = 2 ] || fail "'techniques $*' exits $rc, not 2"
    [ "$(wc -l <"$tmp/err")" = 1 ] || fail "'techniques $*' message is not one line: $(cat "$tmp/err")"
}
usage_case --dim 16 --sigma-1 50 --bogus
usage_case --dim 16 --sigma-1
usage_case --dim 16 --sigma-1 fifty
usage_case --dim 16
usage_case --T 5
"$NCSN" techniques --help | grep -q "usage: ncsn techniques" || fail "--help"
all_passed
