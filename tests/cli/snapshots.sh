#!/usr/bin/env bash
# snapshots.sh: train.snapshot_every keeps the weights (and the EMA copy) in the run file;
# a snapshot at step k holds exactly the weights a run of k steps ends with (the streams do
# not depend on train.steps); sample.snapshot samples one, the same bits from `ncsn run`
# and from `ncsn sample` on the run file; a step that has no snapshot is refused (exit 2).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
"$PY" -c "import h5py" 2>/dev/null || skip_all "no h5py for $PY"

S=(-q -s train.steps=300 -s train.snapshot_every=100 -s train.ema=0.9 -s sample.n=200
   -s sample.T=5 -s noise.L=8 -s dataset.n=200 -s train.batch=64
   -s sample.max_bad_fraction=1) # a short training: sample quality is not what this tests
cd "$tmp"
"$NCSN" run "${S[@]}" -o s300.h5 || fail "run with snapshots"
"$NCSN" run "${S[@]}" -s train.steps=200 -o s200.h5 || fail "200-step run"
"$NCSN" run "${S[@]}" -s sample.snapshot=200 -o at200.h5 || fail "run sampling snapshot 200"
"$NCSN" sample s300.h5 -q -s sample.snapshot=200 -o at200-again.h5 || fail "sample snapshot 200"
"$PY" - <<'PY'
import h5py, numpy as np
f = {k: h5py.File(k + ".h5", "r") for k in ("s300", "s200", "at200", "at200-again")}
def flat(h):  # /model's tensors in the weights block's order
    return np.concatenate([h["model"][l][k][()].ravel() for l in
                           ("sigma_emb.0", "sigma_emb.2", "backbone.0", "backbone.2")
                           for k in ("weight", "bias")])
s = f["s300"]["snapshots"]
assert list(s["step"][:]) == [100, 200, 300], s["step"][:]
assert s["model"].shape == s["ema"].shape == (3, flat(f["s300"]).size)
assert np.array_equal(s["ema"][2], flat(f["s300"])), "last snapshot is not the final weights"
assert np.array_equal(s["ema"][1], flat(f["s200"])), "snapshot 200 != a 200-step run's EMA"
assert np.array_equal(s["model"][1], f["s200"]["snapshots"]["model"][1])
assert not np.array_equal(s["ema"][1], s["ema"][2])
x = lambda k: f[k]["samples"][()]
assert np.array_equal(x("at200"), x("s200")), "sampling snapshot 200 != the 200-step run"
assert np.array_equal(x("at200"), x("at200-again")), "ncsn run and ncsn sample differ"
assert np.array_equal(flat(f["at200"]), flat(f["s300"])), "/model is not the final weights"
assert f["at200"]["config"].attrs["sample.snapshot"] == 200
PY
for bad in "sample.snapshot=150|it is not a multiple of train.snapshot_every" \
           "sample.snapshot=400|it is beyond train.steps"; do
  set +e
  "$NCSN" run "${S[@]}" -s "${bad%%|*}" -o bad.h5 2>err; rc=$?
  set -e
  [ $rc -eq 2 ] && grep -q "sample.snapshot: no snapshot of step .*: ${bad#*|}" err ||
    fail "${bad%%|*}: exit $rc, $(cat err)"
  [ -e bad.h5 ] && fail "${bad%%|*}: wrote bad.h5"
done
set +e
"$NCSN" run -q -s sample.snapshot=100 -o bad.h5 2>err; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "train.snapshot_every is 0" err || fail "no snapshots kept: $(cat err)"
all_passed
