"""helpers.py: what the tests share: running the real ncsn binary, and building a sweep
directory with a DIR/sweep.h5 written by h5py exactly as include/ncsn/summary.h lays it out
(until ncsn's own sweep runner writes one)."""

import os
import subprocess

import h5py
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Small and fast: a few hundred steps, a few hundred chains.
SMALL = ["train.steps=300", "train.batch=64", "dataset.n=200", "sample.n=400",
         "sample.T=10", "noise.L=8",
         "sample.max_bad_fraction=1"]  # barely trained: sample quality is not tested here

METRICS = ("mmd2", "swd", "mode_weight_error", "nll_true", "final_loss", "train_seconds",
           "sample_seconds", "noise_floor_mmd2", "noise_floor_swd", "fd", "noise_floor_fd",
           "nn_ratio", "classifier_accuracy")


def ncsn_bin():
    """The binary from NCSN_BIN (ctest sets it), else build/ncsn; None when absent."""
    p = os.environ.get("NCSN_BIN") or os.path.join(REPO, "build", "ncsn")
    return p if os.path.isfile(p) and os.access(p, os.X_OK) else None


def ncsn(*args):
    """Runs `ncsn ARGS -q`; fails the test with ncsn's stderr when it fails."""
    r = subprocess.run([ncsn_bin()] + [str(a) for a in args] + ["-q"],
                       capture_output=True, text=True)
    assert r.returncode == 0, "ncsn %s: exit %d\n%s" % (" ".join(map(str, args)),
                                                          r.returncode, r.stderr)


def sets(*kv):
    """["-s", "a=1", "-s", "b=2"] from "a=1", "b=2"."""
    out = []
    for s in kv:
        out += ["-s", s]
    return out


def make_run(path, *kv):
    ncsn("run", *sets(*(SMALL + list(kv))), "-o", path)
    return path


def write_sweep_h5(d, rows, swept, sweep_text="# test sweep\n", fixed=False):
    """DIR/sweep.h5 per summary.h: compound /runs (id, group, repeat, status, seed, each
    swept key, the metrics, error), /run/<id> external links to runs/<id>.h5 for runs that
    have a run file, and the root attributes. rows: dicts with id, group, repeat, status,
    seed, error; swept values and metrics are read from the run file when it exists
    (NaN, or the row's own value, otherwise). swept: [(key, "f8" | "i8" | "str")].
    Strings are variable-length UTF-8, or with fixed=True fixed-length UTF-8 as wide as
    the longest value (what ncsn's writer, src/sweep/summary.c, does)."""
    str_t = h5py.string_dtype()
    str_fields = {"id", "group", "status", "error"} | {k for k, t in swept if t == "str"}

    def width(k):
        return max(1, max(len(str(r.get(k, "")).encode()) for r in rows))

    def st(k):
        return h5py.string_dtype("utf-8", width(k) + 8) if fixed else str_t

    kinds = {"f8": np.float64, "i8": np.int64}
    dtype = ([("id", st("id")), ("group", st("group")), ("repeat", np.int64),
              ("status", st("status")), ("seed", np.uint64)]
             + [(k, st(k) if t == "str" else kinds[t]) for k, t in swept]
             + [(m, np.float64) for m in METRICS] + [("error", st("error"))])
    arr = np.zeros(len(rows), dtype=dtype)
    for i, r in enumerate(rows):
        p = os.path.join(d, "runs", r["id"] + ".h5")
        cfg, met = {}, {}
        if os.path.exists(p) and r["status"] != "corrupt":
            with h5py.File(p, "r") as f:
                cfg = dict(f["config"].attrs)
                met = {k: f["metrics"][k][()] for k in f["metrics"]}
        def put(k, v):
            if k in str_fields:
                v = v.decode() if isinstance(v, bytes) else str(v)
                v = v.encode() if fixed else v
            arr[i][k] = v
        for k in ("id", "group", "repeat", "status", "seed", "error"):
            put(k, r.get(k, "" if k == "error" else 0))
        for k, t in swept:
            put(k, cfg.get(k, r.get(k)))
        for m in METRICS:
            arr[i][m] = float(met[m]) if m in met else np.nan
    counts = {s: sum(1 for r in rows if r["status"] == s)
              for s in ("complete", "failed", "running", "queued")}
    tmp = os.path.join(d, "sweep.h5.tmp")
    with h5py.File(tmp, "w") as f:
        f.create_dataset("runs", data=arr)
        g = f.create_group("run")
        for r in rows:  # no link for a corrupt run (summary.h)
            if os.path.exists(os.path.join(d, "runs", r["id"] + ".h5")) and \
                    r["status"] != "corrupt":
                g[r["id"]] = h5py.ExternalLink("runs/%s.h5" % r["id"], "/")
        f.attrs["format_version"] = np.int64(1)
        f.attrs["ncsn_version"] = "0.1.0"
        f.attrs["n_runs"] = np.int64(len(rows))
        for s, n in counts.items():
            f.attrs["n_" + s] = np.int64(n)
        f.attrs["updated"] = "2026-01-01T00:00:00Z"
        f.attrs["sweep"] = sweep_text
    os.replace(tmp, os.path.join(d, "sweep.h5"))


# The test sweep: train.lr x model.sigma_input, 2 repeats = 12 runs, of which
# c0004-r1 failed (runs/c0004-r1.failed), c0005-r0 is running (claimed, no file) and
# c0005-r1 is queued.
LRS = (1e-4, 1e-3, 1e-2)
INPUTS = ("sigma", "log_sigma")
SWEPT = [("train.lr", "f8"), ("model.sigma_input", "str")]
FAILED, RUNNING, QUEUED = "c0004-r1", "c0005-r0", "c0005-r1"


def make_sweep(d):
    for sub in ("runs", "claims", "logs"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    rows = []
    c = 0
    for lr in LRS:
        for inp in INPUTS:
            for rep in range(2):
                rid = "c%04d-r%d" % (c, rep)
                row = {"id": rid, "group": "c%04d" % c, "repeat": rep,
                       "seed": 1000 + 10 * c + rep, "train.lr": lr, "model.sigma_input": inp}
                if rid == FAILED:
                    open(os.path.join(d, "claims", rid), "w").close()
                    with open(os.path.join(d, "runs", rid + ".failed"), "w") as fh:
                        fh.write("noise.L: auto has no solution for D <= 4\n")
                    row.update(status="failed", error="noise.L: auto has no solution for D <= 4")
                elif rid == RUNNING:
                    open(os.path.join(d, "claims", rid), "w").close()
                    row["status"] = "running"
                elif rid == QUEUED:
                    row["status"] = "queued"
                else:
                    open(os.path.join(d, "claims", rid), "w").close()
                    make_run(os.path.join(d, "runs", rid + ".h5"), "seed=%d" % row["seed"],
                             "train.lr=%g" % lr, "model.sigma_input=" + inp)
                    row["status"] = "complete"
                rows.append(row)
            c += 1
    write_sweep_h5(d, rows, SWEPT)
    return rows


def set_samples(path, x, mmd2):
    """Replaces a run file's /samples with x (same shape), its mode weights and
    mode_weight_error with the nearest-mean shares of x, as ncsn would measure them, and
    its mmd2 with the given value."""
    from analysis.model import Mixture
    with h5py.File(path, "r+") as f:
        mix = Mixture.from_config({k: v for k, v in f["config"].attrs.items()})
        f["samples"][...] = x.astype(np.float32)
        d = ((x[:, None, :] - mix.means[None]) ** 2).sum(-1)
        w = np.bincount(d.argmin(1), minlength=mix.K) / len(x)
        f["metrics/mode_weights"][...] = w
        f["metrics/mode_weight_error"][()] = np.abs(w - mix.weights).max()
        f["metrics/mmd2"][()] = mmd2


def make_mixed_sweep(src, d, rows):
    """A copy of the test sweep (make_sweep) whose complete runs have samples drawn from the
    true mixture (the small runs' own samples lie off the data) and mmd2 0.0005, except
    c0000-r0, whose samples sit at three times the means, split exactly 0.95 / 0.05: off
    the data with perfect mode weights (mmd2 0.5), and c0001-r1, samples from the truth
    but mmd2 0.05: a poor fit (over 10 times the best configuration's 0.0005)."""
    import shutil
    from analysis.model import Mixture
    shutil.copytree(src, d)
    mix = Mixture([0.95, 0.05], [[-5, -5], [5, 5]], 1.0)
    rng = np.random.default_rng(7)
    for r in rows:
        p = os.path.join(d, "runs", r["id"] + ".h5")
        if r["status"] != "complete":
            continue
        with h5py.File(p, "r") as f:
            n = f["samples"].shape[0]
        mmd2 = {"c0000-r0": 0.5, "c0001-r1": 0.05}.get(r["id"], 0.0005)
        if r["id"] == "c0000-r0":
            k = int(round(0.05 * n))
            x = np.full((n, 2), -15.0)
            x[:k] = 15.0
        else:
            x = mix.sample(n, rng)
        set_samples(p, x, mmd2)
    write_sweep_h5(d, rows, SWEPT)
    return d
