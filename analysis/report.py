"""report.py: from results to a decision: leaderboards, figures and index.html in one folder.

    make_report(path, outdir=None, metric=None, top=5, tol=modes.TOL) -> path of index.html
        path     a sweep directory, its sweep.h5, a directory of run files, or one run file
        outdir   default PATH/report/ for a directory (or a sweep.h5's directory), and
                 <name>_report/ beside a run file
        metric   the ranking metric; default mode_weight_error when the data has modes,
                 else mmd2
        top      how many of the best runs leaderboard.md lists and the figures show
                 (leaderboard.csv and leaderboard_groups.csv have all)
        tol      a run recovers the mixture's weights when its mode_weight_error is at
                 most tol (and its samples are on the data: modes.py)
    Writes leaderboard.md, leaderboard.csv, leaderboard_groups.csv, PNG figures and
    index.html, which shows the tables and every figure with a caption. Where the data is
    a known mixture, both open with which configurations recover the weights, and
    minor_weight.png shows the minor mode's weight per configuration over its repeats.
"""

import html
import itertools
import math
import os
import re
import sys

import numpy as np

from . import figures as F
from . import leaderboard as LB
from . import modes
from .results import AnalysisError, load

MAX_SCORE_FIELDS = 3   # best runs that get a score-field figure
MAX_HEATMAPS = 10      # pairs of swept keys


def default_outdir(results, path):
    if results.kind == "run":
        stem = os.path.splitext(os.path.basename(path))[0]
        return os.path.join(os.path.dirname(os.path.abspath(path)), stem + "_report")
    return os.path.join(results.path, "report")


def best_runs(results, metric, k):
    """The k best runs that have a run file and a finite metric, best first."""
    out = []
    for i in LB.ranked(results, metric):
        rid = str(results.table["id"][i])
        if not math.isfinite(float(results.table[metric][i])):
            break
        if results.has_file(rid):
            out.append(results.run(rid))
        if len(out) == k:
            break
    return out


def _safe(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _warn(msg):
    print("analysis: warning: " + msg, file=sys.stderr)


def make_report(path, outdir=None, metric=None, top=5, tol=modes.TOL):
    if top < 1:
        raise AnalysisError("--top must be at least 1, got %d" % top)
    if not (tol >= 0):
        raise AnalysisError("--tol must be at least 0, got %r" % tol)
    res = load(path)
    metric = metric or res.default_metric()
    if metric not in res.metric_names:
        raise AnalysisError("unknown metric %r; one of: %s" % (metric, ", ".join(res.metric_names)))
    outdir = outdir or default_outdir(res, path)
    os.makedirs(outdir, exist_ok=True)

    rows = LB.run_rows(res, metric)
    groups = LB.group_rows(res, metric, tol)
    LB.write_csv(rows, LB.run_columns(res, metric), os.path.join(outdir, "leaderboard.csv"))
    LB.write_csv(groups, LB.group_columns(res, metric),
                 os.path.join(outdir, "leaderboard_groups.csv"))
    with open(os.path.join(outdir, "leaderboard.md"), "w") as fh:
        fh.write(LB.markdown(res, metric, top, tol))

    made = []  # (file name, caption)
    notes = []

    def figure(name, caption, build):
        try:
            fig = build()
        except Exception as e:  # one bad figure must not cost the whole report
            _warn("%s: %s: %s" % (name, type(e).__name__, e))
            notes.append("%s not drawn: %s" % (name, e))
            return
        F.save(fig, os.path.join(outdir, name))
        made.append((name, caption))

    if LB.has_modes(res) and any(math.isfinite(g.get("minor_weight_mean", math.nan))
                                 for g in groups):
        figure("minor_weight.png",
               "Weight of the minor mode per configuration, best first (leaderboard order): "
               "each repeat (blue dot; red x: a flagged run, with more than %d%% of its "
               "samples off the data or an mmd2 over %g times the best configuration's), the "
               "mean ± std over repeats (black), the true weight (green line) and truth ± %g, "
               "the band within which a run counts as recovering the weights. Labels are "
               "green where every repeat recovers, orange where some do."
               % (round(100 * modes.OFF_DATA_MAX), modes.FIT_FACTOR, tol),
               lambda: F.minor_weight_figure(res, groups, tol))

    best = best_runs(res, metric, top)
    ids = ", ".join(r.id for r in best)
    if best:
        figure("samples.png",
               "Samples of the best runs (%s) by %s, over contours of the true mixture density "
               "where the data is a known mixture (the notebook's scatter)." % (ids, metric),
               lambda: F.samples_figure(best, metric))
        if any("mode_weights" in r.metrics for r in best):
            figure("mode_weights.png",
                   "Mode weights (share of samples nearest each mean) of the best runs against "
                   "the true mixture weights (black).",
                   lambda: F.mode_weights_figure(best))
        if any(len(r.loss) for r in best):
            figure("loss.png", "Training loss (DSM, batch mean) of the best runs.",
                   lambda: F.loss_figure(best))
        if any("score_error" in r.metrics for r in best):
            figure("score_error.png",
                   "Relative score error per noise level, E σ²|s_θ − ∇log q_σ|² / "
                   "E σ²|∇log q_σ|² with x ~ q_σ, against σ (log axis), for the best runs.",
                   lambda: F.score_error_figure(best))
        for r in best[:MAX_SCORE_FIELDS]:
            if r.samples.shape[1] != 2:
                notes.append("score fields are drawn for 2-D data only")
                break
            figure("score_field_%s.png" % _safe(r.id),
                   "Score field of %s at the largest, a middle and the smallest σ: the learned "
                   "s(x, σ) (quiver, blue) and its norm (contourf), beside the true score of "
                   "q_σ (red) and its norm, on one arrow and colour scale per row; computed in "
                   "numpy from the run's /model weights." % r.id,
                   lambda r=r: F.score_field_figure(r))
    else:
        notes.append("no run has a finite %s yet: no per-run figures" % metric)
        broken = [res.run(i) for i in res.ids if res.has_file(i)][:top]
        if any(len(r.loss) for r in broken):
            figure("loss.png", "Training loss of runs without a finite %s (%s), e.g. "
                   "diverged ones." % (metric, ", ".join(r.id for r in broken)),
                   lambda: F.loss_figure(broken, "training loss (runs without %s)" % metric))

    t = res.table
    shown = [m for m in [metric] + [m for m in LB.QUALITY if m != metric]
             if m in res.metric_names and np.isfinite(t[m].astype(float)).any()]
    if shown and res.swept_keys:
        for key in res.swept_keys:
            figure("metric_vs_%s.png" % _safe(key),
                   "Each metric against %s: every run (dots) and the median over the runs at "
                   "each value (line); log axes where the values span decades." % key,
                   lambda key=key: F.metric_vs_key_figure(res, key, shown))
        for a, b in itertools.islice(itertools.combinations(res.swept_keys, 2), MAX_HEATMAPS):
            figure("heatmap_%s__%s.png" % (_safe(a), _safe(b)),
                   "Mean %s at each (%s, %s), over repeats and every other swept key; blank "
                   "cells have no finished run." % (metric, a, b),
                   lambda a=a, b=b: F.heatmap_figure(res, a, b, metric))

    index = os.path.join(outdir, "index.html")
    with open(index, "w") as fh:
        fh.write(_html(res, metric, top, tol, rows, groups, made, notes))
    return index


def _html_table(rows, columns):
    head = "".join("<th>%s</th>" % html.escape(c) for c in columns)
    body = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % html.escape(LB.fmt(r.get(c, "")))
                                           for c in columns) for r in rows)
    return "<table><tr>%s</tr>%s</table>" % (head, body)


def _md_inline(text):
    """A markdown line of leaderboard.md as HTML: escaped, **bold** and *italics* kept."""
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text))
    return re.sub(r"\*(.+?)\*", r"<i>\1</i>", text)


def _html(res, metric, top, tol, rows, groups, made, notes):
    n_ranked = sum(1 for r in rows if r["rank"] != "")
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>ncsn report</title>",
             "<style>body{font-family:sans-serif;max-width:1400px;margin:1em auto}"
             "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;"
             "padding:2px 6px}figure{margin:1.5em 0}img{max-width:100%}"
             "figcaption{color:#333;max-width:60em}</style></head><body>",
             "<h1>ncsn report</h1>",
             "<p>%s.</p>" % html.escape(LB.summary_line(res)),
             "<p>Ranked by <b>%s</b> (lower is better); flagged runs (off data, poor fit) "
             "rank after the rest. Tables: <a href='leaderboard.md'>"
             "leaderboard.md</a>, <a href='leaderboard.csv'>leaderboard.csv</a> (every run), "
             "<a href='leaderboard_groups.csv'>leaderboard_groups.csv</a>.</p>"
             % html.escape(metric)]
    lines = LB.verdict_lines(res, groups, tol)
    if lines:
        parts.append("<h2>Which configurations recover the weights</h2>")
        parts.append("<p>%s</p><ul>%s</ul>" % (
            _md_inline(lines[0]), "".join("<li>%s</li>" % _md_inline(x[2:])
                                          for x in lines[1:] if x.startswith("- "))))
        if "minor_weight.png" in [m[0] for m in made]:
            parts.append("<p><img src='minor_weight.png' alt='minor_weight.png'></p>")
    if len(groups) < len(rows):
        cols, disp = LB.group_display(res, metric, groups)
        parts.append("<h2>Groups over repeats</h2><p>Mean ± std (ddof 1) of each "
                     "configuration's repeats; n counts the runs that have a value. "
                     "Configurations with a failed, diverged or flagged run rank after "
                     "the sound ones.</p>")
        parts.append(_html_table(disp[:LB.MAX_GROUPS], cols))
    parts.append("<h2>Best runs</h2>")
    if n_ranked:
        cols = LB.display_columns(res, metric, rows)
        parts.append(_html_table(rows[:min(top, n_ranked)], cols))
        if LB.metric_notes(cols):
            parts.append("<p>%s</p>" % html.escape(LB.metric_notes(cols)))
    else:
        parts.append("<p>No run has a finite %s yet.</p>" % html.escape(metric))
    left = LB.unfinished(rows)
    if left:
        parts.append("<h2>Not complete</h2>")
        parts.append(_html_table(left, ["id", "status", "error"]))
    parts.append("<h2>Figures</h2>")
    for name, caption in made:
        parts.append("<figure><img src='%s' alt='%s'><figcaption>%s</figcaption></figure>"
                     % (html.escape(name), html.escape(name), html.escape(caption)))
    for n in notes:
        parts.append("<p><i>%s</i></p>" % html.escape(n))
    parts.append("</body></html>\n")
    return "\n".join(parts)
