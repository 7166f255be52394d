#!/usr/bin/env bash
# run.sh: `ncsn run` and `ncsn sample` as a user runs them: a small configuration end to
# end, the run file read back with h5py, bit-identical results for 1, 2 and 3 threads,
# configuration errors with file, line, key and exit status 2, and --help / --version.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

small=(-s train.steps=300 -s sample.n=400 -s sample.T=20 -s noise.L=10 -s dataset.n=200 -s train.batch=64
       -s sample.max_bad_fraction=1) # a short training: plumbing, not quality, is tested

# --help and --version
"$NCSN" --help | grep -q "usage: ncsn" || fail "ncsn --help"
"$NCSN" run --help | grep -q "usage: ncsn run" || fail "ncsn run --help"
"$NCSN" sample --help | grep -q "usage: ncsn sample" || fail "ncsn sample --help"
"$NCSN" --version | grep -q "^ncsn " || fail "ncsn --version"

# a small run, three thread counts, bit-identical samples, model and metrics
for t in 1 2 3; do
  OMP_NUM_THREADS=$t "$NCSN" run "$SRC/sweeps/notebook.yaml" "${small[@]}" -q -o "$tmp/t$t.h5"
done
ls "$tmp" | grep -q tmp && fail "temporary file left behind"
"$PY" - "$tmp" <<'PY'
import sys, h5py, numpy as np
d = sys.argv[1]
f = [h5py.File(f"{d}/t{t}.h5", "r") for t in (1, 2, 3)]
a = f[0]
assert a.attrs["status"] == "complete", a.attrs["status"]
assert a.attrs["format_version"] == 1
assert "train:" in a.attrs["config_yaml"]
assert a["samples"].shape == (400, 2) and a["samples"].dtype == np.float32
assert a["model/backbone.0/weight"].shape == (128, 18)
assert a["model/backbone.2/weight"].shape == (2, 128)
assert a["model/sigma_emb.0/weight"].shape == (16, 1)
assert a["model/sigma_emb.2/bias"].shape == (16,)
assert a["train/loss"].shape == a["train/step"].shape == (3,)
assert list(a["train/step"][:]) == [100, 200, 300]
assert a["metrics/score_error"].shape == (10,)
assert a["metrics/mode_weights"].shape == (2,)
assert abs(a["metrics/mode_weights"][:].sum() - 1) < 1e-9
assert a["noise/sigmas"].shape == (10,)
assert a["config"].attrs["train.steps"] == 300
assert np.isfinite(a["metrics/mmd2"][()]) and np.isfinite(a["metrics/swd"][()])
for b in f[1:]:
    for key in ("samples", "model/backbone.0/weight", "model/sigma_emb.2/weight",
                "train/loss", "metrics/score_error"):
        assert np.array_equal(a[key][:], b[key][:]), key
    for key in ("mmd2", "swd", "mode_weight_error", "nll_true", "final_loss"):
        assert a["metrics/" + key][()] == b["metrics/" + key][()], key
print("run file ok, bit-identical for 1, 2, 3 threads")
PY

# ncsn sample: new samples from the trained model, with sample.* overrides
"$NCSN" sample "$tmp/t1.h5" -s sample.n=100 -s sample.T=5 -q -o "$tmp/resampled.h5"
"$PY" - "$tmp" <<'PY'
import sys, h5py, numpy as np
d = sys.argv[1]
a, b = h5py.File(f"{d}/t1.h5", "r"), h5py.File(f"{d}/resampled.h5", "r")
assert b["samples"].shape == (100, 2)
assert np.array_equal(a["model/backbone.0/weight"][:], b["model/backbone.0/weight"][:])
assert np.array_equal(a["train/loss"][:], b["train/loss"][:])
assert b.attrs["status"] == "complete"
print("resample ok")
PY
set +e
"$NCSN" sample "$tmp/t1.h5" -s train.lr=1 -o "$tmp/x.h5" 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "sample with a training key: exit $rc, expected 2"
grep -q "only sample" "$tmp/err" || fail "sample with a training key: $(cat "$tmp/err")"

# configuration errors: file, line, key, exit status 2, no output file
printf 'train:\n  steps: 10\n  lr: fast\n' > "$tmp/bad.yaml"
set +e
"$NCSN" run "$tmp/bad.yaml" -o "$tmp/bad.h5" 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "bad lr: exit $rc, expected 2"
grep -q "bad.yaml:3: train.lr" "$tmp/err" || fail "bad lr message: $(cat "$tmp/err")"
[ -e "$tmp/bad.h5" ] && fail "an output file was written for a bad configuration"
set +e
"$NCSN" run -s noise.sigma_L=30 -o "$tmp/bad.h5" 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "sigma_L >= sigma_1: exit $rc"
grep -q "noise.sigma_L" "$tmp/err" || fail "sigma_L message: $(cat "$tmp/err")"
set +e
"$NCSN" run -o "$tmp/bad.h5" --bogus 2>/dev/null; rc=$?
[ $rc -eq 2 ] || fail "unknown option: exit $rc"
"$NCSN" run 2>/dev/null; rc=$?
[ $rc -eq 2 ] || fail "missing -o: exit $rc"
"$NCSN" frobnicate 2>/dev/null; rc=$?
[ $rc -eq 2 ] || fail "unknown command: exit $rc"
# a missing output directory is a run-time failure with a message, exit 1
"$NCSN" run "${small[@]}" -s train.steps=10 -q -o "$tmp/no/such/dir/x.h5" 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "missing output directory: exit $rc"
grep -q "no/such/dir" "$tmp/err" || fail "missing directory message: $(cat "$tmp/err")"

# a diverging learning rate is recorded as such, never as complete
set +e
"$NCSN" run "${small[@]}" -s train.lr=1e30 -q -o "$tmp/div.h5" 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "diverged run: exit $rc, expected 1"
"$PY" -c "import h5py,sys; s=h5py.File(sys.argv[1])['/'].attrs['status']; assert s=='diverged', s" "$tmp/div.h5"
# bad samples (docs/computation.md, bad samples): a barely trained model's chains escape;
# more than sample.max_bad_fraction of them bad makes the status bad_samples (exit 1), and
# the metrics measure the good ones only; with a looser limit the same run is complete
bad=(-s train.steps=5 -s sample.n=200 -s sample.T=5 -s noise.L=6 -s dataset.n=200 -s sample.eps=0.05)
set +e
"$NCSN" run "${bad[@]}" -q -o "$tmp/bad1.h5" 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "bad samples: exit $rc, expected 1 ($(cat "$tmp/err"))"
grep -q "samples are bad .*sample.max_bad_fraction 0.01" "$tmp/err" ||
  fail "bad samples message: $(cat "$tmp/err")"
"$NCSN" run "${bad[@]}" -s sample.max_bad_fraction=1 -q -o "$tmp/bad2.h5" ||
  fail "bad samples within sample.max_bad_fraction=1"
"$PY" - "$tmp" <<'PY'
import sys, math, h5py, numpy as np
d = sys.argv[1]
a, b = h5py.File(f"{d}/bad1.h5", "r"), h5py.File(f"{d}/bad2.h5", "r")
assert a.attrs["status"] == "bad_samples" and b.attrs["status"] == "complete"
n_bad = int(a["metrics/n_bad"][()])
r = a["metrics/bad_radius"][()]
assert 2 < n_bad <= 200 and n_bad == int(b["metrics/n_bad"][()]), n_bad
assert math.isfinite(r) and r > 3 * a["noise/sigmas"][0], r
if n_bad < 200:  # the good ones measured, the same in both files
    assert math.isfinite(a["metrics/mmd2"][()]) and a["metrics/mmd2"][()] == b["metrics/mmd2"][()]
else:  # nothing left to measure
    assert math.isnan(a["metrics/mmd2"][()]) and math.isnan(a["metrics/fd"][()])
PY

# the exact score trains nothing: no /model, no loss, no learned-score error; its run file
# samples again with the exact score, and refuses the model's (exit 2)
ex=(-s sample.score=exact -s sample.n=300 -s sample.T=10 -s noise.L=10)
"$NCSN" run "${ex[@]}" -q -o "$tmp/exact.h5" || fail "exact run"
"$NCSN" sample "$tmp/exact.h5" -s sample.n=100 -q -o "$tmp/exact2.h5" || fail "exact resample"
set +e
"$NCSN" sample "$tmp/exact.h5" -s sample.score=model -q -o "$tmp/exact3.h5" 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "holds no trained network" "$tmp/err" ||
  fail "model score from an exact run file: exit $rc, $(cat "$tmp/err")"
[ -e "$tmp/exact3.h5" ] && fail "refused resample wrote its output"
# the unconditional network (model.sigma_input none): no sigma_emb, s = net(x) / sigma
"$NCSN" run "${small[@]}" -s model.sigma_input=none -s model.scale_by_sigma=true -q \
  -o "$tmp/uncond.h5" || fail "sigma_input none run"
"$PY" - "$tmp" <<'PY'
import sys, math, h5py
d = sys.argv[1]
e = h5py.File(f"{d}/exact.h5", "r")
assert "model" not in e and e["train/loss"].shape == (0,)
assert math.isnan(e["metrics/final_loss"][()])
assert all(math.isnan(v) for v in e["metrics/score_error"][:])
assert math.isfinite(e["metrics/mmd2"][()])
u = h5py.File(f"{d}/uncond.h5", "r")
assert sorted(u["model"]) == ["backbone.0", "backbone.2"], list(u["model"])
assert u["model/backbone.0/weight"].shape == (128, 2)
assert u["config"].attrs["model.sigma_input"] == "none"
PY

all_passed
