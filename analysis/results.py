"""results.py: reading ncsn's HDF5 results: a sweep directory, its DIR/sweep.h5, or one run.

    load(PATH) -> Results      PATH: a sweep directory (DIR/sweep.h5, include/ncsn/summary.h),
                               that sweep.h5 itself, a directory of run files without a
                               sweep.h5 yet (DIR/runs/*.h5 or DIR/*.h5), or one run file;
                               a halving sweep's directory gives its last rung's results,
                               with Results.rungs (rungs.py) beside them
    Results.table              numpy structured array, one row per run: id, group, repeat,
                               status, seed, the swept keys (booleans as bool; KEY_auto
                               beside a key some runs set to auto), train_step (the
                               training step whose weights the run sampled: sample.snapshot,
                               or train.steps for the final weights), the metrics (NaN when
                               absent), error (why a run failed: sweep.h5's column, else
                               runs/<id>.failed); strings as numpy str
    Results.df                 the same as a pandas DataFrame indexed by id (ImportError
                               without pandas)
    Results.configs()          one row per configuration (configs.py); configs_df(): pandas
    Results.by_step()          each training configuration's metric at every training step
                               it was sampled at (steps.py); by_step_df(): pandas
    parse_canonical(text)      the sweep's expansion (sweep.h5's `sweep` attribute): what
                               every run asked for, the grid's settings
    Results.run(id) -> Run     one run file, opened on demand; every field read lazily:
                               samples, model (PyTorch names), sampled_model (the
                               snapshot it sampled, else model), metrics, config, sigmas,
                               loss_step, loss, status, mixture, score(x, sigma)
    AnalysisError              a path that is missing or not ncsn's (the CLI exits 2)

A sweep still running is fine: rows of queued, running and failed runs carry NaN metrics,
and a row whose run file appeared after sweep.h5 was last rewritten is read from that file.
"""

import glob
import math
import os
import re

import numpy as np
import h5py

from . import model as _model
from . import rungs as _rungs

# Fields of DIR/sweep.h5 /runs that are not swept keys (summary.h).
ID_FIELDS = ("id", "group", "repeat", "status", "seed")
METRICS = ("mmd2", "swd", "mode_weight_error", "nll_true", "final_loss", "train_seconds",
           "sample_seconds", "noise_floor_mmd2", "noise_floor_swd", "fd", "noise_floor_fd",
           "nn_ratio", "classifier_accuracy", "n_bad")
# The metrics a leaderboard can rank by (lower is better): not nn_ratio, which is best near 1
# (far below 1: samples that copy training points), nor classifier_accuracy (data with
# labels: the k-NN classifier's held-out accuracy, the same for every run of the data), nor
# n_bad (the samples left out of the metrics: non-finite or far outside the data; written
# by newer ncsn versions, NaN in older files).
RANKING = tuple(m for m in METRICS if m not in ("nn_ratio", "classifier_accuracy", "n_bad"))
# Rows with these statuses have no usable run file (summary.h); every other status but
# queued and running is a finished run whose file says how it ended (complete, diverged,
# bad_samples, nonfinite_samples in older files, or a status newer versions add).
NO_FILE = ("failed", "corrupt")
UNFINISHED = ("queued", "running")
# A run's state in a sweep directory, from which of runs/<id>.h5, runs/<id>.failed and
# claims/<id> exist: the precedence of include/ncsn/summary.h (ncsn_run_state_of), which the
# runner and sweep.h5 follow. A failed run may have a run file too (diverged, non-finite
# samples); wherever a run file exists its own status says how the run ended.
RUN_STATES = ("queued", "running", "finished", "failed")


def run_state(has_run_file, has_failed, has_claim):
    """'failed', 'finished', 'running' or 'queued', in that precedence (summary.h)."""
    if has_failed:
        return "failed"
    if has_run_file:
        return "finished"
    if has_claim:
        return "running"
    return "queued"


# /config attributes that are not configuration keys (never "swept").
_NOT_KEYS = ("origins",)


class AnalysisError(Exception):
    """A path the user gave that is missing or not an ncsn result (exit status 2)."""


def _open(path):
    """h5py.File read-only. ncsn writes every file under a temporary name and renames it
    into place, so a reader never meets a file that is being written."""
    return h5py.File(path, "r")


def _py(v):
    """An HDF5 attribute or field value as plain Python (str, int, float, bool) or ndarray."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.dtype.kind in "SO":
        return np.array([_py(u) for u in v.ravel()], dtype=object).reshape(v.shape)
    if isinstance(v, np.generic):
        return v.item()
    return v


def _flow(v):
    """A value as YAML flow text, the way sweep.h5 writes array keys: [[-5, -5], [5, 5]]."""
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_flow(u) for u in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "%g" % v
    return str(v)


def _finite(x):
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _split_flow(text):
    """'a: 1, b: [[1, 2], [3, 4]]' -> ['a: 1', 'b: [[1, 2], [3, 4]]'] (commas at depth 0)."""
    out, depth, cur = [], 0, []
    for ch in text:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


_RUN_LINE = re.compile(r"^(c\d{4,}(?:-r\d+)?): \{(.*)\}$")


def parse_canonical(text):
    """The expansion of a sweep file that ncsn keeps in sweep.h5's `sweep` attribute and in
    DIR/sweep.txt (src/sweep/spec.c, write_canonical): (settings, swept, spec) with settings
    {"mode": "grid" | "random", "repeats": "3", ...} (text), swept the swept keys in the
    file's order, and spec {run id: {key: value as written, e.g. "auto", "false", "0.001"}}
    for every run, unfinished ones included. ({}, [], {}) for text that is not one."""
    lines = (text or "").splitlines()
    # a halving rung's expansion (src/sweep/halving.c) opens with its own lines, then the
    # halving sweep's
    start = next((i for i, line in enumerate(lines) if line.startswith("# ncsn sweep")), None)
    if start is None or (start > 0 and not lines[0].startswith("# ncsn halving rung")):
        return {}, [], {}
    lines = lines[start:]
    settings, swept, spec = {}, [], {}
    in_first = False
    for line in lines[1:]:
        m = _RUN_LINE.match(line)
        if m:
            in_first = False
            vals = {}
            for item in _split_flow(m.group(2)):
                k, _, v = item.partition(": ")
                vals[k.strip()] = v.strip()
            spec[m.group(1)] = vals
        elif line.startswith("first run:"):
            in_first = True
        elif not in_first and ": " in line:
            k, _, v = line.partition(": ")
            settings[k.strip()] = v.strip()
            if k.strip() == "swept":
                swept = v.split()
        elif not in_first and line.startswith("swept:"):
            swept = line[len("swept:"):].split()
    return settings, swept, spec


def spec_value(text):
    """A value of parse_canonical's spec as Python: "auto" stays "auto", true/false bool,
    numbers int or float, [..] lists, anything else the text."""
    if text in ("true", "false"):
        return text == "true"
    if text == "auto":
        return "auto"
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    if text.startswith("["):
        try:
            import json
            return json.loads(text)
        except ValueError:
            pass
    return text


class Run:
    """One run file. Nothing is read until asked for; each field is read once."""

    def __init__(self, path, id=None):
        self.path = os.fspath(path)
        self.id = id if id is not None else os.path.splitext(os.path.basename(self.path))[0]
        self._cache = {}

    def __repr__(self):
        return "Run(%r, id=%r)" % (self.path, self.id)

    def _get(self, key, read):
        if key not in self._cache:
            with _open(self.path) as f:
                self._cache[key] = read(f)
        return self._cache[key]

    def h5(self):
        """The run file as an open h5py.File (close it yourself)."""
        return _open(self.path)

    @property
    def attrs(self):
        """Root attributes: format_version, ncsn_version, git_commit, status, config_yaml, created."""
        return self._get("attrs", lambda f: {k: _py(v) for k, v in f.attrs.items()})

    @property
    def status(self):
        return self.attrs.get("status", "unknown")

    @property
    def config(self):
        """Every resolved configuration value, from the /config attributes ("train.lr": 0.001)."""
        return self._get("config", lambda f: {k: _py(v) for k, v in f["config"].attrs.items()}
                         if "config" in f else {})

    @property
    def samples(self):
        """(n, D) float32."""
        return self._get("samples", lambda f: f["samples"][()])

    @property
    def model(self):
        """The network's weights under PyTorch's names: {"backbone.0.weight": (H, D + E), ...}."""
        def read(f):
            out = {}
            if "model" in f:
                for layer, g in f["model"].items():
                    for p, d in g.items():
                        out[layer + "." + p] = d[()]
            return out
        return self._get("model", read)

    @property
    def sampled_model(self):
        """The weights the run sampled (and its score error measured), under PyTorch's
        names: the snapshot of step sample.snapshot (its EMA copy with train.ema) from
        /snapshots (docs/computation.md, Snapshots), else /model, the final weights."""
        snap = int(self.config.get("sample.snapshot", 0) or 0)
        if snap <= 0:
            return self.model

        def read(f):
            if "snapshots" not in f or "model" not in f:
                return self.model
            steps = list(f["snapshots/step"][()])
            if snap not in steps:
                raise KeyError("%s: no snapshot of step %d in /snapshots" % (self.path, snap))
            which = "ema" if float(self.config.get("train.ema", 0) or 0) > 0 and \
                "ema" in f["snapshots"] else "model"
            flat = f["snapshots"][which][steps.index(snap)]
            out, at = {}, 0
            for name in _model.TENSOR_NAMES:  # the weights block's order
                layer, _, p = name.rpartition(".")
                shape = f["model"][layer][p].shape
                size = int(np.prod(shape))
                out[name] = np.asarray(flat[at:at + size]).reshape(shape)
                at += size
            if at != len(flat):
                raise KeyError("%s: /snapshots/%s holds %d weights, /model %d"
                               % (self.path, which, len(flat), at))
            return out
        return self._get("sampled_model", read)

    @property
    def metrics(self):
        """{name: float, or ndarray for mode_weights (K) and score_error (L)}."""
        def read(f):
            if "metrics" not in f:
                return {}
            return {k: (d[()] if d.shape else _py(d[()])) for k, d in f["metrics"].items()}
        return self._get("metrics", read)

    @property
    def sigmas(self):
        """(L) float64: the noise levels, largest first."""
        return self._get("sigmas", lambda f: f["noise/sigmas"][()] if "noise/sigmas" in f
                         else np.zeros(0))

    @property
    def loss_step(self):
        return self._get("loss_step", lambda f: f["train/step"][()] if "train/step" in f
                         else np.zeros(0, np.int64))

    @property
    def loss(self):
        return self._get("loss", lambda f: f["train/loss"][()] if "train/loss" in f
                         else np.zeros(0, np.float32))

    @property
    def mixture(self):
        """The data's Gaussian mixture (model.Mixture) when the configuration gives it, else None."""
        return _model.Mixture.from_config(self.config)

    def score(self, x, sigma):
        """The learned score s_theta(x, sigma) (n, D) of the weights the run sampled
        (sampled_model), in numpy (model.score)."""
        return _model.score(self.sampled_model, self.config, x, sigma)


def check_run_file(path):
    """Raises AnalysisError unless path is an ncsn run file."""
    try:
        with _open(path) as f:
            if "format_version" not in f.attrs or "samples" not in f:
                raise AnalysisError("%s: not an ncsn run file (no format_version attribute "
                                    "or /samples)" % path)
            fv = _py(f.attrs["format_version"])
            if fv != 1:
                raise AnalysisError("%s: run file format_version %s, this reader knows 1"
                                    % (path, fv))
    except OSError as e:
        raise AnalysisError("%s: not an HDF5 file (%s)" % (path, e)) from None


def _str_column(values):
    values = [("" if v is None else str(v)) for v in values]
    width = max([1] + [len(v) for v in values])
    return np.array(values, dtype="U%d" % width)


def _make_table(columns, names):
    """A structured array from {name: column array}, fields in the order of names."""
    arrays = [np.asarray(columns[k]) for k in names]
    dtype = [(k, a.dtype) for k, a in zip(names, arrays)]
    n = len(arrays[0]) if arrays else 0
    t = np.zeros(n, dtype=dtype)
    for k, a in zip(names, arrays):
        t[k] = a
    return t


class Results:
    """The runs of a sweep directory, of a directory of run files, or of one run file.

    kind         "sweep" (DIR/sweep.h5), "runs" (a directory of run files), or "run"
    path         the directory (or the run file for kind "run")
    table        numpy structured array, one row per run (see the module docstring)
    swept_keys   the dotted configuration keys that vary between runs, in table order
    auto_keys    the swept keys some of whose runs took their value from "auto": the table
                 has a bool column KEY_auto for each (the value column holds what auto
                 resolved to, NaN for a run that has not resolved it yet)
    attrs        sweep.h5's root attributes (counts, updated, sweep text), else {}
    settings     the sweep's settings from its expansion (mode, repeats, ...; text), else {}
    spec         {run id: {swept key: value as the sweep file gives it ("auto", "false",
                 "0.001")}} for every run of a sweep, unfinished ones included, else {}
    """

    def __init__(self, path, kind, table, swept_keys, files, attrs=None, auto_keys=(),
                 settings=None, spec=None):
        self.path = path
        self.kind = kind
        self.table = table
        self.swept_keys = list(swept_keys)
        self.auto_keys = list(auto_keys)
        self.attrs = dict(attrs or {})
        self.settings = dict(settings or {})
        self.spec = dict(spec or {})
        self._files = dict(files)  # id -> run file path (runs that have one)
        self._runs = {}
        self._index = {str(r): i for i, r in enumerate(table["id"])}

    def __repr__(self):
        return "<ncsn %s %s: %d runs>" % (self.kind, self.path, len(self.table))

    def __len__(self):
        return len(self.table)

    @property
    def ids(self):
        return [str(i) for i in self.table["id"]]

    @property
    def metric_names(self):
        return [m for m in METRICS if m in self.table.dtype.names]

    @property
    def df(self):
        """The table as a pandas DataFrame (needs pandas): indexed by run id (index name
        "id", no "id" column: df.loc["c0003-r1"], df.reset_index() for a plain column),
        boolean keys as bool, KEY_auto bool columns beside the keys that may be auto, NaN
        for missing metrics, the failure reason in "error" ("" when none)."""
        pd = _pandas("Results.df", "Results.table")
        names = [k for k in self.table.dtype.names if k != "id"]
        return pd.DataFrame({k: _df_column(self.table[k]) for k in names},
                            index=pd.Index(self.ids, name="id"))

    def configs(self, metric=None, tol=None):
        """One row per configuration (the repeats of a group), as a numpy structured array:
        analysis.configs.table. metric: the one summarised (default: default_metric());
        tol: the recovery tolerance (default modes.TOL)."""
        from . import configs as _configs
        return _configs.table(self, metric, tol)

    def configs_df(self, metric=None, tol=None):
        """configs() as a pandas DataFrame indexed by group (needs pandas)."""
        pd = _pandas("Results.configs_df", "Results.configs()")
        t = self.configs(metric, tol)
        names = [k for k in t.dtype.names if k != "group"]
        return pd.DataFrame({k: _df_column(t[k]) for k in names},
                            index=pd.Index([str(g) for g in t["group"]], name="group"))

    def by_step(self, metric=None, tol=None):
        """Each training configuration (the swept keys but sample.snapshot) at every
        training step it was sampled at, as a numpy structured array: analysis.steps.table
        (empty when no configuration was sampled at more than one step)."""
        from . import steps as _steps
        return _steps.table(self, metric, tol)

    def by_step_df(self, metric=None, tol=None):
        """by_step() as a pandas DataFrame (needs pandas)."""
        pd = _pandas("Results.by_step_df", "Results.by_step()")
        t = self.by_step(metric, tol)
        return pd.DataFrame({k: _df_column(t[k]) for k in t.dtype.names})

    def row(self, id):
        """The table row of run id as a dict."""
        if id not in self._index:
            raise KeyError("no run %r in %s" % (id, self.path))
        r = self.table[self._index[id]]
        return {k: _py(r[k]) for k in self.table.dtype.names}

    def has_file(self, id):
        return id in self._files

    def run(self, id):
        """Run id (a Run, opened on demand)."""
        if id not in self._runs:
            if id not in self._index:
                raise KeyError("no run %r in %s" % (id, self.path))
            if id not in self._files:
                raise LookupError("run %s has no run file (status %s)"
                                  % (id, self.row(id)["status"]))
            self._runs[id] = Run(self._files[id], id)
        return self._runs[id]

    def runs(self):
        """Every Run that has a run file, in table order."""
        return [self.run(i) for i in self.ids if i in self._files]

    def default_metric(self):
        """mode_weight_error when the data has modes (a run has /metrics/mode_weights), else mmd2."""
        for r in self.runs():
            try:
                return "mode_weight_error" if "mode_weights" in r.metrics else "mmd2"
            except (OSError, KeyError):
                continue
        col = self.table["mode_weight_error"] if "mode_weight_error" in self.table.dtype.names \
            else np.zeros(0)
        return "mode_weight_error" if np.isfinite(col).any() else "mmd2"

    def status_counts(self):
        """{status: number of runs}, statuses in order of first appearance."""
        out = {}
        for s in self.table["status"]:
            out[str(s)] = out.get(str(s), 0) + 1
        return out


def _pandas(what, instead):
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("%s needs pandas, which is not installed (apt-get install "
                          "python3-pandas); %s has the same data as a numpy structured "
                          "array" % (what, instead)) from None
    return pd


def _df_column(col):
    """A structured array's column for pandas: numpy str as Python str objects."""
    if col.dtype.kind in "US":
        return np.array([str(v) for v in col], dtype=object)
    return col


# ---------------------------------------------------------------------------- loading

def load(path):
    """Results of a sweep directory, a sweep.h5, a directory of run files, or one run file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise AnalysisError("%s: no such file or directory" % path)
    if os.path.isdir(path):
        summary = os.path.join(path, "sweep.h5")
        if os.path.isfile(summary):
            return _load_sweep(summary)
        last = _rungs.last_rung_dir(path)
        if last is not None or os.path.isfile(os.path.join(path, "rungs.tsv")):
            # a halving sweep: its last rung (rungs.tsv comes once rung 0 is decided)
            if last is None:
                raise AnalysisError("%s: a halving sweep with no rung summarised yet" % path)
            res = _load_sweep(os.path.join(last, "sweep.h5"))
            res.rungs, res.rungs_header = _rungs.read(path), _rungs.header(path)
            return res
        return _load_run_dir(path)
    try:
        with _open(path) as f:
            is_sweep = "runs" in f and isinstance(f["runs"], h5py.Dataset) \
                and f["runs"].dtype.names is not None
    except OSError as e:
        raise AnalysisError("%s: not an HDF5 file (%s)" % (path, e)) from None
    if is_sweep:
        return _load_sweep(path)
    return _load_run_file(path)


def _metric_values(run):
    """The scalar metrics of a run file, NaN where absent."""
    m = run.metrics
    return {k: float(m[k]) if k in m and np.ndim(m[k]) == 0 else math.nan for k in METRICS}


def _load_sweep(summary):
    """DIR/sweep.h5 as summary.h lays it out."""
    d = os.path.dirname(os.path.abspath(summary))
    try:
        with _open(summary) as f:
            if "runs" not in f or f["runs"].dtype.names is None:
                raise AnalysisError("%s: not an ncsn sweep summary (no compound /runs)" % summary)
            fv = _py(f.attrs.get("format_version", None))
            if fv != 1:
                raise AnalysisError("%s: sweep summary format_version %s, this reader knows 1"
                                    % (summary, fv))
            raw = f["runs"][()]
            attrs = {k: _py(v) for k, v in f.attrs.items()}
            links = {}
            if "run" in f:
                for name in f["run"]:
                    link = f["run"].get(name, getlink=True)
                    if isinstance(link, h5py.ExternalLink):
                        links[name] = link.filename
    except OSError as e:
        raise AnalysisError("%s: cannot read (%s)" % (summary, e)) from None

    names = list(raw.dtype.names)
    if "id" not in names or "status" not in names:
        raise AnalysisError("%s: /runs lacks the id or status field" % summary)
    cols = {}
    for k in names:
        col = raw[k]
        if col.dtype.kind in "OSU":
            cols[k] = _str_column([_py(v) for v in col])
        else:
            cols[k] = col
    n = len(raw)
    if "group" not in cols:
        cols["group"] = cols["id"].copy()
    if "repeat" not in cols:
        cols["repeat"] = np.zeros(n, np.int64)
    if "seed" not in cols:
        cols["seed"] = np.zeros(n, np.uint64)
    for m in METRICS:
        if m not in cols:
            cols[m] = np.full(n, math.nan)
        cols[m] = cols[m].astype(np.float64)
    if "error" not in cols:
        cols["error"] = _str_column([""] * n)
    settings, canon_swept, spec = parse_canonical(attrs.get("sweep", ""))
    if not spec:  # sweep.h5 before its expansion was kept in it: DIR/sweep.txt
        try:
            with open(os.path.join(d, "sweep.txt"), errors="replace") as fh:
                settings, canon_swept, spec = parse_canonical(fh.read())
        except OSError:
            pass
    # The swept keys: the expansion's list where there is one, else the dotted
    # (configuration key) fields that are not metrics; fields a newer writer adds are
    # neither.
    swept = [k for k in names if k not in ID_FIELDS and k not in METRICS and k != "error"
             and (k in canon_swept if canon_swept else "." in k)]

    # Run files: a finished row's file (via its /run/<id> link, else runs/<id>.h5); a
    # queued or running row whose file has appeared since sweep.h5 was written is read
    # from that file. Failed and corrupt rows (summary.h) have no usable file.
    files = {}
    status = [str(v) for v in cols["status"]]
    for i, rid in enumerate(cols["id"]):
        rid = str(rid)
        target = links.get(rid, os.path.join("runs", rid + ".h5"))
        p = target if os.path.isabs(target) else os.path.join(d, target)
        if not os.path.isfile(p):
            continue
        if status[i] in UNFINISHED:
            try:
                check_run_file(p)
                r = Run(p, rid)
                metrics = _metric_values(r)
                status[i] = r.status
            except (AnalysisError, OSError, KeyError):
                continue
            for m, v in metrics.items():
                cols[m][i] = v
            files[rid] = p
        elif status[i] not in NO_FILE:
            files[rid] = p
    cols["status"] = _str_column(status)
    # Why a run failed: sweep.h5's error, else its runs/<id>.failed (older writers left
    # the column empty); a diverged run or one with bad samples has both a run file and
    # a .failed file.
    errors = [str(v) for v in cols["error"]]
    for i, rid in enumerate(cols["id"]):
        if not errors[i] and status[i] not in ("complete",) + UNFINISHED:
            errors[i] = _read_failed(os.path.join(d, "runs", str(rid) + ".failed"))
    cols["error"] = _str_column(errors)
    auto = _key_columns(cols, swept, files, spec)
    first = _first_run_config(attrs.get("sweep", "")) or _first_run_config(_read_text(
        os.path.join(d, "sweep.txt")))
    configs = {}

    def known(j, key, default):
        if key in swept:
            return _py(cols[key][j])
        if key in first:
            return spec_value(first[key])
        rid = str(cols["id"][j])
        if rid not in files:
            return math.nan
        if rid not in configs:
            try:
                configs[rid] = Run(files[rid], rid).config
            except (OSError, KeyError):
                configs[rid] = {}
        return configs[rid].get(key, default)
    cols["train_step"] = _train_step_column(len(cols["id"]), known)
    order = ["id", "group", "repeat", "status", "seed"] + _with_auto(swept, auto) \
        + ["train_step"] + list(METRICS) + ["error"]
    return Results(d, "sweep", _make_table(cols, order), swept, files, attrs, auto,
                   settings, spec)


def _read_text(path):
    try:
        with open(path, errors="replace") as fh:
            return fh.read()
    except OSError:
        return ""


def _first_run_config(text):
    """{dotted key: value as text} of the scalar keys of the first run's configuration in
    a sweep's expansion (its "first run:" section: keys the sweep does not vary have that
    value in every run); {} when there is none."""
    out, section, inside = {}, None, False
    for line in (text or "").splitlines():
        if line.startswith("first run:"):
            inside = True
            continue
        if not inside or not line.strip() or line.lstrip().startswith(("#", "-")):
            continue
        if _RUN_LINE.match(line):
            break
        key, sep, value = line.strip().partition(":")
        if not sep:
            continue
        if not line.startswith(" "):
            section = key if not value.strip() else None
            if value.strip():
                out[key] = value.strip()
        elif section and line.startswith("  ") and not line.startswith("   ") \
                and value.strip():
            out[section + "." + key] = value.strip().strip('"')
    return out


def _train_step_column(n, known):
    """The training step whose weights each of n runs sampled (docs/computation.md,
    Snapshots): sample.snapshot, or train.steps where that is 0 (the final weights); NaN
    for a run of the exact score (nothing trained) or where the values are not known.
    known(j, key, default): run j's value of a configuration key (NaN when unknown)."""
    out = np.full(n, math.nan)
    for j in range(n):
        if str(known(j, "sample.score", "model")) == "exact":
            continue
        snap, steps = known(j, "sample.snapshot", 0), known(j, "train.steps", math.nan)
        try:
            snap, steps = float(snap), float(steps)
        except (TypeError, ValueError):
            continue
        out[j] = snap if snap > 0 else steps
    return out


def _read_failed(path):
    """runs/<id>.failed's text on one line ("" when it cannot be read)."""
    try:
        with open(path, errors="replace") as fh:
            return fh.read().strip().replace("\n", " ")
    except OSError:
        return ""


def _with_auto(swept, auto):
    """The swept keys, each followed by its KEY_auto column where it has one."""
    out = []
    for k in swept:
        out += [k] + ([k + "_auto"] if k in auto else [])
    return out


# Keys that may be "auto", and the run file's /config attribute naming where the value came
# from ("explicit" or a technique).
AUTO_SOURCES = {"sample.eps": "eps_source", "noise.sigma_1": "sigma_1_source",
                "noise.L": "L_source"}


def _key_columns(cols, swept, files, spec):
    """For the swept keys in cols (one row per id of cols["id"]): boolean keys become bool
    columns, and each key that some run took from "auto" gets a bool column KEY_auto (its
    value column: what auto resolved to, NaN where no run file says yet). What a run asked
    for comes from the sweep's expansion (spec) where there is one, else from a run file of
    its group. Returns the keys with an auto column."""
    ids = [str(i) for i in cols["id"]]
    groups = [str(g) for g in cols["group"]]
    cfg_of_group = {}

    def group_config(g):
        if g not in cfg_of_group:
            cfg_of_group[g] = None
            for i, h in zip(ids, groups):
                if h == g and i in files:
                    try:
                        cfg_of_group[g] = Run(files[i], i).config
                        break
                    except (OSError, KeyError):
                        continue
        return cfg_of_group[g]

    auto_keys = []
    for k in swept:
        asked = [spec.get(i, {}).get(k) for i in ids]
        if any(a is not None for a in asked):
            is_auto = [a == "auto" for a in asked]
            is_bool = all(a in ("true", "false") for a in asked if a is not None)
            bools = [a == "true" for a in asked]
        else:
            cfgs = [group_config(g) for g in groups]
            is_auto = [c is not None and k in AUTO_SOURCES and
                       str(c.get(AUTO_SOURCES[k], "explicit")) != "explicit" for c in cfgs]
            kinds = [isinstance(c.get(k), bool) for c in cfgs if c is not None and k in c]
            is_bool = bool(kinds) and all(kinds)
            bools = [bool(c.get(k)) if c is not None else False for c in cfgs]
        col = cols[k]
        if is_bool and col.dtype.kind in "biuf":
            cols[k] = np.array(bools, dtype=bool)
        if any(is_auto):
            auto_keys.append(k)
            cols[k + "_auto"] = np.array(is_auto, dtype=bool)
            if cols[k].dtype.kind == "f":
                v = cols[k].astype(np.float64)
                for j, i in enumerate(ids):
                    if is_auto[j] and i not in files:
                        v[j] = math.nan
                cols[k] = v
    return auto_keys


def _load_run_file(path):
    check_run_file(path)
    r = Run(path)
    cols = {"id": _str_column([r.id]), "group": _str_column([r.id]),
            "repeat": np.zeros(1, np.int64), "status": _str_column([r.status]),
            "seed": np.array([int(r.config.get("seed", 0))], np.uint64)}
    for m, v in _metric_values(r).items():
        cols[m] = np.array([v])
    cols["error"] = _str_column([""])
    cols["train_step"] = _train_step_column(1, lambda j, k, d: r.config.get(k, d))
    order = ["id", "group", "repeat", "status", "seed", "train_step"] + list(METRICS) \
        + ["error"]
    return Results(os.path.abspath(path), "run", _make_table(cols, order), [], {r.id: path})


def _load_run_dir(d):
    """A directory without sweep.h5: the run files in DIR/runs/ (with summary.h's .failed
    and claims/ markers) or, failing that, DIR/*.h5."""
    d = os.path.abspath(d)
    rdir = os.path.join(d, "runs")
    base = rdir if os.path.isdir(rdir) else d
    files, failed, claims = {}, {}, set()
    for p in sorted(glob.glob(os.path.join(base, "*.h5"))):
        try:
            check_run_file(p)
        except AnalysisError:
            continue  # not a run file (e.g. a report's own or someone else's HDF5 file)
        files[os.path.splitext(os.path.basename(p))[0]] = p
    for p in sorted(glob.glob(os.path.join(base, "*.failed"))):
        failed[os.path.splitext(os.path.basename(p))[0]] = _read_failed(p)
    cdir = os.path.join(d, "claims")
    if os.path.isdir(cdir):
        claims = set(os.listdir(cdir))
    state = {i: run_state(i in files, i in failed, i in claims)
             for i in set(files) | set(failed) | claims}
    ids = sorted(state)
    if not ids:
        raise AnalysisError("%s: no sweep.h5 and no ncsn run files in it" % d)

    runs = {i: Run(files[i], i) for i in files}
    configs = {i: runs[i].config for i in files}
    keys = []
    for c in configs.values():
        keys += [k for k in c if k not in keys and k not in _NOT_KEYS and k != "seed"]
    swept = []
    for k in keys:
        vals = {_flow(_py(c.get(k))) for c in configs.values()}
        if len(vals) > 1:
            swept.append(k)

    cols = {"id": _str_column(ids)}
    status, groups, repeats, seeds, errors = [], [], [], [], []
    for i in ids:
        if i in files:  # finished, or failed with a run file: the file says how
            status.append(runs[i].status)
            errors.append(failed.get(i, ""))
        elif state[i] == "failed":
            status.append("failed")
            errors.append(failed[i])
        else:
            status.append("running")
            errors.append("")
        seeds.append(int(configs[i].get("seed", 0)) if i in files else 0)
    # Groups: ids "c0003-r1" name their group; otherwise runs whose swept values (seed
    # aside) agree form one group, named after its first run.
    first_of = {}
    for i in ids:
        m = re.match(r"^(.*)-r(\d+)$", i)
        if m:
            groups.append(m.group(1))
            repeats.append(int(m.group(2)))
            continue
        sig = tuple(_flow(_py(configs[i].get(k))) for k in swept) if i in files else (i,)
        first_of.setdefault(sig, [])
        repeats.append(len(first_of[sig]))
        first_of[sig].append(i)
        groups.append(first_of[sig][0])
    cols.update(group=_str_column(groups), repeat=np.array(repeats, np.int64),
                status=_str_column(status), seed=np.array(seeds, np.uint64))
    for k in swept:
        vals = [_py(configs[i].get(k)) if i in files else None for i in ids]
        if all(v is None or (isinstance(v, (int, float, bool)) and not isinstance(v, str))
               for v in vals):
            cols[k] = np.array([math.nan if v is None else float(v) for v in vals])
        else:
            cols[k] = _str_column(["" if v is None else _flow(v) for v in vals])
    for m in METRICS:
        cols[m] = np.array([_metric_values(runs[i])[m] if i in files else math.nan
                            for i in ids])
    cols["error"] = _str_column(errors)
    auto = _key_columns(cols, swept, files, {})
    cols["train_step"] = _train_step_column(
        len(ids), lambda j, k, d: configs[ids[j]].get(k, d) if ids[j] in files else math.nan)
    order = ["id", "group", "repeat", "status", "seed"] + _with_auto(swept, auto) \
        + ["train_step"] + list(METRICS) + ["error"]
    return Results(d, "runs", _make_table(cols, order), swept, files, auto_keys=auto)
