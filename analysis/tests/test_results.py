"""test_results.py: loading: one run file, a sweep directory through its sweep.h5 (built by
the test to summary.h's layout), a sweep still running (queued, running and failed rows
with NaN metrics), a directory of run files without sweep.h5, and clear errors."""

import importlib.util
import os
import shutil
import subprocess

import h5py
import numpy as np
import pytest

import analysis
from analysis.results import AnalysisError, METRICS

from . import helpers


def test_single_run_file(run_file):
    res = analysis.load(run_file)
    assert res.kind == "run" and len(res) == 1 and res.ids == ["small"]
    assert res.swept_keys == []
    run = res.run("small")
    assert run._cache == {}  # nothing read before it is asked for
    with h5py.File(run_file, "r") as f:
        np.testing.assert_array_equal(run.samples, f["samples"][()])
        assert run.metrics["mmd2"] == f["metrics/mmd2"][()]
        assert res.table["mmd2"][0] == f["metrics/mmd2"][()]
        np.testing.assert_array_equal(run.metrics["mode_weights"], f["metrics/mode_weights"][()])
        np.testing.assert_array_equal(run.sigmas, f["noise/sigmas"][()])
        np.testing.assert_array_equal(run.loss, f["train/loss"][()])
        assert run.config["train.lr"] == f["config"].attrs["train.lr"]
    assert set(run.model) == set(analysis.model.TENSOR_NAMES)
    assert run.model["backbone.0.weight"].shape == (128, 18)
    assert run.model["sigma_emb.0.weight"].shape == (16, 1)
    assert run.status == "complete" and res.table["status"][0] == "complete"
    assert run.config["model.sigma_input"] == "sigma"
    np.testing.assert_allclose(run.mixture.weights, [0.95, 0.05])
    assert res.default_metric() == "mode_weight_error"


def test_sweep_directory(sweep_dir):
    d, rows = sweep_dir
    for path in (d, os.path.join(d, "sweep.h5")):
        res = analysis.load(path)
        assert res.kind == "sweep"
        assert res.ids == [r["id"] for r in rows]
        assert res.swept_keys == ["train.lr", "model.sigma_input"]
        assert res.attrs["n_runs"] == 12 and res.attrs["format_version"] == 1
        t = res.table
        assert t["status"].dtype.kind == "U" and t["model.sigma_input"].dtype.kind == "U"
        assert list(t["status"]).count("complete") == 9
        assert t["status"][res.ids.index(helpers.FAILED)] == "failed"
        assert t["status"][res.ids.index(helpers.RUNNING)] == "running"
        assert t["status"][res.ids.index(helpers.QUEUED)] == "queued"
        assert "D <= 4" in t["error"][res.ids.index(helpers.FAILED)]
        for i, rid in enumerate(res.ids):
            if t["status"][i] != "complete":
                assert np.isnan([t[m][i] for m in METRICS]).all()
                assert not res.has_file(rid)
                with pytest.raises(LookupError, match="no run file"):
                    res.run(rid)
                continue
            run = res.run(rid)
            assert run.metrics["swd"] == t["swd"][i]
            assert run.config["train.lr"] == t["train.lr"][i]
            assert run.config["model.sigma_input"] == t["model.sigma_input"][i]
            assert run.config["seed"] == t["seed"][i]
        assert res.default_metric() == "mode_weight_error"
        with pytest.raises(KeyError):
            res.run("c9999")
    # the external links resolve as summary.h promises
    with h5py.File(os.path.join(d, "sweep.h5"), "r") as f:
        assert f["run/c0000-r0/samples"].shape == (400, 2)


def test_df(sweep_dir):
    res = analysis.load(sweep_dir[0])
    if importlib.util.find_spec("pandas") is None:
        with pytest.raises(ImportError, match="pandas"):
            res.df
        with pytest.raises(ImportError, match="pandas"):
            res.configs_df()
        return
    df = res.df
    # indexed by id, without an "id" column to clash with it
    assert df.index.name == "id" and list(df.index) == res.ids and "id" not in df.columns
    np.testing.assert_array_equal(df["mmd2"].to_numpy(), res.table["mmd2"])
    assert df.loc[helpers.FAILED, "status"] == "failed"
    assert "D <= 4" in df.loc[helpers.FAILED, "error"]
    assert df.reset_index()["id"].tolist() == res.ids
    assert df.groupby("group")["mmd2"].median().shape == (6,)
    assert df["model.sigma_input"].map(type).eq(str).all()
    c = res.configs_df()
    assert c.index.name == "group" and list(c.index) == [str(g) for g in res.configs()["group"]]
    assert c.loc["c0000", "baseline"] and c["baseline"].sum() == 1


def test_stale_summary_row_read_from_run_file(sweep_dir, tmp_path):
    """sweep.h5 says running, but the run file has since appeared: use the file."""
    d, rows = sweep_dir
    d2 = str(tmp_path / "sweep")
    shutil.copytree(d, d2)
    rows = [dict(r) for r in rows]
    rows[0]["status"] = "running"
    os.rename(os.path.join(d2, "runs", "c0000-r0.h5"), os.path.join(d2, "x"))
    helpers.write_sweep_h5(d2, rows, helpers.SWEPT)  # row 0 without metrics, no link
    os.rename(os.path.join(d2, "x"), os.path.join(d2, "runs", "c0000-r0.h5"))
    res = analysis.load(d2)
    assert res.table["status"][0] == "complete"
    assert res.table["mmd2"][0] == analysis.load(d).table["mmd2"][0]
    assert res.run("c0000-r0").samples.shape == (400, 2)


def test_directory_without_summary(sweep_dir, tmp_path):
    """Before the first sweep.h5: runs/*.h5, runs/*.failed and claims/ give the table."""
    d = str(tmp_path / "sweep")
    shutil.copytree(sweep_dir[0], d)
    os.remove(os.path.join(d, "sweep.h5"))
    res = analysis.load(d)
    assert res.kind == "runs"
    assert sorted(res.swept_keys) == ["model.sigma_input", "train.lr"]
    full = analysis.load(sweep_dir[0])
    want = [r for r in full.ids if r != helpers.QUEUED]  # a queued run leaves no trace
    assert res.ids == want
    t = res.table
    assert t["status"][res.ids.index(helpers.FAILED)] == "failed"
    assert t["status"][res.ids.index(helpers.RUNNING)] == "running"
    assert list(t["group"]) == [r.split("-r")[0] for r in want]
    for rid in want:
        i, j = res.ids.index(rid), full.ids.index(rid)
        assert t["repeat"][i] == full.table["repeat"][j]
        np.testing.assert_array_equal(t["mmd2"][i], full.table["mmd2"][j])
        if full.table["status"][j] == "complete":
            assert t["train.lr"][i] == full.table["train.lr"][j]
            assert t["model.sigma_input"][i] == full.table["model.sigma_input"][j]


def test_plain_directory_groups_by_configuration(ncsn_bin, tmp_path):
    """Run files with free names: runs that differ only in seed form one group."""
    for name, kv in (("a", ["seed=1"]), ("b", ["seed=2"]), ("c", ["seed=1", "train.lr=0.01"])):
        helpers.make_run(str(tmp_path / (name + ".h5")), "train.steps=50", "sample.n=100", *kv)
    res = analysis.load(str(tmp_path))
    assert res.swept_keys == ["train.lr"]
    assert list(res.table["group"]) == ["a", "a", "c"]
    assert list(res.table["repeat"]) == [0, 1, 0]


def test_errors(tmp_path):
    with pytest.raises(AnalysisError, match="no such file"):
        analysis.load(str(tmp_path / "missing.h5"))
    p = tmp_path / "text.h5"
    p.write_text("hello")
    with pytest.raises(AnalysisError, match="not an HDF5 file"):
        analysis.load(str(p))
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(AnalysisError, match="not an ncsn run file"):
        analysis.load(str(tmp_path / "other.h5"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(AnalysisError, match="no ncsn run files"):
        analysis.load(str(tmp_path / "empty"))
    with h5py.File(tmp_path / "v2.h5", "w") as f:
        f.create_dataset("runs", data=np.zeros(1, [("id", "S4"), ("status", "S4")]))
        f.attrs["format_version"] = 2
    with pytest.raises(AnalysisError, match="format_version 2"):
        analysis.load(str(tmp_path / "v2.h5"))


def test_fixed_length_strings(sweep_dir, tmp_path):
    """ncsn's own writer stores the strings of /runs fixed-length (h5py: numpy "S")."""
    d, rows = sweep_dir
    d2 = str(tmp_path / "sweep")
    shutil.copytree(d, d2)
    helpers.write_sweep_h5(d2, rows, helpers.SWEPT, fixed=True)
    with h5py.File(os.path.join(d2, "sweep.h5"), "r") as f:
        assert f["runs"].dtype["status"].kind == "S"
    a, b = analysis.load(d), analysis.load(d2)
    assert a.table.dtype.names == b.table.dtype.names
    for k in a.table.dtype.names:
        np.testing.assert_array_equal(a.table[k], b.table[k], err_msg=k)


def test_real_sweep(ncsn_bin, tmp_path):
    """A sweep run by `ncsn sweep` itself, where this binary has that command."""
    probe = subprocess.run([ncsn_bin, "sweep", "--help"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("this ncsn has no sweep command")
    y = tmp_path / "s.yaml"
    y.write_text("dataset: {n: 200}\ntrain: {steps: 100, batch: 64, lr: [0.001, 0.01]}\n"
                 "noise: {L: 6}\nsample: {n: 200, T: 5, max_bad_fraction: 1}\nsweep: {repeats: 2}\n")
    d = str(tmp_path / "out")
    r = subprocess.run([ncsn_bin, "sweep", str(y), "-q", "-o", d], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    res = analysis.load(d)
    assert res.kind == "sweep" and res.swept_keys == ["train.lr"]
    assert res.ids == ["c0000-r0", "c0000-r1", "c0001-r0", "c0001-r1"]
    assert list(res.table["group"]) == ["c0000", "c0000", "c0001", "c0001"]
    assert list(res.table["status"]) == ["complete"] * 4
    for i, rid in enumerate(res.ids):
        run = res.run(rid)
        assert run.config["train.lr"] == res.table["train.lr"][i]
        assert run.config["seed"] == res.table["seed"][i]
        for m in METRICS:
            if m in run.metrics:
                assert run.metrics[m] == res.table[m][i], m
            else:  # written only for data with labels, or by newer versions: NaN here
                assert m in ("classifier_accuracy", "n_bad") and np.isnan(res.table[m][i]), m
    for m in ("fd", "noise_floor_fd", "nn_ratio"):  # in every run file, any data
        assert np.isfinite(res.table[m]).all(), m


def test_run_state_precedence():
    """A run's state from its files, in summary.h's precedence: runs/<id>.failed first (a
    diverged run has a run file too), then the run file, then the claim."""
    from analysis.results import run_state
    assert run_state(True, True, True) == "failed"
    assert run_state(False, True, False) == "failed"
    assert run_state(True, False, True) == "finished"
    assert run_state(False, False, True) == "running"
    assert run_state(False, False, False) == "queued"


def test_keys_as_asked(ncsn_bin, tmp_path):
    """A real sweep with a boolean key and a key that is "auto" in some runs: booleans are
    bool in the table, the auto origin is a KEY_auto column beside the resolved value, the
    sweep's expansion gives what every run asked for, the baseline is the first
    configuration, and the per-configuration table names each by how it differs."""
    y = tmp_path / "s.yaml"
    y.write_text("dataset: {n: 200}\nmodel: {scale_by_sigma: [false, true]}\n"
                 "train: {steps: 50, batch: 32}\nnoise: {L: 6}\n"
                 "sample: {n: 100, T: 5, eps: [0.001, auto], max_bad_fraction: 1}\n"
                 "sweep: {repeats: 2}\n")
    d = str(tmp_path / "out")
    r = subprocess.run([ncsn_bin, "sweep", str(y), "-q", "-o", d], capture_output=True,
                       text=True)
    assert r.returncode in (0, 1), r.stderr
    res = analysis.load(d)
    t = res.table
    assert res.swept_keys == ["model.scale_by_sigma", "sample.eps"]
    assert res.auto_keys == ["sample.eps"] and res.settings["mode"] == "grid"
    assert t["model.scale_by_sigma"].dtype == bool
    assert list(t["model.scale_by_sigma"]) == [False] * 4 + [True] * 4
    assert list(t["sample.eps_auto"]) == [False, False, True, True] * 2
    assert t.dtype.names.index("sample.eps_auto") == t.dtype.names.index("sample.eps") + 1
    for i, rid in enumerate(res.ids):
        run = res.run(rid)
        assert run.config["model.scale_by_sigma"] == t["model.scale_by_sigma"][i]
        assert run.config["sample.eps"] == t["sample.eps"][i]
        assert (run.config["eps_source"] != "explicit") == t["sample.eps_auto"][i]
        assert res.spec[rid]["sample.eps"] == ("auto" if t["sample.eps_auto"][i] else "0.001")
    from analysis import configs as C
    assert C.baseline(res) == "c0000"
    c = res.configs(metric="mmd2")
    assert list(c["group"]) == sorted(c["group"], key=lambda g: list(c["group"]).index(g))
    by = {str(g): k for k, g in enumerate(c["group"])}
    assert c["baseline"][by["c0000"]] and c["baseline"].sum() == 1
    assert c["differs"][by["c0000"]] == ""
    assert c["differs"][by["c0003"]] == "model.scale_by_sigma=true, sample.eps=auto"
    assert c["differs"][by["c0001"]] == "sample.eps=auto"
    assert c["sample.eps_auto"][by["c0001"]] and not c["sample.eps_auto"][by["c0002"]]
    assert c["model.scale_by_sigma"].dtype == bool and c["model.scale_by_sigma"][by["c0002"]]
    for k, g in enumerate(c["group"]):
        sel = t["group"] == g
        v = t["mmd2"][sel]
        v = v[np.isfinite(v)]
        assert c["runs"][k] == 2 and c["n"][k] == v.size
        if v.size:
            assert np.isclose(c["mmd2_median"][k], np.median(v))
            assert np.isclose(c["mmd2_mean"][k], v.mean())
    # the same from a directory of run files without sweep.h5 (no expansion at hand)
    os.remove(os.path.join(d, "sweep.h5"))
    os.remove(os.path.join(d, "sweep.txt"))
    res2 = analysis.load(d)
    assert res2.kind == "runs" and res2.auto_keys == ["sample.eps"]
    assert res2.table["model.scale_by_sigma"].dtype == bool
    done = [i for i, rid in enumerate(res.ids) if res.has_file(rid)]
    np.testing.assert_array_equal(res2.table["sample.eps_auto"],
                                  t["sample.eps_auto"][done])
    assert C.baseline(res2) == "c0000"


def test_parse_canonical():
    from analysis.results import parse_canonical, spec_value
    text = ("# ncsn sweep 1\nmode: grid\ntrials: 0\nrepeats: 2\nbase_seed: 0\nruns: 2\n"
            "swept: dataset.means sample.eps\nfirst run:\n# ncsn configuration\nseed: 5\n"
            "sample:\n  eps: 0.001\n"
            "c0000-r0: {seed: 5, dataset.means: [[-5, -5], [5, 5]], sample.eps: 0.001}\n"
            "c0001-r0: {seed: 6, dataset.means: [[0, 0], [1, 1]], sample.eps: auto}\n")
    settings, swept, spec = parse_canonical(text)
    assert settings["mode"] == "grid" and settings["repeats"] == "2"
    assert "seed" not in settings and "eps" not in settings  # the first run's config
    assert swept == ["dataset.means", "sample.eps"]
    assert spec == {"c0000-r0": {"seed": "5", "dataset.means": "[[-5, -5], [5, 5]]",
                                 "sample.eps": "0.001"},
                    "c0001-r0": {"seed": "6", "dataset.means": "[[0, 0], [1, 1]]",
                                 "sample.eps": "auto"}}
    assert parse_canonical("# test sweep\n") == ({}, [], {})
    assert [spec_value(v) for v in ("auto", "true", "3", "0.5", "[[1, 2]]", "sigma")] == \
        ["auto", True, 3, 0.5, [[1, 2]], "sigma"]


def test_error_and_n_bad(sweep_dir, tmp_path):
    """An older sweep.h5 with an empty error column: the reason comes from
    runs/<id>.failed; a newer one with an n_bad column: the table has it."""
    import numpy.lib.recfunctions as rfn
    d, rows = sweep_dir
    d2 = str(tmp_path / "sweep")
    shutil.copytree(d, d2)
    rows = [dict(r, error="") for r in rows]
    helpers.write_sweep_h5(d2, rows, helpers.SWEPT)
    res = analysis.load(d2)
    assert "D <= 4" in res.table["error"][res.ids.index(helpers.FAILED)]
    assert np.isnan(res.table["n_bad"]).all()  # not in this file: NaN
    with h5py.File(os.path.join(d2, "sweep.h5"), "r+") as f:
        runs = f["runs"][()]
        nb = np.arange(len(runs), dtype=np.int64)
        runs = rfn.append_fields(runs, "n_bad", nb, usemask=False)
        del f["runs"]
        f["runs"] = runs
    res = analysis.load(d2)
    assert "n_bad" not in res.swept_keys
    np.testing.assert_array_equal(res.table["n_bad"], np.arange(len(rows)))
    c = res.configs(metric="mmd2")
    for k, g in enumerate(c["group"]):
        assert c["n_bad"][k] == res.table["n_bad"][res.table["group"] == g].sum()
