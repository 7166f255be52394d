"""steps.py: metrics against the training step. A sweep over sample.snapshot samples one
training at several steps (docs/computation.md, Snapshots): its configurations that differ
only in sample.snapshot are one *training configuration* (a line), and the step its runs
sampled is the table's train_step (sample.snapshot, or train.steps for the final weights).

    varies(results)             True when some training configuration was sampled at more
                                than one step
    lines(results, rows, metric)
                                one dict per training configuration with a step: key (its
                                values of the swept keys but sample.snapshot), label (how it
                                differs from the baseline's training), groups, points (one
                                per step, in step order: step, group, final, row (configs.rows'
                                row), idx (table rows, in repeat order)), best (the point
                                with the best step, or None), baseline (bool); baseline
                                first, then by the metric at the best step
    values(results, idx, metric)
                                the runs' values of metric (score_error: the mean over the
                                noise levels of the run file's per-level error)
    table(results, metric, tol) Results.by_step(): one row per (training configuration,
                                step)
    blocks(results, rows, metric)
                                the decision's paragraph and table: the best step of every
                                training configuration

The best step of a training configuration: with modes, the step with the most repeats
recovering the weights, then the sound one (no failed, diverged or flagged run) with the
lowest mean metric; without modes, the sound one with the lowest mean (the groups' ranking,
leaderboard.group_rows).
"""

import math

import numpy as np

from . import configs as C
from . import leaderboard as LB
from .results import _py, _str_column

# Keys that choose the step a training is sampled at: left out of a training configuration.
STEP_KEYS = ("sample.snapshot",)


def _members(results):
    out = {}
    for i, g in enumerate(results.table["group"]):
        out.setdefault(str(g), []).append(i)
    return out


def _group_step(results, idx):
    v = results.table["train_step"][idx].astype(np.float64)
    v = v[np.isfinite(v)]
    return float(v[0]) if v.size else math.nan


def _recovering(row):
    try:
        return int(str(row.get("recovers", "0/0")).split("/")[0])
    except ValueError:
        return 0


def lines(results, rows, metric):
    if "train_step" not in results.table.dtype.names or \
            not any(k in results.swept_keys for k in STEP_KEYS):
        return []
    base = C.baseline(results)
    members = _members(results)
    rank = {r["group"]: j for j, r in enumerate(rows)}
    by_group = {r["group"]: r for r in rows}
    t = results.table
    keys = [k for k in results.swept_keys if k not in STEP_KEYS and k != "seed"]
    out = {}
    for g in members:
        step = _group_step(results, members[g])
        if not math.isfinite(step) or g not in by_group:
            continue
        a = C.asked(results, g)
        key = tuple(a.get(k, "") for k in keys)
        if key not in out:
            out[key] = {"key": key, "keys": keys, "groups": [], "points": []}
        idx = sorted(members[g], key=lambda i: int(t["repeat"][i]))
        snap = [a.get(k) for k in STEP_KEYS if k in a]
        out[key]["groups"].append(g)
        out[key]["points"].append({"step": step, "group": g, "row": by_group[g], "idx": idx,
                                   "final": all(str(s) in ("0", "0.0") for s in snap)})
    base_key = None
    if base is not None:
        a = C.asked(results, base)
        base_key = tuple(a.get(k, "") for k in keys)
    with_modes = LB.has_modes(results)
    result = []
    for key, ln in out.items():
        ln["points"].sort(key=lambda p: p["step"])
        last = [p["step"] for p in ln["points"] if p["final"]]
        for p in ln["points"]:  # a snapshot of step train.steps holds the final weights
            p["final"] = p["final"] or p["step"] in last
        ln["baseline"] = key == base_key
        if base_key is not None:
            diff = ["%s=%s" % (k, v) for k, v, b in zip(keys, key, base_key) if v != b]
            ln["label"] = ", ".join(diff) if diff else "the baseline's training"
        else:
            ln["label"] = ", ".join("%s=%s" % (k, v) for k, v in zip(keys, key)) or "every run"
        ranked = [p for p in ln["points"] if math.isfinite(p["row"].get(metric + "_mean",
                                                                        math.nan))]
        ranked.sort(key=lambda p: ((-_recovering(p["row"]) if with_modes else 0),
                                   rank[p["group"]]))
        ln["best"] = ranked[0] if ranked else None
        result.append(ln)
    result.sort(key=lambda ln: (not ln["baseline"], ln["best"] is None,
                                ln["best"]["row"][metric + "_mean"] if ln["best"] else 0))
    return result


def varies(results, lns=None):
    """Some training configuration was sampled at more than one step."""
    if lns is None:
        lns = lines(results, C.rows(results, results.default_metric()),
                    results.default_metric())
    return any(len({p["step"] for p in ln["points"]}) > 1 for ln in lns)


def values(results, idx, metric):
    """(len(idx),) float64: each run's metric; score_error, a per-level array in the run
    file, as its mean over the levels with a finite value (NaN without a run file)."""
    t = results.table
    if metric != "score_error":
        return t[metric][idx].astype(np.float64)
    out = np.full(len(idx), math.nan)
    for j, i in enumerate(idx):
        rid = str(t["id"][i])
        if not results.has_file(rid):
            continue
        e = np.asarray(results.run(rid).metrics.get("score_error", []), dtype=np.float64)
        e = e[np.isfinite(e)] if e.ndim == 1 else np.zeros(0)
        if e.size:
            out[j] = float(e.mean())
    return out


def step_text(point):
    return "%d%s" % (point["step"], " (final)" if point["final"] else "")


def table(results, metric=None, tol=None):
    from . import modes as M
    metric = metric or results.default_metric()
    tol = M.TOL if tol is None else tol
    lns = lines(results, C.rows(results, metric, tol), metric)
    if not varies(results, lns):
        lns = []
    keys = lns[0]["keys"] if lns else []
    recs = []
    for ln in lns:
        for p in ln["points"]:
            r = p["row"]
            t = results.table
            recs.append([ln["label"], ln["baseline"]] + [_py(t[k][p["idx"][0]]) for k in keys] +
                        [p["step"], p["final"], p["group"], r["runs"], r["n"],
                         r.get("verdict", ""), _recovering(r) if LB.has_modes(results) else -1]
                        + [r[metric + s] for s in ("_mean", "_std", "_min", "_max")]
                        + [p is ln["best"]])
    names = ["training", "baseline"] + keys + ["train_step", "final", "group", "runs", "n",
                                               "verdict", "recovers"] \
        + [metric + s for s in ("_mean", "_std", "_min", "_max")] + ["best"]
    kinds = {"baseline": bool, "final": bool, "best": bool, "train_step": np.int64,
             "runs": np.int64, "n": np.int64, "recovers": np.int64}
    cols = {}
    for j, k in enumerate(names):
        col = [rec[j] for rec in recs]
        if k in kinds:
            cols[k] = np.array(col, dtype=kinds[k])
        elif k in keys:
            cols[k] = np.array(col, dtype=results.table[k].dtype)
        elif k.startswith(metric + "_"):
            cols[k] = np.array(col, dtype=np.float64)
        else:
            cols[k] = _str_column(col)
    out = np.zeros(len(recs), dtype=[(k, cols[k].dtype) for k in names])
    for k in names:
        out[k] = cols[k]
    return out


def blocks(results, rows, metric, lns=None):
    """The decision's paragraph on training steps and its table, [] when no training
    configuration was sampled at more than one step."""
    lns = lines(results, rows, metric) if lns is None else lns
    if not varies(results, lns):
        return []
    with_modes = LB.has_modes(results)
    steps = sorted({p["step"] for ln in lns for p in ln["points"]})
    early = [ln for ln in lns if ln["best"] is not None and not ln["best"]["final"]]
    with_best = [ln for ln in lns if ln["best"] is not None]
    out = [("p", "**Along training.** %s varies, so configurations that differ only in it "
            "are one training sampled at different steps (%d training configuration%s; "
            "steps %s, the last being train.steps, the final weights): points of one curve "
            "(*metric_vs_step.png*), not rivals. The best step of each, by %sthen steps "
            "without a failed, diverged or flagged run (! after the mean marks the others), "
            "then the mean %s, is before the end of training for %d of %d." % (
                " and ".join("`%s`" % k for k in STEP_KEYS if k in results.swept_keys),
                len(lns), "" if len(lns) == 1 else "s",
                ", ".join("%d" % s for s in steps),
                "the most repeats recovering the weights (in brackets), " if with_modes
                else "", metric, len(early), len(with_best)))]
    cols = ["training", "best step", "configuration"]
    if with_modes:
        cols.append("recovers")
    cols += ["%s at best" % metric, "at the final step", "mean %s per step" % metric]
    recs = []
    for ln in lns:
        b = ln["best"]
        fin = [p for p in ln["points"] if p["final"]]
        d = {"training": ln["label"],
             "best step": step_text(b) if b else "-",
             "configuration": b["group"] if b else "-",
             "%s at best" % metric: LB._pm(b["row"][metric + "_mean"],
                                           b["row"][metric + "_std"]) if b else "-",
             "at the final step": LB._pm(fin[0]["row"][metric + "_mean"],
                                         fin[0]["row"][metric + "_std"]) if fin else "-",
             "mean %s per step" % metric: ", ".join(
                 "%d: %s%s%s" % (p["step"], LB.fmt(p["row"][metric + "_mean"]),
                                 " (%s)" % p["row"]["recovers"] if with_modes else "",
                                 "" if p["row"]["sound"] else "!")
                 for p in ln["points"])}
        if with_modes:
            d["recovers"] = ("%s %s" % (b["row"]["verdict"], b["row"]["recovers"])) if b else "-"
        recs.append(d)
    out.append(("table", cols, recs))
    return out
