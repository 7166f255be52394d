"""test_labels.py: the report on data with labels (dataset.labels), where the classes play
the modes' part: a real sweep of three labelled clusters; modes.columns takes the minor class
and its training share from /metrics/train_shares, the leaderboard's "which configurations
recover the weights" speaks of classes, classifier_accuracy is a metric (not a swept key,
not a ranking choice), and the mode-weight figure draws the training shares as the truth."""

import math
import subprocess

import h5py
import numpy as np

import analysis
from analysis import leaderboard as LB
from analysis import modes as M
from analysis.figures import mode_weights_figure


def test_labelled_sweep(ncsn_bin, tmp_path):
    rng = np.random.default_rng(3)
    k = np.repeat([0, 1, 2], [150, 100, 50])
    with h5py.File(tmp_path / "lab.h5", "w") as f:
        f["x"] = rng.normal(0, 0.3, (300, 4)) + 6.0 * k[:, None]
        f["x"].attrs["image_shape"] = np.array([2, 2], dtype=np.int64)  # as make-digits.sh
        f["y"] = k
    y = tmp_path / "s.yaml"
    y.write_text("dataset: {name: hdf5, path: %s, key: /x, labels: /y, n: 100000}\n"
                 "model: {hidden: 32}\ntrain: {steps: [30, 300], batch: 32}\n"
                 "noise: {L: 6}\nsample: {n: 200, T: 5, max_bad_fraction: 1}\nsweep: {repeats: 2}\n"
                 % (tmp_path / "lab.h5"))
    d = str(tmp_path / "out")
    r = subprocess.run([ncsn_bin, "sweep", str(y), "-q", "-o", d], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    res = analysis.load(d)
    assert res.swept_keys == ["train.steps"]
    assert "classifier_accuracy" in res.metric_names
    assert np.all(res.table["classifier_accuracy"] == 1.0)
    run = res.run(res.ids[0])
    shares = np.asarray(run.metrics["train_shares"])
    mc = M.columns(res)
    assert mc["minor"] == int(np.argmin(shares)) == 2
    assert mc["truth"] == shares[2] and mc["mean"] is None
    assert LB.has_modes(res)
    for i, rid in enumerate(res.ids):  # the minor class's share of each run's samples
        w = res.run(rid).metrics["mode_weights"]
        np.testing.assert_equal(mc["minor_weight"][i], w[2])  # NaN where no sample was good
        assert math.isnan(mc["off_data"][i])
    groups = LB.group_rows(res, "mode_weight_error")
    text = "\n".join(LB.verdict_lines(res, groups))
    assert "The classes play the modes' part" in text
    assert "The smallest class (class 2) has training share %.3g" % shares[2] in text
    fig = mode_weights_figure(res.runs())
    bars = fig.axes[0].containers[0]
    assert np.allclose([b.get_height() for b in bars], shares)

    # the samples as images beside their nearest images of the data file
    from analysis import images
    from analysis import configs as C
    rows = C.rows(res, "mode_weight_error")
    shown = [(r["name"], r["group"]) for r in rows]
    img = images.find_images(res, shown)
    assert img is not None and img["shape"] == (2, 2) and img["x"].shape == (300, 4)
    x = img["x"]
    s = res.run(res.ids[0]).samples[:50].astype(np.float64)
    s[3] = np.nan
    brute = [int(np.argmin(((x - v) ** 2).sum(1))) if np.isfinite(v).all() else -1 for v in s]
    assert images.nearest(s, x).tolist() == brute
    fig = images.samples_images_figure(res, shown, img, per_run=3)
    arts = {a.get_gid(): a for ax in fig.axes for a in ax.get_images()}
    for _, g in shown:
        for rid in [i for i in res.ids if i.startswith(g)]:
            smp = res.run(rid).samples[:3].astype(np.float64)
            near = images.nearest(smp, x)
            for j in range(3):
                np.testing.assert_allclose(arts["sample:%s:%d" % (rid, j)].get_array(),
                                           np.clip(smp[j], x.min(), x.max()).reshape(2, 2))
                np.testing.assert_allclose(arts["nearest:%s:%d" % (rid, j)].get_array(),
                                           x[near[j]].reshape(2, 2))
    # without image_shape: no image figure
    with h5py.File(tmp_path / "lab.h5", "r+") as f:
        del f["x"].attrs["image_shape"]
    assert images.find_images(res, shown) is None
    # the data file gone: the report says why there is no image figure
    (tmp_path / "lab.h5").rename(tmp_path / "elsewhere.h5")
    assert images.find_images(res, shown) == {"missing": str(tmp_path / "lab.h5")}
