"""configs.py: one row per configuration (the repeats of one group), the baseline, and the
configurations to recommend: what the report opens with.

    baseline(results)          the baseline's group, or None: the group that sweep.baseline
                               names (the sweep's expansion says "baseline: cNNNN"), else
                               in a grid sweep the group whose every swept key has the sweep
                               file's first value (the first configuration, c0000); None
                               for random search and for run files with free names
    baseline_origin(results)   how the baseline was chosen, in words
    asked(results, group)      {swept key: the value as the sweep asked for it, as text:
                               "auto", "true", "0.001"}
    differences(results, g, b) [(key, text)] where group g asked for other values than b
    name(results, row, base)   "c0013 (model.scale_by_sigma=true, train.ema=0.999)": the
                               group and how it differs from the baseline ("c0000
                               (baseline)"); with no baseline, every swept value
    rows(results, metric, tol) leaderboard.group_rows (ranked: sound configurations first,
                               by the mean of metric) with, for each group: baseline (bool),
                               differs (text), complete (runs that completed), not_complete
                               (finished otherwise: failed, diverged, non-finite or bad
                               samples, corrupt), n_bad (bad samples over its runs, NaN when
                               the files do not count them), errors (the distinct failure
                               reasons), metric median, mmd2_median, seconds (mean train +
                               sample seconds of a run), train_step (the training step its
                               runs sampled; NaN when unknown)
    recommended(rows)          the rows whose every repeat recovers the weights ("yes"),
                               best first
    table(results, metric, tol)
                               rows as a numpy structured array (Results.configs()): group,
                               baseline, differs, each swept key (and KEY_auto), train_step,
                               runs, n,
                               complete, not_complete, n_bad, verdict, recovers (runs that
                               recover; -1 without modes), minor_weight_mean, _std,
                               METRIC_mean, _std, _median, _min, _max, mmd2_median, seconds,
                               errors; the metric's name is in the field names
"""

import math

import numpy as np

from . import leaderboard as LB
from . import modes as M
from .results import UNFINISHED, _py, _str_column


def _group_members(results):
    out = {}
    for i, g in enumerate(results.table["group"]):
        out.setdefault(str(g), []).append(i)
    return out


def baseline(results):
    groups = _group_members(results)
    named = results.settings.get("baseline")
    if named:
        return named if named in groups else None
    if results.settings.get("mode") in ("grid", "halving") and results.spec:
        first = next(iter(results.spec))
        return str(results.table["group"][results.ids.index(first)]) \
            if first in results.ids else None
    if not results.settings and results.kind in ("sweep", "runs") and "c0000" in groups:
        return "c0000"  # a sweep whose expansion is not at hand: grids start with c0000
    return None


def baseline_origin(results):
    if results.settings.get("baseline"):
        return "the configuration the sweep file's sweep.baseline names"
    return "the sweep file's first value of every swept key"


def _text(v):
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, float):
        return "%g" % v
    return str(v)


def asked(results, group):
    """What the group's runs asked for, per swept key (the sweep's expansion where there is
    one, else the table: "auto" where KEY_auto)."""
    idx = _group_members(results)[group]
    t = results.table
    out = {}
    for k in results.swept_keys:
        if k == "seed":
            continue
        spec = [results.spec.get(results.ids[i], {}).get(k) for i in idx]
        spec = [s for s in spec if s is not None]
        if spec:
            out[k] = spec[0]
        elif k in results.auto_keys and bool(t[k + "_auto"][idx[0]]):
            out[k] = "auto"
        else:
            have = [i for i in idx if not (t[k].dtype.kind == "f" and math.isnan(t[k][i]))]
            out[k] = _text(_py(t[k][have[0] if have else idx[0]]))
    return out


def differences(results, group, base):
    if base is None:
        return list(asked(results, group).items())
    a, b = asked(results, group), asked(results, base)
    return [(k, v) for k, v in a.items() if v != b.get(k)]


def _value_text(results, row, key, text):
    """"auto (0.000371)" for an auto value that has resolved, else the asked text."""
    if text == "auto" and isinstance(row.get(key), float) and math.isfinite(row[key]):
        return "auto (%s)" % LB.fmt(row[key])
    return text


def name(results, row, base):
    g = row["group"]
    if base is not None and g == base:
        return "%s (baseline)" % g
    diff = differences(results, g, base)
    if not diff:
        return g
    return "%s (%s)" % (g, ", ".join("%s=%s" % (k, _value_text(results, row, k, v))
                                     for k, v in diff))


def rows(results, metric, tol=M.TOL):
    groups = LB.group_rows(results, metric, tol)
    members = _group_members(results)
    base = baseline(results)
    t = results.table
    for r in groups:
        idx = members[r["group"]]
        status = [str(t["status"][i]) for i in idx]
        r["baseline"] = r["group"] == base
        r["differs"] = "" if r["baseline"] else ", ".join(
            "%s=%s" % (k, v) for k, v in differences(results, r["group"], base))
        r["name"] = name(results, r, base)
        r["complete"] = sum(1 for s in status if s == "complete")
        r["not_complete"] = sum(1 for s in status if s != "complete" and s not in UNFINISHED)
        nb = t["n_bad"][idx].astype(np.float64) if "n_bad" in t.dtype.names else np.array([])
        nb = nb[np.isfinite(nb)]
        r["n_bad"] = float(nb.sum()) if nb.size else math.nan
        r["errors"] = "; ".join(sorted({str(t["error"][i]) for i in idx} - {""}))
        v = t[metric][idx].astype(np.float64)
        v = v[np.isfinite(v)]
        r[metric + "_median"] = float(np.median(v)) if v.size else math.nan
        if "mmd2" in t.dtype.names:
            m = t["mmd2"][idx].astype(np.float64)
            m = m[np.isfinite(m)]
            r["mmd2_median"] = float(np.median(m)) if m.size else math.nan
        st = t["train_step"][idx].astype(np.float64) if "train_step" in t.dtype.names \
            else np.array([])
        st = st[np.isfinite(st)]
        r["train_step"] = float(st[0]) if st.size else math.nan
        secs = np.array([t["train_seconds"][i] + t["sample_seconds"][i] for i in idx])
        secs = secs[np.isfinite(secs)]
        r["seconds"] = float(secs.mean()) if secs.size else math.nan
    return groups


def recommended(config_rows):
    return [r for r in config_rows if r.get("verdict") == "yes"]


def table(results, metric=None, tol=None):
    metric = metric or results.default_metric()
    tol = M.TOL if tol is None else tol
    rs = rows(results, metric, tol)
    members = _group_members(results)
    t = results.table
    keys = [k for k in results.swept_keys if k != "seed"]
    cols = {"group": _str_column([r["group"] for r in rs]),
            "baseline": np.array([r["baseline"] for r in rs], dtype=bool),
            "differs": _str_column([r["differs"] for r in rs])}
    names = ["group", "baseline", "differs"]
    for k in keys:  # the group's own value (its first run with one), typed as the table's
        vals = []
        for r in rs:
            idx = members[r["group"]]
            have = [i for i in idx if not (t[k].dtype.kind == "f" and math.isnan(t[k][i]))]
            vals.append(t[k][have[0] if have else idx[0]])
        cols[k] = np.array(vals, dtype=t[k].dtype)
        names.append(k)
        if k in results.auto_keys:
            cols[k + "_auto"] = np.array([t[k + "_auto"][members[r["group"]][0]] for r in rs],
                                         dtype=bool)
            names.append(k + "_auto")
    cols["train_step"] = np.array([r["train_step"] for r in rs], dtype=np.float64)
    names.append("train_step")
    modes = LB.has_modes(results)
    for f, dt in (("runs", np.int64), ("n", np.int64), ("complete", np.int64),
                  ("not_complete", np.int64), ("n_bad", np.float64)):
        cols[f] = np.array([r[f] for r in rs], dtype=dt)
        names.append(f)
    cols["verdict"] = _str_column([r.get("verdict", "") for r in rs])
    cols["recovers"] = np.array([int(r["recovers"].split("/")[0]) if modes else -1
                                 for r in rs], dtype=np.int64)
    names += ["verdict", "recovers"]
    stats = [metric + s for s in ("_mean", "_std", "_median", "_min", "_max")]
    for f in ["minor_weight_mean", "minor_weight_std"] + stats + \
            [f for f in ("mmd2_median", "seconds") if f not in stats]:
        cols[f] = np.array([r.get(f, math.nan) for r in rs], dtype=np.float64)
        names.append(f)
    cols["errors"] = _str_column([r["errors"] for r in rs])
    names.append("errors")
    out = np.zeros(len(rs), dtype=[(k, cols[k].dtype) for k in names])
    for k in names:
        out[k] = cols[k]
    return out
