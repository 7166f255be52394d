#!/usr/bin/env bash
# datasets.sh: `ncsn run` end to end with every dataset.name at tiny sizes (dataset.h).
#   each run        exit 0; /samples is (sample.n, D); /config has dataset.dim = D and the
#                   provenance attributes; mode_weights is (K,) for the mixtures and (0,)
#                   elsewhere, where mode_weight_error, nll_true and score_error are NaN;
#                   mmd2, swd and the noise floor are finite
#   hdf5            a file written with h5py; `ncsn sample` on its run file; bad files and
#                   keys exit 2 with one line naming the key, the file and its dataset
#   techniques      `ncsn techniques --config` on a manifold in D = 16 solves Technique 2
#   auto            sigma_1, L, eps auto on the manifold: sources technique1/2/3
# ctest sets NCSN_BIN, NCSN_SOURCE_DIR and PYTHON (an interpreter with h5py).
set -euo pipefail
: "${NCSN_BIN:?set NCSN_BIN to the ncsn binary}"
. "$(dirname "$0")/lib.sh"
cd "$tmp"


"$PY" -c "import h5py, numpy" 2>/dev/null || skip_all "$PY has no h5py"

"$PY" - <<'PYEOF'
import h5py, numpy as np
rng = np.random.default_rng(0)
with h5py.File("points.h5", "w") as f:
    f["pts"] = np.concatenate([rng.normal(-2, 0.5, (150, 3)), rng.normal(2, 0.5, (150, 3))])
    f["cube"] = np.zeros((4, 3, 2))
    bad = np.ones((10, 2)); bad[4, 1] = np.nan
    f["bad"] = bad
PYEOF

tiny=(-q -s train.steps=30 -s train.batch=32 -s dataset.n=200 -s sample.n=120 -s sample.T=4
      -s noise.L=6 -s model.hidden=32 -s sample.eps=1e-5) # small steps: chains of a barely
# trained model stay near the data (sample quality is not what this tests)

# name|overrides|D|K
runs=(
  "gmm||2|2"
  "gmm3|dataset.means=[[0,0,0],[4,4,4]]|3|2"
  "manifold|dataset.name=manifold dataset.dim=16 dataset.noise=0.01|16|2"
  "manifold_roll|dataset.name=manifold dataset.dim=8 dataset.base=swissroll|8|0"
  "moons|dataset.name=moons dataset.noise=0.05|2|0"
  "swissroll|dataset.name=swissroll|2|0"
  "rings|dataset.name=rings|2|0"
  "checkerboard|dataset.name=checkerboard|2|0"
  "hdf5|dataset.name=hdf5 dataset.path=points.h5 dataset.key=/pts|3|0"
  "exact|dataset.name=manifold dataset.dim=16 sample.score=exact|16|2"
)
for spec in "${runs[@]}"; do
  IFS='|' read -r name sets D K <<<"$spec"
  args=()
  for s in $sets; do args+=(-s "$s"); done
  "$NCSN" run "${tiny[@]}" "${args[@]}" -o "$name.h5" 2>"$name.err" ||
    fail "$name: ncsn run failed: $(cat "$name.err")"
  "$PY" - "$name.h5" "$D" "$K" <<'PYEOF' || fail "$name: run file check failed"
import sys, math, h5py
path, D, K = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
f = h5py.File(path, "r")
def check(ok, what):
    if not ok:
        sys.exit("datasets.sh: %s: %s" % (path, what))
m, c = f["metrics"], f["config"].attrs
check(f.attrs["status"] == "complete", "status")
check(f["samples"].shape == (120, D), "samples shape %r" % (f["samples"].shape,))
check(c["dataset.dim"] == D, "dataset.dim %r" % c["dataset.dim"])
check(m["mode_weights"].shape == (K,), "mode_weights shape %r" % (m["mode_weights"].shape,))
for k in ("mmd2", "swd", "noise_floor_mmd2", "noise_floor_swd"):
    check(math.isfinite(m[k][()]), k + " finite")
if K == 0:
    check(math.isnan(m["mode_weight_error"][()]) and math.isnan(m["nll_true"][()]),
          "no modes: mode_weight_error and nll_true NaN")
    check(all(math.isnan(v) for v in m["score_error"][:]), "no density: score_error NaN")
else:
    check(abs(sum(m["mode_weights"][:]) - 1) < 1e-9, "mode weights sum to 1")
for k, v in (("sigma_1_source", "explicit"), ("L_source", "explicit"), ("eps_source", "explicit")):
    check(c[k] == v, "%s = %r" % (k, c[k]))
check(c["eps_paper"] == c["sample.eps"] / 2, "eps_paper")
PYEOF
done

# A run file of the hdf5 data set samples again.
"$NCSN" sample hdf5.h5 -q -s sample.n=50 -s sample.T=2 -o hdf5-again.h5 ||
  fail "ncsn sample on the hdf5 run file"

# Bad files and keys: exit 2, one line naming the key, the file and its dataset.
expect_error() { # label, regex, overrides...
  local label=$1 want=$2
  shift 2
  local args=() rc=0
  for s in "$@"; do args+=(-s "$s"); done
  "$NCSN" run "${tiny[@]}" "${args[@]}" -o never.h5 2>err.txt || rc=$?
  [ "$rc" -eq 2 ] || fail "$label: exit status $rc, wanted 2 ($(cat err.txt))"
  [ "$(wc -l <err.txt)" -eq 1 ] || fail "$label: more than one line: $(cat err.txt)"
  grep -Eq "$want" err.txt || fail "$label: message $(cat err.txt), wanted /$want/"
  [ ! -e never.h5 ] || fail "$label: a run file was written"
}
h=(dataset.name=hdf5 dataset.path=points.h5)
expect_error "missing file" '^ncsn run: --set dataset\.path: nope\.h5: cannot open \(No such file' \
  dataset.name=hdf5 dataset.path=nope.h5 dataset.key=/pts
expect_error "missing key" '^ncsn run: --set dataset\.key: points\.h5 has no dataset "/nothing"$' \
  "${h[@]}" dataset.key=/nothing
expect_error "rank 3" 'dataset\.key: points\.h5:/cube has rank 3, expected an \(N, D\) array' \
  "${h[@]}" dataset.key=/cube
expect_error "NaN" 'dataset\.key: points\.h5:/bad: row 4, column 1 is nan' "${h[@]}" dataset.key=/bad
expect_error "too small" 'train\.batch: is 250, but points\.h5:/pts has 300 rows, and after holding out 60' \
  "${h[@]}" dataset.key=/pts dataset.n=290 train.batch=250
expect_error "no key" 'dataset\.key: hdf5 needs the \(N, D\) dataset' "${h[@]}"
expect_error "noise on gmm" 'dataset\.noise: applies only to dataset\.name manifold' dataset.noise=0.1
expect_error "exact on moons" 'sample\.score: exact needs a data set whose score is known' \
  dataset.name=moons sample.score=exact

# Techniques on a manifold in D = 16, and all three auto in a run.
cat >man16.yaml <<'EOF'
dataset:
  name: manifold
  dim: 16
  noise: 0.01
  n: 200
noise:
  sigma_1: auto
  L: auto
sample:
  T: 20
  eps: auto
EOF
"$NCSN" techniques --config man16.yaml --json >tech.json
"$NCSN" run man16.yaml -q -s train.steps=30 -s train.batch=32 \
  -s sample.n=60 -s model.hidden=32 -s sample.max_bad_fraction=1 -o auto.h5 || fail "the auto run failed"
"$PY" - tech.json auto.h5 <<'PYEOF'
import sys, json, h5py
t = json.load(open(sys.argv[1]))
def check(ok, what):
    if not ok:
        sys.exit("datasets.sh: %s (techniques: %s)" % (what, json.dumps(t)))
check(t["D"] == 16 and t["technique2"] == "solved", "D = 16 and Technique 2 solved")
check(abs(t["gamma_technique2"] - 2.1292) < 1e-4, "gamma near 2.1292 for D = 16")
check("manifold" in t["source"], "the source names the data set")
c = h5py.File(sys.argv[2], "r")["config"].attrs
check((c["sigma_1_source"], c["L_source"], c["eps_source"]) ==
      ("technique1", "technique2", "technique3"), "sources of the auto run")
check(c["noise.L"] == t["L"] and abs(c["noise.sigma_1"] - t["sigma_1"]) < 1e-12,
      "the run resolved what ncsn techniques reports (training set of configuration 0)")
check(abs(c["sample.eps"] - t["eps"]) < 1e-15 and c["eps_paper"] == t["eps_paper"],
      "eps and eps_paper agree with ncsn techniques")
PYEOF
all_passed "${#runs[@]} data sets, hdf5 errors, techniques, provenance"
