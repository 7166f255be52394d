"""test_cli.py: `python3 -m analysis report` as a user runs it: on a sweep directory that is
still running and on one run file, the files it writes (leaderboard CSV read back against
the table, every figure shown in index.html), --help, and exit status 2 for bad input."""

import csv
import math
import os
import re
import shutil
import subprocess
import sys

import h5py
import numpy as np

import analysis

from . import helpers
from .helpers import REPO, FAILED, RUNNING, QUEUED


def cli(*args):
    return subprocess.run([sys.executable, "-m", "analysis"] + [str(a) for a in args],
                          cwd=REPO, capture_output=True, text=True)


def check_index(outdir):
    with open(os.path.join(outdir, "index.html")) as fh:
        page = fh.read()
    shown = set(re.findall(r"<img src='([^']+)'", page))
    pngs = {f for f in os.listdir(outdir) if f.endswith(".png")}
    assert shown == pngs and pngs
    assert page.count("<figcaption>") == len(pngs)
    return page, pngs


def test_report_on_running_sweep(sweep_dir, tmp_path):
    d, _ = sweep_dir
    out = str(tmp_path / "rep")
    r = cli("report", d, "-o", out, "--top", "3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == os.path.join(out, "index.html")
    page, pngs = check_index(out)
    assert {"samples.png", "loss.png", "score_error.png", "mode_weights.png",
            "metric_vs_train.lr.png", "metric_vs_model.sigma_input.png",
            "heatmap_train.lr__model.sigma_input.png", "minor_weight.png"} <= pngs
    # one score field per configuration shown: the baseline (c0000) and the best one
    assert len([p for p in pngs if p.startswith("score_field_")]) == 2
    assert "score_field_c0000.png" in pngs
    for rid in (FAILED, RUNNING, QUEUED):
        assert rid in page
    # the decision first, each figure once, the failure and its reason, no markdown left
    assert page.index("<h2>Decision</h2>") < page.index("<h2>Failures</h2>") \
        < page.index("Groups over repeats") < page.index("<h2>Single runs</h2>")
    assert "<b>Baseline</b> c0000" in page
    assert page.count("<img src='minor_weight.png'") == 1
    assert "`" not in page and "**" not in page
    assert "noise.L: auto has no solution" in page
    assert "analysis: 1 of 12 runs did not complete" in r.stderr
    assert "%s failed: noise.L: auto has no solution" % FAILED in r.stderr
    # leaderboard.csv: every run, ranked by mode_weight_error (the data has modes)
    res = analysis.load(d)
    with open(os.path.join(out, "leaderboard.csv")) as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["id"] for r in rows) == sorted(res.ids)
    v = [float(r["mode_weight_error"]) for r in rows]
    n = int(np.isfinite(res.table["mode_weight_error"]).sum())
    assert v[:n] == sorted(v[:n]) and all(math.isnan(x) for x in v[n:])
    assert {r["status"] for r in rows[n:]} == {"failed", "running", "queued"}
    assert "train.lr" in rows[0] and "model.sigma_input" in rows[0]
    with open(os.path.join(out, "leaderboard_groups.csv")) as fh:
        groups = list(csv.DictReader(fh))
    assert len(groups) == 6 and "mode_weight_error_std" in groups[0]
    assert {"verdict", "recovers", "minor_weight_mean", "minor_weight_std", "flagged"} <= set(groups[0])
    md = open(os.path.join(out, "leaderboard.md")).read()
    assert "mode_weight_error" in md and "Groups over repeats" in md
    assert md.index("## Decision") < md.index("## Failures") \
        < md.index("Which configurations recover") < md.index("Groups over repeats") \
        < md.index("Best runs")
    assert "| c0000 (baseline) |" in md
    assert "Which configurations recover the weights" in page

    # the default output folder, and another metric
    r = cli("report", d, "--metric", "mmd2", "--top", "1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == os.path.join(d, "report", "index.html")
    assert "ranked by **mmd2**" in open(os.path.join(d, "report", "leaderboard.md")).read()


def test_report_tol(mixed_sweep, tmp_path):
    """--tol 1: every complete run on the data that fits recovers; c0000-r0 is off the
    data, c0001-r1 a poor fit."""
    out = str(tmp_path / "rep")
    r = cli("report", mixed_sweep, "-o", out, "--tol", "1")
    assert r.returncode == 0, r.stderr
    with open(os.path.join(out, "leaderboard_groups.csv")) as fh:
        verdicts = {g["group"]: g["verdict"] for g in csv.DictReader(fh)}
    assert verdicts == {"c0000": "partly", "c0001": "partly", "c0002": "yes", "c0003": "yes",
                        "c0004": "partly", "c0005": "pending"}
    with open(os.path.join(out, "leaderboard.csv")) as fh:
        rows = list(csv.DictReader(fh))
    finished = [x for x in rows if x["mode_weight_error"] != "nan"]
    assert {(x["id"], x["flag"]) for x in finished[-2:]} == {("c0000-r0", "off data"),
                                                            ("c0001-r1", "poor fit")}
    assert not any(x["flag"] for x in finished[:-2])
    page, pngs = check_index(out)
    assert "minor_weight.png" in pngs
    assert "<b>Recover</b>" in page and "<i>poor fit</i>" in page and "**" not in page
    # the decision: the baseline c0000 (off the data in one repeat) against c0002 and c0003,
    # every repeat of each drawn
    assert "<b>Recommended: 2 of 6 configurations recover the weights" in page
    md = open(os.path.join(out, "leaderboard.md")).read()
    decision = md[md.index("## Decision"):md.index("## Failures")]
    first = decision.index("| c0000 (baseline) | partly 1/2")
    assert first < decision.index("| c0002 (train.lr=0.001) | yes 2/2")
    assert first < decision.index("| c0003 (train.lr=0.001, model.sigma_input=log_sigma) | yes 2/2")
    assert "samples of every repeat of the baseline and the recommended configurations" \
        in page.lower()


def test_report_on_run_file(run_file):
    r = cli("report", run_file)
    assert r.returncode == 0, r.stderr
    out = os.path.join(os.path.dirname(run_file), "small_report")
    assert r.stdout.strip() == os.path.join(out, "index.html")
    _, pngs = check_index(out)
    assert {"samples.png", "loss.png", "score_error.png", "mode_weights.png",
            "score_field_small.png", "minor_weight.png"} == pngs
    with open(os.path.join(out, "leaderboard.csv")) as fh:
        rows = list(csv.DictReader(fh))
    with h5py.File(run_file, "r") as f:
        assert float(rows[0]["mode_weight_error"]) == f["metrics/mode_weight_error"][()]


def test_help_and_errors(tmp_path):
    r = cli("--help")
    assert r.returncode == 0 and "report" in r.stdout
    r = cli("report", "--help")
    assert r.returncode == 0 and "--metric" in r.stdout and "--top" in r.stdout
    r = cli("report", str(tmp_path / "nope"))
    assert r.returncode == 2 and "no such file" in r.stderr
    p = tmp_path / "x.h5"
    p.write_text("not hdf5")
    r = cli("report", str(p))
    assert r.returncode == 2 and "not an HDF5 file" in r.stderr
    with h5py.File(tmp_path / "y.h5", "w") as f:
        f["a"] = 1
    r = cli("report", str(tmp_path / "y.h5"))
    assert r.returncode == 2 and "not an ncsn run file" in r.stderr
    r = cli("report", str(tmp_path), "--metric", "accuracy")
    assert r.returncode == 2 and "invalid choice" in r.stderr
    r = cli("report", str(tmp_path), "--metric", "nn_ratio")  # best near 1: not a ranking
    assert r.returncode == 2 and "invalid choice" in r.stderr
    r = cli("report", str(tmp_path), "--metric", "classifier_accuracy")  # higher is better
    assert r.returncode == 2 and "invalid choice" in r.stderr
    r = cli("report", str(tmp_path), "--tol", "-1")
    assert r.returncode == 2 and "--tol" in r.stderr
    r = cli()
    assert r.returncode == 2


def test_report_with_corrupt_and_diverged_runs(ncsn_bin, sweep_dir, tmp_path):
    """summary.h's other statuses: a diverged run (a run file, NaN metrics) and a corrupt
    one (a file that is not a run file): marked, never plotted, no crash."""
    d, rows = sweep_dir
    d2 = str(tmp_path / "sweep")
    shutil.copytree(d, d2)
    rows = [dict(r) for r in rows]
    r = subprocess.run([ncsn_bin, "run", "-s", "train.lr=1e30", "-s", "train.steps=20",
                        "-s", "sample.n=100", "-q", "-o",
                        os.path.join(d2, "runs", RUNNING + ".h5")], capture_output=True)
    assert r.returncode == 1  # diverged
    with open(os.path.join(d2, "runs", QUEUED + ".h5"), "w") as fh:
        fh.write("truncated")
    for row in rows:
        if row["id"] == RUNNING:
            row["status"] = "diverged"
        if row["id"] == QUEUED:
            row.update(status="corrupt", error="runs/%s.h5: cannot open as HDF5" % QUEUED)
    helpers.write_sweep_h5(d2, rows, helpers.SWEPT)
    res = analysis.load(d2)
    assert res.has_file(RUNNING) and res.run(RUNNING).status == "diverged"
    assert not res.has_file(QUEUED)
    t = res.table
    for rid in (RUNNING, QUEUED):
        assert np.isnan(t["mode_weight_error"][res.ids.index(rid)])
    out = str(tmp_path / "rep")
    r = cli("report", d2, "-o", out)
    assert r.returncode == 0, r.stderr
    page, pngs = check_index(out)
    assert "corrupt" in page and "diverged" in page and "cannot open as HDF5" in page
    assert not any(RUNNING in p or QUEUED in p for p in pngs)
