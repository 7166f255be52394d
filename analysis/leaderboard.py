"""leaderboard.py: runs ranked by a metric, and groups of repeats ranked by their mean.

    ranked(results, metric)        table row indices, best first (every metric: lower is
                                   better); runs without a finite value (queued, running,
                                   failed, diverged) come last, in table order
    run_rows(results, metric)      one dict per run, ranked: rank, id, group, repeat,
                                   status, seed, the swept keys, the metric, the others
    group_rows(results, metric)    one dict per group (the table's `group`: the repeats of
                                   one configuration): swept values, n (runs with a finite
                                   metric), runs, mean, std (ddof 1; NaN below 2), min, max
    write_csv(rows, columns, path)
    markdown(results, metric, top) leaderboard.md: best runs, best groups, unfinished runs
"""

import csv
import math

import numpy as np

from .results import _py

# Metrics shown in leaderboard.md beside the ranking metric (the CSV has every metric).
QUALITY = ("mmd2", "swd", "mode_weight_error", "nll_true", "final_loss")


def ranked(results, metric):
    t = results.table
    v = t[metric].astype(np.float64)
    good = np.flatnonzero(np.isfinite(v))
    good = good[np.argsort(v[good], kind="stable")]
    bad = np.flatnonzero(~np.isfinite(v))
    return list(good) + list(bad)


def run_columns(results, metric):
    others = [m for m in results.metric_names if m != metric]
    return (["rank", "id", "group", "repeat", "status", "seed"] + results.swept_keys
            + [metric] + others + ["error"])


def run_rows(results, metric):
    t = results.table
    rows = []
    rank = 0
    for i in ranked(results, metric):
        r = {k: _py(t[i][k]) for k in t.dtype.names}
        if math.isfinite(r[metric]):
            rank += 1
            r["rank"] = rank
        else:
            r["rank"] = ""
        rows.append(r)
    return rows


def group_columns(results, metric):
    keys = [k for k in results.swept_keys if k != "seed"]
    return ["rank", "group"] + keys + ["n", "runs", metric + "_mean", metric + "_std",
                                       metric + "_min", metric + "_max"]


def group_rows(results, metric):
    """Groups ranked by the mean of metric over their runs with a finite value."""
    t = results.table
    keys = [k for k in results.swept_keys if k != "seed"]
    order = []
    members = {}
    for i, g in enumerate(t["group"]):
        g = str(g)
        if g not in members:
            members[g] = []
            order.append(g)
        members[g].append(i)
    rows = []
    for g in order:
        idx = members[g]
        v = t[metric][idx].astype(np.float64)
        v = v[np.isfinite(v)]
        r = {"group": g, "n": int(v.size), "runs": len(idx)}
        for k in keys:
            vals = {str(_py(t[k][i])) for i in idx}
            r[k] = _py(t[k][idx[0]]) if len(vals) == 1 else "varies"
        r[metric + "_mean"] = float(v.mean()) if v.size else math.nan
        r[metric + "_std"] = float(v.std(ddof=1)) if v.size >= 2 else math.nan
        r[metric + "_min"] = float(v.min()) if v.size else math.nan
        r[metric + "_max"] = float(v.max()) if v.size else math.nan
        rows.append(r)
    mean = metric + "_mean"
    rows.sort(key=lambda r: (not math.isfinite(r[mean]), r[mean] if math.isfinite(r[mean]) else 0))
    rank = 0
    for r in rows:
        if math.isfinite(r[mean]):
            rank += 1
            r["rank"] = rank
        else:
            r["rank"] = ""
    return rows


def _csv_value(v):
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if math.isnan(v) else repr(v))
    return "" if v is None else str(v)


def write_csv(rows, columns, path):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        for r in rows:
            w.writerow([_csv_value(r.get(c, "")) for c in columns])


def fmt(v):
    """A value for people: 4 significant digits, '-' for NaN."""
    if isinstance(v, float):
        return "-" if math.isnan(v) else "%.4g" % v
    return str(v)


def _md_table(rows, columns):
    def cell(v):
        return fmt(v).replace("|", "\\|").replace("\n", " ")
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(out)


def summary_line(results):
    counts = results.status_counts()
    parts = ", ".join("%d %s" % (n, s) for s, n in counts.items())
    what = {"sweep": "sweep", "runs": "directory of run files", "run": "run file"}[results.kind]
    line = "%s `%s`: %d run%s (%s)" % (what, results.path, len(results.table),
                                       "" if len(results.table) == 1 else "s", parts)
    if results.attrs.get("updated"):
        line += ", sweep.h5 updated %s" % results.attrs["updated"]
    return line


def display_columns(results, metric, rows):
    """The run columns worth showing in markdown and HTML: no all-empty metric columns."""
    shown = [m for m in QUALITY if m != metric and m in results.metric_names
             and any(isinstance(r[m], float) and math.isfinite(r[m]) for r in rows)]
    return ["rank", "id", "status"] + results.swept_keys + [metric] + shown


def unfinished(rows):
    return [r for r in rows if r["status"] != "complete"]


def markdown(results, metric, top):
    rows = run_rows(results, metric)
    groups = group_rows(results, metric)
    out = ["# ncsn leaderboard", "", summary_line(results) + ".", "",
           "Ranked by **%s** (lower is better). `leaderboard.csv` has every run and metric, "
           "`leaderboard_groups.csv` every group." % metric, ""]
    n_ranked = sum(1 for r in rows if r["rank"] != "")
    out += ["## Best runs", ""]
    if n_ranked:
        out += [_md_table(rows[:min(top, n_ranked)], display_columns(results, metric, rows)), ""]
        if n_ranked > top:
            out += ["%d more ranked runs in leaderboard.csv." % (n_ranked - top), ""]
    else:
        out += ["No run has a finite %s yet." % metric, ""]
    if len(groups) < len(rows):
        gcols = group_columns(results, metric)
        out += ["## Groups over repeats", "",
                "One seed misleads: each configuration's repeats (rows with the same `group`), "
                "their mean and std (ddof 1) of %s over the n runs that have it." % metric, ""]
        out += [_md_table(groups[:top], gcols), ""]
        if len(groups) > top:
            out += ["%d more groups in leaderboard_groups.csv." % (len(groups) - top), ""]
    left = unfinished(rows)
    if left:
        out += ["## Not complete", "", _md_table(left, ["id", "status", "error"]), ""]
    return "\n".join(out)
