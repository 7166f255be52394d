"""decision.py: the report's opening, the same in leaderboard.md and index.html: the baseline
against the configurations that recover the weights in every repeat, each named by how it
differs from the baseline; then the runs that failed or were flagged.

Built as blocks, rendered to markdown or HTML:
    ("p", text)                 a paragraph (markdown inline: **bold**, *italics*, `code`)
    ("ul", [text, ...])         a list
    ("table", columns, rows)    rows: dicts of cells (text)
    ("img", file name)          a figure shown in place (HTML only)

    shown_groups(results, rows, max_recommended)
                                [(name, group)]: the baseline, then the recommended
                                configurations, best first (at most max_recommended), or
                                when none recovers every time the closest ones (most
                                repeats recovering)
    blocks(results, rows, metric, tol)
                                the decision section's blocks; where a sweep samples
                                trainings at several steps (sample.snapshot), the table
                                has each configuration's step and the best step of every
                                training configuration follows (steps.blocks)
    failure_blocks(results)     the runs that did not complete (status, reason, n_bad) and
                                the runs with bad samples
    markdown(blocks), html(blocks)
"""

import html as _html
import math
import re

import numpy as np

from . import configs as C
from . import leaderboard as LB
from . import modes as M
from . import steps as S
from .results import UNFINISHED

MAX_RECOMMENDED = 4   # recommended configurations drawn (the table lists every one)


def _pm(mean, std, f="%.3f"):
    return LB._pm(mean, std, f)


def candidates(rows, with_modes=True):
    """(kind, rows) the report sets against the baseline: ("recommended", the
    configurations whose every repeat recovers) when there are any; else ("closest", those
    with the most repeats recovering) when some repeat recovers; else ("best", the
    MAX_RECOMMENDED best ranked by the mean metric). Without modes, always "best"."""
    if with_modes:
        rec = C.recommended(rows)
        if rec:
            return "recommended", rec

        def good(r):
            return int(str(r.get("recovers", "0/0")).split("/")[0])
        most = max([good(r) for r in rows] + [0])
        if most > 0:
            return "closest", [r for r in rows if good(r) == most]
    return "best", [r for r in rows if r["rank"] != ""][:MAX_RECOMMENDED]


def shown_groups(results, rows, max_recommended=MAX_RECOMMENDED):
    base = C.baseline(results)
    _, rec = candidates(rows, LB.has_modes(results))
    out = [(r["name"], r["group"]) for r in rows if r["group"] == base]
    out += [(r["name"], r["group"]) for r in rec if r["group"] != base][:max_recommended]
    return out


def _repeats_text(results, group):
    """Each repeat's minor weight, in repeat order: "0.052 0.048 0.061" ("x" for a run
    without one, "!" after a flagged one)."""
    mc = M.columns(results)
    t = results.table
    idx = [i for i, g in enumerate(t["group"]) if str(g) == group]
    idx.sort(key=lambda i: int(t["repeat"][i]))
    out = []
    for i in idx:
        w = mc["minor_weight"][i]
        out.append(("%.3f" % w if math.isfinite(w) else "–") + ("!" if mc["flag"][i] else ""))
    return " ".join(out)


def _table(results, rows, metric, with_modes, by_step=False):
    mc = M.columns(results)
    cols = ["configuration"] + (["step"] if by_step else [])
    minor = "minor weight (truth %.3g)" % mc["truth"]
    if with_modes:
        cols += ["recovers", minor, "per repeat"]
    cols += [metric, "mmd2 (median)"]
    if any(math.isfinite(r["n_bad"]) for r in rows):
        cols.append("bad samples")
    cols.append("s per run")
    out = []
    for r in rows:
        d = {"configuration": r["name"], metric: LB._pm(r[metric + "_mean"],
                                                       r[metric + "_std"]),
             "mmd2 (median)": LB.fmt(r.get("mmd2_median", math.nan)),
             "bad samples": "" if not math.isfinite(r["n_bad"]) else "%d" % r["n_bad"],
             "s per run": "%.0f" % r["seconds"] if math.isfinite(r["seconds"]) else "-",
             "step": "%d" % r["train_step"] if math.isfinite(r["train_step"]) else "-"}
        if with_modes:
            d["recovers"] = "%s %s" % (r["verdict"], r["recovers"])
            d[minor] = _pm(r["minor_weight_mean"], r["minor_weight_std"])
            d["per repeat"] = _repeats_text(results, r["group"])
        out.append(d)
    return ("table", cols, out)


def blocks(results, rows, metric, tol=M.TOL):
    """The decision: the baseline, the recommended (or closest, or best) configurations,
    and where a sweep samples trainings at several steps, the best step of each
    (steps.blocks)."""
    lines = S.lines(results, rows, metric)
    by_step = S.varies(results, lines)
    return _blocks(results, rows, metric, tol, by_step) + \
        (S.blocks(results, rows, metric, lines) if by_step else [])


def _blocks(results, rows, metric, tol, by_step):
    base = C.baseline(results)
    with_modes = LB.has_modes(results)
    by_group = {r["group"]: r for r in rows}
    out = []
    if base is not None:
        b = by_group[base]
        vals = ", ".join("%s=%s" % (k, v) for k, v in C.asked(results, base).items())
        if with_modes:
            verdict = {"yes": "recovers the weights in every repeat",
                       "no": "recovers the weights in none of its repeats",
                       "partly": "recovers the weights in some of its repeats"}.get(
                           b["verdict"].split(" ")[0], b["verdict"])
            out.append(("p", "**Baseline** %s, %s (%s): it **%s** (%s), minor weight %s "
                        "against the truth %.3g." % (
                            base, C.baseline_origin(results), vals, verdict, b["recovers"],
                            _pm(b["minor_weight_mean"], b["minor_weight_std"]),
                            M.columns(results)["truth"])))
        else:
            out.append(("p", "**Baseline** %s, %s (%s): %s %s." % (
                base, C.baseline_origin(results), vals, metric,
                LB._pm(b[metric + "_mean"], b[metric + "_std"]))))
    elif len(rows) > 1:
        mode = results.settings.get("mode")
        out.append(("p", "No baseline: %s. Configurations are named by their swept values."
                    % ("a random search has no first values" if mode == "random"
                       else "the first configuration of the halving sweep did not reach its "
                       "last rung (see the rungs below)" if mode == "halving"
                       else "the runs do not come from one grid sweep")))
    kind, listed = candidates(rows, with_modes)
    if not with_modes:
        out.append(("p", "The data has no modes or classes to recover: configurations "
                    "ranked by the mean of %s over their repeats (lower is better), sound "
                    "ones (no failed, diverged or flagged run) first." % metric))
        out.append(_table(results, ([by_group[base]] if base else [])
                          + [r for r in listed if r["group"] != base], metric, False,
                          by_step))
        return out
    word = "repeats" if max(r["runs"] for r in rows) > 1 else "runs"
    if kind == "recommended":
        out.append(("p", "**Recommended: %d of %d configurations recover the weights in "
                    "every one of their %s**, best first (by the mean %s), each named by how "
                    "it differs from the baseline:" % (len(listed), len(rows), word, metric)))
    elif kind == "closest":
        out.append(("p", "**No configuration recovers the weights in every one of its %s.** "
                    "The closest, with the most %s recovering:" % (word, word)))
    else:
        out.append(("p", "**No run recovers the weights.** The best configurations by the "
                    "mean %s:" % metric))
    table_rows = ([by_group[base]] if base is not None else []) + \
        [r for r in listed if r["group"] != base]
    out.append(_table(results, table_rows, metric, True, by_step))
    mc = M.columns(results)
    out.append(("p", "A run recovers the weights when its %s (largest |estimated − true| "
                "weight) is at most %g and it is not flagged (*off data*: over %d%% of its "
                "samples far from every mode; *poor fit*: mmd2 above %s, %g times the best "
                "configuration's mean; marked ! under per repeat); a configuration "
                "recovers when every repeat does." % (
                    "mode_weight_error" if mc["mean"] is not None else
                    "mode_weight_error (the classes' shares by a 5-NN classifier)", tol,
                    round(100 * M.OFF_DATA_MAX), LB.fmt(mc["fit_limit"]), M.FIT_FACTOR)))
    return out


def failure_blocks(results):
    """Runs that did not complete, and runs with bad samples; [] when there are none."""
    t = results.table
    bad = t["n_bad"].astype(np.float64) if "n_bad" in t.dtype.names else \
        np.full(len(t), math.nan)
    left = [i for i in range(len(t)) if str(t["status"][i]) not in ("complete",) + UNFINISHED]
    badrun = [i for i in range(len(t)) if i not in left and math.isfinite(bad[i]) and bad[i] > 0]
    if not left and not badrun:
        return []
    out = []
    counts = {}
    for i in left:
        counts[str(t["status"][i])] = counts.get(str(t["status"][i]), 0) + 1
    if left:
        out.append(("p", "**%d of %d runs did not complete** (%s); they count as not "
                    "recovering (a bad_samples run's metrics measure its good samples only; "
                    "a failed or diverged run has none):" % (
                        len(left), len(t), ", ".join("%d %s" % (n, s)
                                                     for s, n in counts.items()))))
    cols = ["run", "status", "reason"] + (["bad samples"] if np.isfinite(bad).any() else [])
    rows = []
    for i in left + badrun:
        rows.append({"run": str(t["id"][i]), "status": str(t["status"][i]),
                     "reason": str(t["error"][i]) or "-",
                     "bad samples": "%d" % bad[i] if math.isfinite(bad[i]) else ""})
    if badrun:
        out.append(("p", "%d complete run%s had bad samples (non-finite or far outside the "
                    "data), left out of their metrics." % (len(badrun),
                                                           "" if len(badrun) == 1 else "s")))
    out.append(("table", cols, rows))
    return out


def _md_cell(v):
    return str(v).replace("|", "\\|").replace("\n", " ")


def markdown(blocks):
    out = []
    for b in blocks:
        if b[0] == "p":
            out += [b[1], ""]
        elif b[0] == "ul":
            out += ["- " + x for x in b[1]] + [""]
        elif b[0] == "table":
            cols, rows = b[1], b[2]
            out += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
            out += ["| " + " | ".join(_md_cell(r.get(c, "")) for c in cols) + " |"
                    for r in rows] + [""]
    return "\n".join(out)


def inline(text):
    """Markdown inline text as HTML: escaped, **bold**, *italics* and `code` kept."""
    text = _html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"(?<![\w*])\*([^*]+?)\*(?![\w*])", r"<i>\1</i>", text)


def html(blocks):
    out = []
    for b in blocks:
        if b[0] == "p":
            out.append("<p>%s</p>" % inline(b[1]))
        elif b[0] == "ul":
            out.append("<ul>%s</ul>" % "".join("<li>%s</li>" % inline(x) for x in b[1]))
        elif b[0] == "table":
            cols, rows = b[1], b[2]
            head = "".join("<th>%s</th>" % _html.escape(c) for c in cols)
            body = "".join("<tr>%s</tr>" % "".join(
                "<td>%s</td>" % _html.escape(str(r.get(c, ""))) for c in cols) for r in rows)
            out.append("<table><tr>%s</tr>%s</table>" % (head, body))
        elif b[0] == "img":
            out.append("<p><img src='%s' alt='%s'></p>" % (_html.escape(b[1]),
                                                           _html.escape(b[1])))
    return "\n".join(out)
