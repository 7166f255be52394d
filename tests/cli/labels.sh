#!/usr/bin/env bash
# labels.sh: data with labels end to end (dataset.labels; classify.h).
#   make-digits   scripts/make-digits.sh: --help (exit 0), usage errors (exit 2), a missing
#                 source (exit 1, nothing written); its file: /x (1797, 64) float32 in
#                 [0, 1] with image_shape [8, 8], /y (1797,) labels 0-9 with the known
#                 counts, no temporary file left (skipped, and counted, without
#                 python3-sklearn's digits.csv.gz)
#   labelled run  three labelled clusters written with h5py: classifier_accuracy 1,
#                 mode_weights (3,) summing to 1, train_shares about 1/2, 1/3, 1/6 and
#                 mode_weight_error = max |mode_weights - train_shares|; the same data
#                 without labels has no classifier_accuracy; the
#                 digits, when there, through sweeps/digits.yaml at tiny sizes, and
#                 sweeps/digits-sweep.yaml's dry run (32 runs)
#   refusals      exit 2 with one line naming dataset.labels (and the file's line for a
#                 YAML file): labels on gmm, a wrong length, a fraction, a negative label
#   sweep         sweep.h5 has a classifier_accuracy column; the report's mode-weight
#                 analysis runs on it unchanged
# ctest sets NCSN_BIN, NCSN_SOURCE_DIR and PYTHON (an interpreter with h5py).
set -euo pipefail
: "${NCSN_BIN:?set NCSN_BIN to the ncsn binary}"
. "$(dirname "$0")/lib.sh"
cd "$tmp"

"$PY" -c "import h5py, numpy" 2>/dev/null || skip_all "$PY has no h5py"
MAKE="$SRC/scripts/make-digits.sh"
CSV=/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz

# ---- make-digits ----------------------------------------------------------------------
"$MAKE" --help >help.txt || fail "make-digits --help: exit $?"
grep -q "image_shape" help.txt || fail "make-digits --help does not describe the file"
for bad in "a.h5 b.h5" "--nope"; do
  rc=0; "$MAKE" $bad 2>err.txt || rc=$?
  [ "$rc" -eq 2 ] || fail "make-digits $bad: exit $rc, wanted 2"
  [ "$(wc -l <err.txt)" -eq 1 ] || fail "make-digits $bad: not one line: $(cat err.txt)"
done
rc=0; "$MAKE" --from nowhere.csv.gz out/none.h5 2>err.txt || rc=$?
[ "$rc" -eq 1 ] || fail "make-digits --from a missing file: exit $rc, wanted 1"
grep -q "nowhere.csv.gz: no such file" err.txt || fail "make-digits: message $(cat err.txt)"
[ ! -e out/none.h5 ] || fail "make-digits wrote a file from nothing"

have_digits=0
if [ -f "$CSV" ]; then
  "$MAKE" d/digits.h5 >make.txt 2>&1 || fail "make-digits: $(cat make.txt)"
  [ -z "$(ls d | grep -v '^digits.h5$')" ] || fail "make-digits left $(ls d)"
  "$PY" - <<'PYEOF' || fail "digits.h5 check failed"
import sys, h5py, numpy as np
f = h5py.File("d/digits.h5", "r")
x, y = f["x"], f["y"]
def check(ok, what):
    if not ok:
        sys.exit("labels.sh: digits.h5: " + what)
check(x.shape == (1797, 64) and x.dtype == np.float32, f"/x is {x.shape} {x.dtype}")
xv = x[:]
check(xv.min() == 0 and xv.max() == 1, f"/x spans [{xv.min()}, {xv.max()}]")
check(np.all(xv * 16 == np.round(xv * 16)), "/x is not pixel / 16")
check(list(x.attrs["image_shape"]) == [8, 8], "image_shape")
check(y.shape == (1797,) and y.dtype.kind == "i", f"/y is {y.shape} {y.dtype}")
check(list(np.bincount(y[:])) == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180],
      f"label counts {np.bincount(y[:])}")
PYEOF
  have_digits=1
else
  skip "make-digits output: $CSV is not installed (python3-sklearn)"
fi

# ---- a labelled run ----------------------------------------------------------------------
"$PY" - <<'PYEOF'
import h5py, numpy as np
rng = np.random.default_rng(1)
k = np.repeat([0, 1, 2], [150, 100, 50])
x = rng.normal(0, 0.3, (300, 3)) + 6.0 * k[:, None]
with h5py.File("lab.h5", "w") as f:
    f["x"] = x
    f["y"] = k.astype(np.uint8)
    f["short"] = k[:299]
    half = k.astype(float); half[7] = 0.5
    f["half"] = half
    neg = k.copy(); neg[9] = -2
    f["neg"] = neg
PYEOF
tiny=(-q -s train.steps=30 -s train.batch=32 -s sample.n=120 -s sample.T=4 -s noise.L=6
      -s model.hidden=32 -s dataset.name=hdf5 -s dataset.path=lab.h5 -s dataset.key=/x
      -s sample.max_bad_fraction=1)
"$NCSN" run "${tiny[@]}" -s dataset.labels=/y -s dataset.n=100000 -o lab_run.h5 2>err.txt ||
  fail "labelled run: $(cat err.txt)"
"$NCSN" run "${tiny[@]}" -o plain_run.h5 2>err.txt || fail "unlabelled run: $(cat err.txt)"
"$PY" - <<'PYEOF' || fail "labelled run file check failed"
import sys, h5py, numpy as np
def check(ok, what):
    if not ok:
        sys.exit("labels.sh: " + what)
f = h5py.File("lab_run.h5", "r")
m = f["metrics"]
check(f["config"].attrs["dataset.labels"] == "/y", "dataset.labels in /config")
check(f["config"].attrs["dataset.n"] == 240, "dataset.n: all 240 training rows")
check(m["classifier_accuracy"][()] == 1.0, f"accuracy {m['classifier_accuracy'][()]}")
w = m["mode_weights"][:]
check(w.shape == (3,) and abs(w.sum() - 1) < 1e-12, f"mode_weights {w}")
# the training shares of the 240 training rows, through the file's fixed shuffle: about
# 1/2, 1/3, 1/6; the error is against them
t = m["train_shares"][:]
check(t.shape == (3,) and abs(t.sum() - 1) < 1e-12 and np.all(abs(t - [1/2, 1/3, 1/6]) < 0.05),
      f"train_shares {t}")
err = m["mode_weight_error"][()]
check(err == np.max(np.abs(w - t)), f"mode_weight_error {err}, shares {w} against {t}")
g = h5py.File("plain_run.h5", "r")["metrics"]
check("classifier_accuracy" not in g and "train_shares" not in g and g["mode_weights"].shape == (0,),
      "an unlabelled run has class metrics")
PYEOF
if [ "$have_digits" -eq 1 ]; then
  # sweeps/digits-sweep.yaml lists its 32 runs (every technique resolved on the data)
  "$NCSN" sweep "$SRC/sweeps/digits-sweep.yaml" -s dataset.path=d/digits.h5 --dry-run \
    >dry.txt 2>err.txt || fail "digits-sweep --dry-run: $(cat err.txt)"
  grep -q "^32 runs (16 configurations x 2 repeats)" dry.txt ||
    fail "digits-sweep --dry-run: $(head -1 dry.txt)"
  # sweeps/digits.yaml itself (the README's run), at tiny sizes
  "$NCSN" run -q "$SRC/sweeps/digits.yaml" -s dataset.path=d/digits.h5 -s model.hidden=32 \
    -s train.steps=20 -s noise.L=5 -s sample.T=2 -s sample.n=200 -s sample.max_bad_fraction=1 \
    -o digits_run.h5 2>err.txt ||
    fail "digits run: $(cat err.txt)"
  "$PY" - <<'PYEOF' || fail "digits run file check failed"
import sys, h5py
m = h5py.File("digits_run.h5", "r")["metrics"]
acc = m["classifier_accuracy"][()]
if not (0.95 <= acc <= 1 and m["mode_weights"].shape == (10,)):
    sys.exit(f"labels.sh: digits: accuracy {acc}, mode_weights {m['mode_weights'].shape}")
PYEOF
fi

# ---- refusals ----------------------------------------------------------------------------
expect_refused() { # LABEL WANT_REGEX ARGS...
  local label=$1 want=$2 rc=0
  shift 2
  "$NCSN" run "$@" -o never.h5 2>err.txt || rc=$?
  [ "$rc" -eq 2 ] || fail "$label: exit status $rc, wanted 2 ($(cat err.txt))"
  [ "$(wc -l <err.txt)" -eq 1 ] || fail "$label: more than one line: $(cat err.txt)"
  grep -Eq "$want" err.txt || fail "$label: message $(cat err.txt), wanted /$want/"
  [ ! -e never.h5 ] || fail "$label: a run file was written"
}
printf 'seed: 1\ndataset:\n  labels: /y\n' >gmm_labels.yaml
expect_refused "labels on gmm" \
  '^ncsn run: gmm_labels\.yaml:3: dataset\.labels: applies only to dataset\.name hdf5, not to gmm' \
  gmm_labels.yaml
expect_refused "short labels" \
  '^ncsn run: --set dataset\.labels: lab\.h5:/short has 299 labels, but lab\.h5:/x has 300 rows' \
  "${tiny[@]}" -s dataset.labels=/short
expect_refused "fraction" \
  '^ncsn run: --set dataset\.labels: lab\.h5:/half: entry 7 is 0\.5: labels must be whole numbers' \
  "${tiny[@]}" -s dataset.labels=/half
expect_refused "negative" '^ncsn run: --set dataset\.labels: lab\.h5:/neg: entry 9 is -2' \
  "${tiny[@]}" -s dataset.labels=/neg

# ---- a sweep, its table and the report -----------------------------------------------------
cat >sweep.yaml <<'EOF'
dataset: {name: hdf5, path: lab.h5, key: /x, labels: /y, n: 100000}
model: {hidden: 32}
train: {steps: [20, 40], batch: 32}
noise: {L: 6}
sample: {n: 120, T: 4, max_bad_fraction: 1} # quality is not what this tests
EOF
"$NCSN" sweep sweep.yaml -o sw -q >sweep.txt 2>&1 || fail "labelled sweep: $(cat sweep.txt)"
"$PY" - <<'PYEOF' || fail "sweep.h5 check failed"
import sys, h5py, numpy as np
t = h5py.File("sw/sweep.h5", "r")["runs"][:]
if "classifier_accuracy" not in t.dtype.names or not np.all(t["classifier_accuracy"] == 1.0):
    sys.exit(f"labels.sh: sweep.h5: classifier_accuracy {t.dtype.names}")
if not np.all(np.isfinite(t["mode_weight_error"])):
    sys.exit("labels.sh: sweep.h5: mode_weight_error not finite")
PYEOF
if "$PY" -c "import matplotlib" 2>/dev/null; then
  MPLBACKEND=Agg MPLCONFIGDIR="$tmp/mpl" PYTHONPATH="$SRC${PYTHONPATH:+:$PYTHONPATH}" \
    "$PY" -m analysis report sw >report.txt 2>&1 || fail "report on a labelled sweep: $(cat report.txt)"
  [ -s sw/report/index.html ] || fail "no report/index.html"
else
  skip "the report: $PY has no matplotlib"
fi

all_passed
