"""test_steps.py: metrics against the training step. A real sweep over sample.snapshot
(train.lr x sample.snapshot, 2 repeats, 4 trainings) whose run files get samples with known
mode weights per step: the table's train_step, Results.by_step's best step, the decision's
step table, metric_vs_step.png's lines and points, and the snapshot weights a run sampled."""

import csv
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

import analysis
from analysis import configs as C
from analysis import figures as F
from analysis import steps as S

from . import helpers

SWEEP = """seed: 0
dataset: {name: gmm, n: 200, weights: [0.95, 0.05], means: [[-5, -5], [5, 5]], std: 1.0}
train: {steps: 300, batch: 64, snapshot_every: 100, ema: 0.9, lr: [0.001, 0.0003]}
noise: {L: 8}
sample: {n: 400, T: 5, snapshot: [0, 100, 200], max_bad_fraction: 1}
sweep: {repeats: 2}
"""
# mode_weight_error of each repeat, per (train.lr, step): the lr 0.001 training is best at
# step 200 (both repeats recover, mean 0.0125), the lr 0.0003 one at step 100 (mean 0.0075)
ERRORS = {(0.001, 100): (0.10, 0.12), (0.001, 200): (0.01, 0.015), (0.001, 300): (0.03, 0.01),
          (0.0003, 100): (0.005, 0.01), (0.0003, 200): (0.02, 0.04),
          (0.0003, 300): (0.2, 0.3)}
BASE = "the baseline's training"


def mixture_with_error(n, err, rng):
    """n points at the two means (noise 0.3) with the minor mode's share 0.05 + err."""
    k = int(round(n * (0.05 + err)))
    x = np.concatenate([rng.normal(5, 0.3, (k, 2)), rng.normal(-5, 0.3, (n - k, 2))])
    return x


@pytest.fixture(scope="module")
def step_sweep(ncsn_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp("steps")
    (d / "s.yaml").write_text(SWEEP)
    out = str(d / "sweep")
    helpers.ncsn("sweep", str(d / "s.yaml"), "-o", out)
    res = analysis.load(out)
    rng = np.random.default_rng(3)
    rows = []
    for i, rid in enumerate(res.ids):
        t = res.table[i]
        step = int(t["sample.snapshot"]) or 300
        e = ERRORS[(float(t["train.lr"]), step)][int(t["repeat"])]
        helpers.set_samples(os.path.join(out, "runs", rid + ".h5"),
                            mixture_with_error(400, e, rng), 0.001)
        rows.append({k: analysis.results._py(t[k]) for k in ("id", "group", "repeat",
                                                              "status", "seed")})
    helpers.write_sweep_h5(out, rows, [("train.lr", "f8"), ("sample.snapshot", "i8")],
                           sweep_text=res.attrs["sweep"])
    return out


def test_train_step_column(step_sweep, sweep_dir):
    res = analysis.load(step_sweep)
    t = res.table
    np.testing.assert_array_equal(t["train_step"],
                                  np.where(t["sample.snapshot"] == 0, 300, t["sample.snapshot"]))
    np.testing.assert_allclose(t["mode_weight_error"], [
        ERRORS[(lr, s)][r] for lr, s, r in zip(t["train.lr"], t["train_step"], t["repeat"])],
        atol=1e-12)
    cfg = res.configs()
    assert {(str(g), int(s)) for g, s in zip(cfg["group"], cfg["train_step"])} == {
        ("c0000", 300), ("c0001", 100), ("c0002", 200), ("c0003", 300), ("c0004", 100),
        ("c0005", 200)}
    # a sweep without snapshots: every run at train.steps, no step view
    res = analysis.load(sweep_dir[0])
    done = res.table["status"] == "complete"
    assert (res.table["train_step"][done] == 300).all()
    assert len(res.by_step()) == 0
    assert S.blocks(res, C.rows(res, "mode_weight_error"), "mode_weight_error") == []


def test_by_step_best(step_sweep):
    res = analysis.load(step_sweep)
    bs = res.by_step()
    assert len(bs) == 6
    assert list(bs["training"]) == [BASE] * 3 + ["train.lr=0.0003"] * 3  # baseline first
    assert list(bs["train_step"]) == [100, 200, 300] * 2
    assert list(bs["final"]) == [False, False, True] * 2
    assert list(bs["group"]) == ["c0001", "c0002", "c0000", "c0004", "c0005", "c0003"]
    for r in bs:
        errs = ERRORS[(float(r["train.lr"]), int(r["train_step"]))]
        assert np.isclose(r["mode_weight_error_mean"], np.mean(errs))
        assert np.isclose(r["mode_weight_error_std"], np.std(errs, ddof=1))
    best = bs[bs["best"]]
    assert [(float(r["train.lr"]), int(r["train_step"])) for r in best] == \
        [(0.001, 200), (0.0003, 100)]
    assert list(best["recovers"]) == [2, 2]
    # by mmd2 (equal everywhere) the ranking keeps the groups' order; most recovering first
    assert res.by_step("mmd2")["best"].sum() == 2


def test_decision_names_the_best_step(step_sweep, tmp_path):
    out = str(tmp_path / "rep")
    r = subprocess.run([sys.executable, "-m", "analysis", "report", step_sweep, "-o", out],
                       cwd=helpers.REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    md = open(os.path.join(out, "leaderboard.md")).read()
    decision = md[md.index("## Decision"):md.index("## Which")]
    assert "before the end of training for 2 of 2" in decision
    assert "| %s | 200 | c0002 | yes 2/2 | 0.0125 ± 0.00354 | 0.02 ± 0.0141 |" % BASE \
        in decision
    assert "| train.lr=0.0003 | 100 | c0004 | yes 2/2 | 0.0075 ± 0.00354 | 0.25 ± 0.0707 |" \
        in decision
    # the recommended configurations carry their step
    assert "| c0004 (train.lr=0.0003, sample.snapshot=100) | 100 | yes 2/2 |" in decision
    with open(os.path.join(out, "leaderboard_groups.csv")) as fh:
        steps = {g["group"]: float(g["train_step"]) for g in csv.DictReader(fh)}
    assert steps == {"c0000": 300, "c0001": 100, "c0002": 200, "c0003": 300, "c0004": 100,
                     "c0005": 200}
    with open(os.path.join(out, "leaderboard.csv")) as fh:
        assert {(r["id"][:5], float(r["train_step"])) for r in csv.DictReader(fh)} == \
            set(steps.items())
    pngs = set(os.listdir(out))
    assert "metric_vs_step.png" in pngs and "metric_vs_train.lr.png" in pngs
    assert "metric_vs_sample.snapshot.png" not in pngs
    page = open(os.path.join(out, "index.html")).read()
    assert page.index("<b>Along training.</b>") < page.index("<img src='metric_vs_step.png'") \
        < page.index("<h2>Which configurations")


def test_metric_vs_step_figure(step_sweep):
    res = analysis.load(step_sweep)
    rows = C.rows(res, "mode_weight_error")
    lines = S.lines(res, rows, "mode_weight_error")
    assert [ln["label"] for ln in lines] == [BASE, "train.lr=0.0003"]
    fig = F.metric_vs_step_figure(res, lines, ["mode_weight_error", "mmd2", "score_error"],
                                  "mode_weight_error")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 3
    for ax, m in zip(axes, ["mode_weight_error", "mmd2", "score_error"]):
        gids = [a.get_gid() for a in ax.get_children() if a.get_gid()]
        for ln, lr in zip(lines, (0.001, 0.0003)):
            mean = [a for a in ax.lines if a.get_gid() == "mean:" + ln["label"]]
            assert len(mean) == 1
            np.testing.assert_array_equal(mean[0].get_xdata(), [100, 200, 300])
            reps = [a for a in ax.lines if a.get_gid().startswith("repeat:%s:" % ln["label"])]
            assert len(reps) == 2 and all(len(a.get_xdata()) == 3 for a in reps)
            if m == "mode_weight_error":
                band = [a for a in ax.collections if a.get_gid() == "spread:" + ln["label"]]
                y = band[0].get_paths()[0].vertices[:, 1]
                errs = [e for s in (100, 200, 300) for e in ERRORS[(lr, s)]]
                assert np.isclose(y.min(), min(errs)) and np.isclose(y.max(), max(errs))
                np.testing.assert_allclose(mean[0].get_ydata(),
                                           [np.mean(ERRORS[(lr, s)]) for s in (100, 200, 300)])
                np.testing.assert_allclose(reps[1].get_ydata(),
                                           [ERRORS[(lr, s)][1] for s in (100, 200, 300)])
            if m == "score_error":
                for p, y in zip(ln["points"], mean[0].get_ydata()):
                    e = [res.run(res.ids[i]).metrics["score_error"].mean() for i in p["idx"]]
                    assert np.isclose(y, np.mean(e))
        stars = {g: a for a in ax.lines for g in [a.get_gid()] if g.startswith("best:")}
        assert len(stars) == (2 if m == "mode_weight_error" else 0), gids
    stars = {a.get_gid(): a for a in axes[0].lines if a.get_gid().startswith("best:")}
    assert list(stars["best:" + BASE].get_xdata()) == [200]
    assert np.isclose(stars["best:" + BASE].get_ydata()[0], 0.0125)
    assert list(stars["best:train.lr=0.0003"].get_xdata()) == [100]
    assert np.isclose(stars["best:train.lr=0.0003"].get_ydata()[0], 0.0075)


def test_sampled_model_is_the_snapshot(step_sweep):
    res = analysis.load(step_sweep)
    order = analysis.model.TENSOR_NAMES
    final, snap = res.run("c0000-r0"), res.run("c0002-r0")  # final weights, step 200
    assert final.sampled_model is final.model
    with h5py.File(snap.path, "r") as f:
        assert list(f["snapshots/step"][()]) == [100, 200, 300]
        ema = f["snapshots/ema"][()]
        model = f["snapshots/model"][()]
    flat = np.concatenate([snap.sampled_model[n].ravel() for n in order])
    np.testing.assert_array_equal(flat, ema[1])  # train.ema 0.9: the EMA copy
    assert not np.array_equal(flat, model[1])
    np.testing.assert_array_equal(np.concatenate([snap.model[n].ravel() for n in order]),
                                  ema[2])  # /model stays the final weights
    x = np.array([[0.5, -1.0]])
    np.testing.assert_allclose(snap.score(x, 1.0),
                               analysis.score(snap.sampled_model, snap.config, x, 1.0))
