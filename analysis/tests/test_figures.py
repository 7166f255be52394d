"""test_figures.py: each figure holds the right data (read back from its artists, never
its pixels): samples, density, learned and true score fields, score error, loss, metrics
against swept keys, the heatmap's means, mode weights."""

import numpy as np

import analysis
from analysis import figures as F


def artist(fig, gid):
    found = [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == gid]
    assert len(found) == 1, "%d artists with gid %r" % (len(found), gid)
    return found[0]


def test_samples_and_modes(sweep_dir):
    res = analysis.load(sweep_dir[0])
    runs = res.runs()[:3]
    fig = F.samples_figure(runs, "mmd2")
    for ax, run in zip(fig.axes, runs):
        sc = [a for a in ax.collections if a.get_gid() == "samples"]
        np.testing.assert_allclose(sc[0].get_offsets(), run.samples)
        assert run.id in ax.get_title()
        cs = fig.contour_sets["density:" + run.id]
        assert cs.zmax > 0 and np.isclose(cs.zmax, run.mixture.density([[-5, -5]]).max(),
                                          rtol=0.05)
    fig = F.mode_weights_figure(runs)
    ax = fig.axes[0]
    bars = {c.get_label(): [p.get_height() for p in c.patches] for c in ax.containers}
    np.testing.assert_allclose(bars["truth"], [0.95, 0.05])
    for run in runs:
        np.testing.assert_allclose(bars[run.id], run.metrics["mode_weights"])


def test_score_field(run_file):
    run = analysis.load(run_file).run("small")
    fig = F.score_field_figure(run)
    levels = F.pick_levels(run.sigmas)
    assert levels == [0, 4, 7]  # L = 8: largest, middle, smallest
    for li in levels:
        sigma = run.sigmas[li]
        for what, fn in (("learned", lambda p: analysis.score(run.model, run.config, p, sigma)),
                         ("true", lambda p: run.mixture.score(p, sigma))):
            q = artist(fig, "%s:%d" % (what, li))
            P = np.stack([np.ravel(q.X), np.ravel(q.Y)], 1)
            s = fn(P)
            np.testing.assert_allclose(np.ravel(q.U), s[:, 0])
            np.testing.assert_allclose(np.ravel(q.V), s[:, 1])
            cs = fig.contour_sets["%s_norm:%d" % (what, li)]
            X, Y, G = F.grid(*F._grid_range(run, run.mixture), 80)
            norm = np.linalg.norm(fn(G), axis=1)
            assert np.isclose(cs.zmax, norm.max()) and np.isclose(cs.zmin, norm.min())
    # the window covers the notebook's [-10, 10]
    assert F._grid_range(run, run.mixture) == (-10.0, 10.0)


def test_score_error_and_loss(sweep_dir):
    res = analysis.load(sweep_dir[0])
    runs = res.runs()[:2]
    fig = F.score_error_figure(runs)
    assert fig.axes[0].get_xscale() == "log"
    for run in runs:
        line = artist(fig, "score_error:" + run.id)
        np.testing.assert_array_equal(line.get_xdata(), run.sigmas)
        np.testing.assert_array_equal(line.get_ydata(), run.metrics["score_error"])
    fig = F.loss_figure(runs)
    for run in runs:
        line = artist(fig, "loss:" + run.id)
        np.testing.assert_array_equal(line.get_xdata(), run.loss_step)
        np.testing.assert_allclose(line.get_ydata(), run.loss)


def test_metric_vs_key(sweep_dir):
    res = analysis.load(sweep_dir[0])
    t = res.table
    ok = np.isfinite(t["mmd2"])
    fig = F.metric_vs_key_figure(res, "train.lr", ["mmd2", "swd"])
    for ax, m in zip(fig.axes, ["mmd2", "swd"]):
        assert ax.get_xscale() == "log"  # 1e-4 .. 1e-2
        off = [c for c in ax.collections if c.get_gid() == "runs"][0].get_offsets()
        np.testing.assert_array_equal(off[:, 0], t["train.lr"][ok])
        np.testing.assert_array_equal(off[:, 1], t[m][ok])
        med = [ln for ln in ax.lines if ln.get_gid() == "median"][0]
        np.testing.assert_array_equal(med.get_xdata(), [1e-4, 1e-3, 1e-2])
        for x, y in zip(med.get_xdata(), med.get_ydata()):
            assert np.isclose(y, np.median(t[m][ok & (t["train.lr"] == x)]))
    fig = F.metric_vs_key_figure(res, "model.sigma_input", ["mmd2"])
    ax = fig.axes[0]
    assert [tl.get_text() for tl in ax.get_xticklabels()] == ["log_sigma", "sigma"]
    off = [c for c in ax.collections if c.get_gid() == "runs"][0].get_offsets()
    np.testing.assert_array_equal(off[:, 0], (t["model.sigma_input"][ok] == "sigma") * 1.0)


def test_heatmap(sweep_dir):
    res = analysis.load(sweep_dir[0])
    t = res.table
    fig = F.heatmap_figure(res, "train.lr", "model.sigma_input", "mmd2")
    M = artist(fig, "heatmap").get_array()
    assert M.shape == (2, 3)  # (sigma_input: log_sigma, sigma) x (lr: 1e-4, 1e-3, 1e-2)
    for j, inp in enumerate(["log_sigma", "sigma"]):
        for i, lr in enumerate([1e-4, 1e-3, 1e-2]):
            sel = (t["model.sigma_input"] == inp) & (t["train.lr"] == lr) & np.isfinite(t["mmd2"])
            if sel.any():
                assert np.isclose(M[j, i], np.median(t["mmd2"][sel]))
            else:
                assert M.mask[j, i]
    # lr 1e-2 with log_sigma (c0005): one run running, one queued: masked;
    # with sigma (c0004): one failed, one complete: that one's value
    assert M.mask[0, 2] and not M.mask[1, 2]
    note = F.heatmap_blank_note(res, "train.lr", "model.sigma_input", "mmd2")
    assert note.startswith("; 1 blank cell: no run there has a finite mmd2")


def test_robust_limits():
    rng = np.random.default_rng(1)
    y = rng.uniform(0.1, 0.6, 95)
    lo, hi, log = F.robust_limits(np.append(y, 9e18))  # swd of one run that blew up
    assert not log and lo < y.min() and y.max() < hi < 1.0
    lo, hi, log = F.robust_limits(y)  # nothing beyond the fences: every value inside
    assert lo <= y.min() and hi >= y.max()
    z = 10 ** rng.uniform(-4, -1, 50)  # spans decades: log, every value inside
    lo, hi, log = F.robust_limits(z)
    assert log and lo <= z.min() and hi >= z.max()
    assert np.isnan(F.robust_limits([np.nan])[0])


def test_metric_vs_key_outliers(sweep_dir, tmp_path):
    """One run's swd set to 9e18: drawn on the axis' edge, counted, the rest unflattened."""
    import shutil
    d = str(tmp_path / "sweep")
    shutil.copytree(sweep_dir[0], d)
    res = analysis.load(d)
    i = int(np.flatnonzero(np.isfinite(res.table["swd"]))[0])
    res.table["swd"][i] = 9e18
    fig = F.metric_vs_key_figure(res, "train.lr", ["swd"])
    ax = fig.axes[0]
    ok = np.isfinite(res.table["swd"])
    others = res.table["swd"][ok & (np.arange(len(res.table)) != i)]
    lo, hi = ax.get_ylim()
    assert hi < 1e3 and lo <= others.min() and hi >= others.max()
    up = [c for c in ax.collections if c.get_gid() == "above"][0].get_offsets()
    assert up.shape == (1, 2) and up[0, 1] == hi and up[0, 0] == res.table["train.lr"][i]
    assert "1 run beyond the axis" in ax.get_title() and "9e+18" in ax.get_title()


def test_config_figures(mixed_sweep):
    """Per configuration: every repeat drawn, the median over repeats of the smoothed loss
    and of the score error, the mode weights' mean, repeats and truth."""
    from analysis import config_figures as CF
    from analysis import configs as C
    res = analysis.load(mixed_sweep)
    rows = C.rows(res, "mode_weight_error", 1.0)
    shown = [(C.name(res, r, "c0000"), r["group"]) for r in rows
             if r["group"] in ("c0000", "c0002")]
    fig = CF.samples_figure(res, shown)
    for _, g in shown:
        for rid, run, _ in CF.group_runs(res, g):
            sc = [a for ax in fig.axes for a in ax.collections if a.get_gid() == "samples"
                  and rid in ax.get_title()]
            assert len(sc) == 1
            np.testing.assert_allclose(sc[0].get_offsets(), run.samples)
    fig = CF.loss_figure(res, shown, "c0000")
    ax = fig.axes[0]
    for _, g in shown:
        runs = [r for _, r, _ in CF.group_runs(res, g)]
        sm = [CF.smooth(r.loss, max(3, len(r.loss) // 15)) for r in runs]
        med = artist(fig, "loss_median:" + g)
        np.testing.assert_allclose(med.get_ydata(), np.median(np.stack(sm), axis=0))
        np.testing.assert_array_equal(med.get_xdata(), runs[0].loss_step)
    fig = CF.score_error_figure(res, shown, "c0000")
    for _, g in shown:
        runs = [r for _, r, _ in CF.group_runs(res, g)]
        line = artist(fig, "score_error:" + g)
        np.testing.assert_allclose(line.get_ydata(), np.median(
            np.stack([r.metrics["score_error"] for r in runs]), axis=0))
    fig = CF.mode_weights_figure(res, shown, "c0000")
    assert len(fig.axes) == 2  # one panel per mode
    for k, ax in enumerate(fig.axes):
        truth = [a for a in ax.collections if a.get_gid() == "truth:%d" % k][0]
        assert np.isclose(truth.get_segments()[0][0][1], [0.95, 0.05][k])
        for _, g in shown:
            W = np.stack([r.metrics["mode_weights"] for _, r, _ in CF.group_runs(res, g)])
            dots = [a for a in ax.collections if a.get_gid() == "repeat:%s:0" % g][0]
            assert np.isclose(dots.get_offsets()[0, 1], W[0, k])
    assert CF.smooth([1, 100, 1, 1, 1], 3).tolist() == [50.5, 1, 1, 1, 1]
