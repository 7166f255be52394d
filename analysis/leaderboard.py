"""leaderboard.py: runs ranked by a metric, and groups of repeats ranked by their mean.

    ranked(results, metric)        table row indices, best first (every metric: lower is
                                   better): runs with a finite value and no flag first,
                                   then flagged ones (modes.py: "off data", most samples far
                                   from every mode, or "poor fit", mmd2 over 10x the best
                                   configuration's: nearest-mean weights can look right
                                   for a broken run), then runs without a finite value
                                   (queued, running, failed, diverged), in table order
    run_rows(results, metric)      one dict per run, ranked: rank, id, group, repeat,
                                   status, seed, the swept keys, the metric, minor_weight,
                                   off_data, flag ("off data", "poor fit" or ""), the other
                                   metrics
    group_rows(results, metric, tol)
                                   one dict per group (the table's `group`: the repeats of
                                   one configuration): swept values, n (runs with a finite
                                   metric), runs, mean, std (ddof 1; NaN below 2), min, max
                                   of the metric; where the data is a known mixture also
                                   minor_weight_mean, _std (the minor mode's weight over the
                                   repeats), mmd2_mean, flagged (runs off the data or
                                   fitting poorly), ok (complete and not flagged), recovers
                                   (ok runs with mode_weight_error <= tol) and
                                   verdict ("yes" every repeat recovers, "no" none does,
                                   "partly"; "... so far" of the finished runs while some
                                   are queued or running, "pending" before any). Sound
                                   groups (no run failed, diverged or flagged) rank first by
                                   the mean, then the others, then those without a value
    write_csv(rows, columns, path)
    markdown(results, metric, top, tol)
                                   leaderboard.md: which configurations recover the weights,
                                   the groups (every one up to MAX_GROUPS), the best runs,
                                   unfinished runs
"""

import csv
import math

import numpy as np

from . import modes as M
from .results import _py

# Metrics shown in leaderboard.md beside the ranking metric (the CSV has every metric).
QUALITY = ("mmd2", "swd", "mode_weight_error", "nll_true", "fd", "nn_ratio", "final_loss")
# What the less familiar columns mean, said under the tables that show them.
METRIC_NOTES = {
    "fd": "fd: Fréchet distance between Gaussians fitted to the samples and to the reference "
          "data (FID's formula in data space; noise_floor_fd: fresh data's)",
    "nn_ratio": "nn_ratio: median distance from a sample to its nearest training point over "
                "the same for held-out data (about 1 healthy, far below 1 memorising, far "
                "above 1 off the data)",
}
MAX_GROUPS = 50   # groups listed in leaderboard.md (leaderboard_groups.csv has all)
BROKEN = ("failed", "diverged", "bad_samples", "nonfinite_samples", "corrupt")


def has_modes(results):
    """The data is a known mixture with mode weights: minor-mode columns and verdicts."""
    return math.isfinite(M.columns(results)["truth"]) and \
        "mode_weight_error" in results.metric_names


def ranked(results, metric):
    t = results.table
    v = t[metric].astype(np.float64)
    flagged = M.columns(results)["flag"] != ""
    fin = np.isfinite(v)
    out = []
    for sel in (fin & ~flagged, fin & flagged):
        idx = np.flatnonzero(sel)
        out += list(idx[np.argsort(v[idx], kind="stable")])
    return out + list(np.flatnonzero(~fin))


def run_columns(results, metric):
    others = [m for m in results.metric_names if m != metric]
    return (["rank", "id", "group", "repeat", "status", "seed"] + results.swept_keys
            + ["train_step", metric, "minor_weight", "off_data", "flag"] + others + ["error"])


def run_rows(results, metric):
    t = results.table
    mc = M.columns(results)
    rows = []
    rank = 0
    for i in ranked(results, metric):
        r = {k: _py(t[i][k]) for k in t.dtype.names}
        r["minor_weight"] = float(mc["minor_weight"][i])
        r["off_data"] = float(mc["off_data"][i])
        r["flag"] = str(mc["flag"][i])
        if math.isfinite(r[metric]):
            rank += 1
            r["rank"] = rank
        else:
            r["rank"] = ""
        rows.append(r)
    return rows


def group_columns(results, metric):
    keys = [k for k in results.swept_keys if k != "seed"]
    cols = ["rank", "group"] + keys + ["n", "runs"]
    if has_modes(results):
        cols += ["verdict", "recovers", "minor_weight_mean", "minor_weight_std"]
    cols += [metric + "_mean", metric + "_std", metric + "_min", metric + "_max"]
    if has_modes(results):
        if metric != "mmd2" and "mmd2" in results.metric_names:
            cols += ["mmd2_mean"]
        cols += ["flagged", "ok"]
    return cols


def _stats(v):
    v = np.asarray(v, dtype=np.float64)
    v = v[np.isfinite(v)]
    return (int(v.size), float(v.mean()) if v.size else math.nan,
            float(v.std(ddof=1)) if v.size >= 2 else math.nan,
            float(v.min()) if v.size else math.nan, float(v.max()) if v.size else math.nan)


def _key_kinds(results, idx, keys):
    """(the swept keys whose value the runs at idx took from "auto" (the table's KEY_auto),
    the boolean ones)."""
    t = results.table
    auto = {k for k in keys if k in results.auto_keys and bool(t[k + "_auto"][idx[0]])}
    return auto, {k for k in keys if t[k].dtype.kind == "b"}


def shown(group_row, key):
    """A group's value of a swept key for people: "auto (0.000371)" where it came from auto,
    true/false for booleans."""
    v = group_row[key]
    if key in group_row.get("bools", ()) and v in (0, 1):
        v = bool(v)
    if key in group_row.get("auto", ()) and isinstance(v, float) and math.isnan(v):
        return "auto"
    text = str(v).lower() if isinstance(v, bool) else fmt(v) if isinstance(v, float) else str(v)
    return "auto (%s)" % text if key in group_row.get("auto", ()) else text


def group_rows(results, metric, tol=M.TOL):
    """Groups ranked by the mean of metric over their runs with a finite value, sound groups
    (no run failed, diverged or off the data) first."""
    t = results.table
    mc = M.columns(results)
    modes = has_modes(results)
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
        n, mean, std, lo, hi = _stats(t[metric][idx])
        r = {"group": g, "n": n, "runs": len(idx)}
        for k in keys:
            # an unfinished run's unresolved "auto" (NaN) does not make the value vary
            have = [i for i in idx if not (t[k].dtype.kind == "f" and math.isnan(t[k][i]))]
            vals = {str(_py(t[k][i])) for i in have}
            r[k] = _py(t[k][have[0]]) if len(vals) == 1 else "varies" if vals else math.nan
        r[metric + "_mean"], r[metric + "_std"] = mean, std
        r[metric + "_min"], r[metric + "_max"] = lo, hi
        r["auto"], r["bools"] = _key_kinds(results, idx, keys)
        status = [str(t["status"][i]) for i in idx]
        flagged = [bool(mc["flag"][i]) for i in idx]
        r["sound"] = not any(s in BROKEN for s in status) and not any(flagged)
        if modes:
            _, r["minor_weight_mean"], r["minor_weight_std"], _, _ = _stats(
                mc["minor_weight"][idx])
            if "mmd2" in results.metric_names:
                r["mmd2_mean"] = _stats(t["mmd2"][idx])[1]
            ok = [s == "complete" and not f and math.isfinite(t["mode_weight_error"][i])
                  for s, f, i in zip(status, flagged, idx)]
            good = sum(1 for o, i in zip(ok, idx) if o and t["mode_weight_error"][i] <= tol)
            r["flagged"], r["ok"] = sum(flagged), sum(ok)
            r["flags"] = ", ".join(sorted({str(mc["flag"][i]) for i in idx} - {""}))
            r["recovers"] = "%d/%d" % (good, len(idx))
            finished = sum(1 for s in status if s not in ("queued", "running"))
            verdict = "yes" if good == finished else ("no" if good == 0 else "partly")
            r["verdict"] = ("pending" if finished == 0 else verdict if finished == len(idx)
                            else verdict + " so far")
        rows.append(r)
    m = metric + "_mean"
    rows.sort(key=lambda r: (not math.isfinite(r[m]), not r["sound"],
                             r[m] if math.isfinite(r[m]) else 0))
    rank = 0
    for r in rows:
        if math.isfinite(r[m]):
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
    extra = []
    if has_modes(results):
        extra = ["minor_weight", "off_data"]
        if any(r["flag"] for r in rows):
            extra.append("flag")
    return ["rank", "id", "status"] + results.swept_keys + [metric] + extra + shown


def metric_notes(columns):
    """One line saying what the shown columns fd and nn_ratio mean ("" when neither is)."""
    notes = [METRIC_NOTES[c] for c in columns if c in METRIC_NOTES]
    return "; ".join(notes) + "." if notes else ""


def unfinished(rows):
    return [r for r in rows if r["status"] != "complete"]


def _pm(mean, std, f="%.3g"):
    if not math.isfinite(mean):
        return "-"
    return (f % mean) + ("" if not math.isfinite(std) else " ± " + (f % std))


def group_display(results, metric, groups):
    """(columns, rows) of the group table for people: mean ± std in one cell."""
    keys = [k for k in results.swept_keys if k != "seed"]
    cols = ["rank", "group"] + keys
    out = []
    modes = has_modes(results)
    mc = M.columns(results)
    wname = "minor weight (truth %.3g)" % mc["truth"] if modes else None
    if modes:
        cols += ["recovers", wname]
    cols += [metric, "n"]
    if modes:
        if metric != "mmd2" and "mmd2" in results.metric_names:
            cols.append("mmd2")
        cols.append("flagged")
    for g in groups:
        r = {"rank": g["rank"], "group": g["group"]}
        r.update({k: shown(g, k) for k in keys})
        r[metric] = _pm(g[metric + "_mean"], g[metric + "_std"])
        r["n"] = "%d/%d" % (g["n"], g["runs"])
        if modes:
            r["recovers"] = "%s %s" % (g["verdict"], g["recovers"])
            r[wname] = _pm(g["minor_weight_mean"], g["minor_weight_std"], "%.3f")
            if "mmd2" in cols:
                r["mmd2"] = g.get("mmd2_mean", math.nan)
            r["flagged"] = "%d/%d %s" % (g["flagged"], g["runs"], g["flags"]) \
                if g["flagged"] else ""
        out.append(r)
    return cols, out


def describe(results, group_row):
    """'c0007 (model.scale_by_sigma=true, train.ema=0.999)': a group and its swept values."""
    keys = [k for k in results.swept_keys if k != "seed"]
    vals = ", ".join("%s=%s" % (k, shown(group_row, k)) for k in keys)
    return "%s (%s)" % (group_row["group"], vals) if vals else group_row["group"]


def verdict_lines(results, groups, tol=M.TOL):
    """The at-a-glance answer: which configurations recover the weights, as markdown lines
    (empty without a known mixture)."""
    if not has_modes(results):
        return []
    mc = M.columns(results)
    if mc["mean"] is None:  # data with labels
        out = ["The classes play the modes' part: each sample's class is a 5-NN classifier's "
               "(fitted on the training points; classifier_accuracy is its held-out accuracy), "
               "the truth the classes' shares among the training points. The smallest class "
               "(class %d) has training share %.3g. A run recovers the shares when its "
               "mode_weight_error (largest |estimated - true| share) is at most %g and it is "
               "not a *poor fit* (mmd2 above %s, %g times the best configuration's mean). A "
               "configuration recovers when every repeat does."
               % (mc["minor"], mc["truth"], tol, fmt(mc["fit_limit"]), M.FIT_FACTOR), ""]
        return out + _verdict_list(results, groups)
    where = ", ".join("%g" % v for v in mc["mean"])
    out = ["The minor mode (component %d, mean (%s)) has true weight %.3g. A run recovers "
           "the weights when its mode_weight_error (largest |estimated - true| weight) is at "
           "most %g and it is not flagged: not *off data* (more than %d%% of its samples "
           "farther from every mode than a true sample is with probability %g) and not a "
           "*poor fit* (mmd2 above %s, %g times the best configuration's mean: its weights "
           "may be right while its modes sit in the wrong place). A configuration recovers "
           "when every repeat does."
           % (mc["minor"], where, mc["truth"], tol, round(100 * M.OFF_DATA_MAX), M.OFF_DATA_P,
              fmt(mc["fit_limit"]), M.FIT_FACTOR), ""]
    return out + _verdict_list(results, groups)


def _verdict_list(results, groups):
    """verdict_lines' list: which configurations recover, partly, not, pending, flagged."""
    out = []
    yes = [g for g in groups if g["verdict"].startswith("yes")]
    part = [g for g in groups if g["verdict"].startswith("partly")]
    no = [g for g in groups if g["verdict"].startswith("no")]
    word = "repeats" if max(g["runs"] for g in groups) > 1 else "runs"
    if yes:
        out.append("- **Recover** (every one of their %s): %d of %d configurations: %s."
                   % (word, len(yes), len(groups),
                      "; ".join("%s, minor weight %s%s" % (
                          describe(results, g),
                          _pm(g["minor_weight_mean"], g["minor_weight_std"], "%.3f"),
                          " (so far %s)" % g["recovers"] if "so far" in g["verdict"] else "")
                          for g in yes)))
    else:
        out.append("- **No configuration recovers the weights** in every one of its %s." % word)
    if part:
        out.append("- **Partly** (some %s): %s." % (word, "; ".join(
            "%s %s" % (describe(results, g), g["recovers"]) for g in part)))
    if no:
        out.append("- **Do not recover**: %d configuration%s: %s." % (
            len(no), "" if len(no) == 1 else "s", ", ".join(g["group"] for g in no)))
    pending = [g for g in groups if g["verdict"] == "pending"]
    if pending:
        out.append("- **No run finished yet**: %s." % ", ".join(g["group"] for g in pending))
    flagged = [g for g in groups if not g["sound"]]
    if flagged:
        out.append("- Ranked after the sound ones for a failed, diverged or flagged run: %s."
                   % ", ".join(g["group"] for g in flagged))
    return out + [""]


def markdown(results, metric, top, tol=M.TOL, groups=None, decision=None, failures=None):
    """leaderboard.md: the decision (decision.py: the baseline against the configurations
    that recover in every repeat), the failures, which configurations recover, the groups,
    the best single runs, the runs not finished yet."""
    from . import configs as C
    from . import decision as D
    rows = run_rows(results, metric)
    groups = groups if groups is not None else C.rows(results, metric, tol)
    decision = decision if decision is not None else D.blocks(results, groups, metric, tol)
    failures = failures if failures is not None else D.failure_blocks(results)
    out = ["# ncsn report", "", summary_line(results) + ".", "", "## Decision", "",
           D.markdown(decision)]
    if failures:
        out += ["## Failures", "", D.markdown(failures)]
    if has_modes(results):
        out += ["## Which configurations recover the weights", ""]
        out += verdict_lines(results, groups, tol)
    n_ranked = sum(1 for r in rows if r["rank"] != "")
    if len(groups) < len(rows):
        cols, disp = group_display(results, metric, groups)
        out += ["## Groups over repeats", "",
                "One seed misleads: each configuration's repeats (rows with the same `group`), "
                "mean ± std (ddof 1) over the n runs that have a value. Configurations with a "
                "failed, diverged or flagged run rank after the sound ones.", ""]
        out += [_md_table(disp[:MAX_GROUPS], cols), ""]
        if len(groups) > MAX_GROUPS:
            out += ["%d more groups in leaderboard_groups.csv." % (len(groups) - MAX_GROUPS), ""]
    out += ["## Best runs", "",
            "Single runs ranked by **%s** (lower is better); flagged runs (off data, poor "
            "fit) rank after the rest. One seed misleads: decide by the configurations "
            "above. `leaderboard.csv` has every run and metric, `leaderboard_groups.csv` "
            "every group." % metric, ""]
    if n_ranked:
        cols = display_columns(results, metric, rows)
        out += [_md_table(rows[:min(top, n_ranked)], cols), ""]
        if metric_notes(cols):
            out += [metric_notes(cols), ""]
        if n_ranked > top:
            out += ["%d more ranked runs in leaderboard.csv." % (n_ranked - top), ""]
    else:
        out += ["No run has a finite %s yet." % metric, ""]
    left = unfinished(rows)
    if left:
        out += ["## Not complete", "", _md_table(left, ["id", "status", "error"]), ""]
    return "\n".join(out)
