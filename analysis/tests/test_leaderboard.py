"""test_leaderboard.py: ranking and groups against numpy computed here, and the CSV files
read back."""

import csv
import math

import numpy as np

import analysis
from analysis import leaderboard as LB


def test_ranking_and_groups(sweep_dir):
    res = analysis.load(sweep_dir[0])
    t = res.table
    for metric in ("mode_weight_error", "mmd2", "swd"):
        rows = LB.run_rows(res, metric)
        vals = [r[metric] for r in rows]
        finite = [v for v in vals if math.isfinite(v)]
        assert finite == sorted(t[metric][np.isfinite(t[metric])].tolist())
        assert all(math.isnan(v) for v in vals[len(finite):])  # unfinished last
        assert [r["rank"] for r in rows[:len(finite)]] == list(range(1, len(finite) + 1))
        assert {r["status"] for r in rows[len(finite):]} == {"failed", "running", "queued"}
        groups = LB.group_rows(res, metric)
        assert len(groups) == 6
        for g in groups:
            v = t[metric][(t["group"] == g["group"]) & np.isfinite(t[metric])]
            assert g["n"] == v.size and g["runs"] == 2
            if v.size:
                assert np.isclose(g[metric + "_mean"], v.mean())
            if v.size >= 2:
                assert np.isclose(g[metric + "_std"], v.std(ddof=1))
            else:
                assert math.isnan(g[metric + "_std"])
            first = np.flatnonzero(t["group"] == g["group"])[0]
            assert g["train.lr"] == t["train.lr"][first]
        means = [g[metric + "_mean"] for g in groups]
        assert [m for m in means if math.isfinite(m)] == sorted(m for m in means if math.isfinite(m))
        assert math.isnan(means[-1])  # c0005: one running, one queued: no value


def test_csv(sweep_dir, tmp_path):
    res = analysis.load(sweep_dir[0])
    rows = LB.run_rows(res, "mmd2")
    p = str(tmp_path / "l.csv")
    LB.write_csv(rows, LB.run_columns(res, "mmd2"), p)
    with open(p) as fh:
        back = list(csv.DictReader(fh))
    assert [b["id"] for b in back] == [r["id"] for r in rows]
    for b, r in zip(back, rows):
        assert (math.isnan(float(b["mmd2"])) and math.isnan(r["mmd2"])) or float(b["mmd2"]) == r["mmd2"]
        assert b["model.sigma_input"] == r["model.sigma_input"]
        assert float(b["train.lr"]) == r["train.lr"]
    md = LB.markdown(res, "mmd2", 3)
    assert "## Groups over repeats" in md and "## Not complete" in md
    assert "6 more ranked runs" in md
    # fd and nn_ratio (real run files) are shown and said what they mean
    assert all(math.isfinite(r["fd"]) and math.isfinite(r["nn_ratio"])
               for r in rows if r["status"] == "complete")
    assert "fd" in LB.display_columns(res, "mmd2", rows)
    assert "nn_ratio: median distance from a sample to its nearest training point" in md
    assert "fd: Fréchet distance" in md
