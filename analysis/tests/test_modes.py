"""test_modes.py: the minor mode's weight, the off-the-data share, the poor-fit guard and
what they do to the leaderboard: the chi-square radius, the per-run columns against numpy
computed here, a run whose samples sit far from the data but split exactly like the truth
(it would win on mode_weight_error) and one whose mmd2 is 100 times the best ranked after
the rest, the verdicts, and the minor-weight figure."""

import math

import numpy as np
import pytest

import analysis
from analysis import figures as F
from analysis import leaderboard as LB
from analysis import modes as M
from analysis.model import Mixture


def test_chi2_quantile():
    # D = 2: P(chi2 > x) = exp(-x / 2); D = 1: (Phi^-1(0.9995))^2 = 3.2905^2
    assert math.isclose(M.chi2_quantile(2, 0.999), -2 * math.log(0.001), rel_tol=1e-10)
    assert math.isclose(M.chi2_quantile(1, 0.999), 3.2905267314919255 ** 2, rel_tol=1e-9)
    assert math.isclose(M.chi2_quantile(10, 0.999), 29.588298445074, rel_tol=1e-9)
    assert math.isclose(M.chi2_quantile(4, 0.5), 3.356693980033322, rel_tol=1e-9)


def test_off_data_share():
    mix = Mixture([0.95, 0.05], [[-5, -5], [5, 5]], [1.0, 2.0])
    x = mix.sample(200000, np.random.default_rng(1))
    assert abs(M.off_data_share(x, mix) - M.OFF_DATA_P) < 3e-4  # by construction
    far = np.array([[20.0, 20.0], [0.0, 0.0], [-5.0, -5.0], [5.0, 12.0]])
    # (0, 0): 7.07 from the first mean (7.07 std > 3.72), 7.07 / 2 = 3.54 std from the
    # second (inside); (5, 12): 7 / 2 = 3.5 std from the second: inside
    assert M.off_data_share(far, mix) == 0.25
    assert math.isnan(M.off_data_share(np.array([[np.nan, 0.0]]), mix))
    assert math.isnan(M.off_data_share(np.zeros((3, 3)), mix))  # wrong D
    assert M.minor_index(mix) == 1
    assert M.minor_index(Mixture([0.2, 0.1, 0.7], np.zeros((3, 2)), 1.0)) == 1


def test_columns(sweep_dir):
    res = analysis.load(sweep_dir[0])
    mc = M.columns(res)
    assert mc["minor"] == 1 and mc["truth"] == 0.05
    np.testing.assert_array_equal(mc["mean"], [5, 5])
    for i, rid in enumerate(res.ids):
        if not res.has_file(rid):
            assert math.isnan(mc["minor_weight"][i]) and math.isnan(mc["off_data"][i])
            continue
        run = res.run(rid)
        assert mc["minor_weight"][i] == run.metrics["mode_weights"][1]
        x = run.samples.astype(np.float64)
        d = np.sqrt(((x[:, None, :] - np.array([[-5, -5], [5, 5]])[None]) ** 2).sum(-1))
        assert mc["off_data"][i] == (d.min(1) > math.sqrt(-2 * math.log(0.001))).mean()
    assert M.columns(res) is mc  # computed once
    # the small runs fit badly, but the best configuration sets the bar
    t = res.table
    means = [np.nanmean(t["mmd2"][t["group"] == g]) for g in set(t["group"])
             if np.isfinite(t["mmd2"][t["group"] == g]).any()]
    assert np.isclose(mc["fit_limit"], 10 * max(min(means), 1e-4))
    for i in range(len(t)):
        want = "off data" if mc["off_data"][i] > 0.1 else \
            "poor fit" if t["mmd2"][i] > mc["fit_limit"] else ""
        assert mc["flag"][i] == want


def test_off_data_run_ranks_last(mixed_sweep):
    """c0000-r0 sits off the data with perfect weights: it would win on mode_weight_error."""
    res = analysis.load(mixed_sweep)
    t = res.table
    off_i = res.ids.index("c0000-r0")
    assert M.columns(res)["off_data"][off_i] == 1.0
    order = LB.ranked(res, "mode_weight_error")
    fin = np.isfinite(t["mode_weight_error"])
    assert t["mode_weight_error"][off_i] == min(t["mode_weight_error"][fin])
    # after every unflagged run: the last two finite ones are the flagged ones
    assert off_i in order[int(fin.sum()) - 2:int(fin.sum())]
    rows = LB.run_rows(res, "mode_weight_error")
    flagged = [r for r in rows if r["flag"]]
    assert [(r["id"], r["flag"]) for r in flagged] == [("c0000-r0", "off data"),
                                                       ("c0001-r1", "poor fit")]
    assert M.columns(res)["fit_limit"] == 10 * 0.0005
    assert rows[0]["id"] != "c0000-r0" and rows[0]["off_data"] < 0.01
    groups = LB.group_rows(res, "mode_weight_error", tol=1.0)
    g0 = [g for g in groups if g["group"] == "c0000"][0]
    assert not g0["sound"] and g0["flagged"] == 1 and g0["ok"] == 1
    assert g0["flags"] == "off data"
    assert g0["recovers"] == "1/2" and g0["verdict"] == "partly"
    ranked = [g for g in groups if math.isfinite(g["mode_weight_error_mean"])]
    sound = [g["sound"] for g in ranked]
    assert sound == sorted(sound, reverse=True)  # sound groups first
    md = LB.markdown(res, "mode_weight_error", 3, tol=1.0)
    assert "off data" in md and "poor fit" in md
    line = [x for x in md.splitlines() if x.startswith("- Ranked after the sound ones")][0]
    assert sorted(line.rstrip(".").split(": ")[1].split(", ")) == ["c0000", "c0001", "c0004"]


@pytest.mark.parametrize("which", ["own", "mixed"])
def test_verdicts(sweep_dir, mixed_sweep, which):
    """On the small runs' own samples (every one off the data: no verdict is yes) and on
    samples from the truth (c0000-r0 off the data)."""
    res = analysis.load(sweep_dir[0] if which == "own" else mixed_sweep)
    t = res.table
    mc = M.columns(res)
    for tol in (0.0, 0.01, 1.0):
        groups = LB.group_rows(res, "mmd2", tol)
        for g in groups:
            idx = np.flatnonzero(t["group"] == g["group"])
            ok = [(t["status"][i] == "complete" and mc["flag"][i] == ""
                   and t["mode_weight_error"][i] <= tol) for i in idx]
            assert g["recovers"] == "%d/%d" % (sum(ok), len(idx))
            done = [t["status"][i] not in ("queued", "running") for i in idx]
            fin = [o for o, d in zip(ok, done) if d]
            word = "yes" if all(fin) else "no" if not any(fin) else "partly"
            if not any(done):
                assert g["verdict"] == "pending"
            else:
                assert g["verdict"] == word + ("" if all(done) else " so far")
            w = mc["minor_weight"][idx]
            w = w[np.isfinite(w)]
            if w.size:
                assert np.isclose(g["minor_weight_mean"], w.mean())
        yes = {g["group"] for g in groups if g["verdict"] == "yes"}
        if which == "own":
            assert not yes and all(mc["off_data"][np.isfinite(mc["off_data"])] > 0.5)
        elif tol == 1.0:  # every complete run on the data recovers
            assert yes == {"c0002", "c0003"}
    md = LB.markdown(res, "mode_weight_error", 3, tol=1.0)
    assert "## Which configurations recover the weights" in md
    assert "minor weight (truth 0.05)" in md
    if which == "mixed":
        assert "**Recover** (every one of their repeats): 2 of 6 configurations" in md
    else:
        assert "**No configuration recovers the weights**" in md


def test_minor_weight_figure(mixed_sweep):
    res = analysis.load(mixed_sweep)
    groups = LB.group_rows(res, "mode_weight_error", 0.02)
    fig = F.minor_weight_figure(res, groups, 0.02)
    ax = fig.axes[0]
    truth = [ln for ln in ax.lines if ln.get_gid() == "truth"][0]
    assert truth.get_xdata()[0] == 0.05
    t = res.table
    mc = M.columns(res)
    labels = [tl.get_text() for tl in ax.get_yticklabels()]
    assert [lab.split()[0] for lab in labels] == [g["group"] for g in groups]
    for row, g in enumerate(groups):
        idx = np.flatnonzero(t["group"] == g["group"])
        w, off = mc["minor_weight"][idx], mc["flag"][idx] != ""
        dots = [c for c in ax.collections if c.get_gid() == "repeats:" + g["group"]][0]
        np.testing.assert_allclose(dots.get_offsets()[:, 0], w[np.isfinite(w) & ~off])
        assert (dots.get_offsets()[:, 1] == -row).all()
        if off.any():
            x = [c for c in ax.collections if c.get_gid() == "flagged:" + g["group"]][0]
            np.testing.assert_allclose(x.get_offsets()[:, 0], w[off])
    assert "train.lr" not in labels[0] and "lr=" in labels[0]
