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
    index.html, which shows the tables and every figure once, with a caption. Both open
    with the decision (decision.py): the baseline against the configurations that recover
    the weights in every repeat, with figures of every repeat of those (samples.png, or
    samples_images.png for image data) and minor_weight.png; where the sweep samples
    trainings at several steps (sample.snapshot), the best step of each and
    metric_vs_step.png (steps.py); for a halving sweep every rung's scores and promotions
    (rungs.py); then the failures, the
    groups, the per-configuration figures, the sweep figures and the best single runs.
    failure_summary(results)   the runs that did not complete, for stderr
"""

import html
import itertools
import math
import os
import re
import sys

import numpy as np

from . import config_figures as CF
from . import configs as C
from . import decision as D
from . import rungs as RG
from . import figures as F
from . import images
from . import leaderboard as LB
from . import modes
from . import steps as S
from .results import AnalysisError, load

MAX_SCORE_FIELDS = 2   # shown configurations (baseline, best recommended) with a score field
MAX_HEATMAPS = 10      # pairs of swept keys
MAX_STEP_LINES = 8     # training configurations drawn against the step


def default_outdir(results, path):
    if results.kind == "run":
        stem = os.path.splitext(os.path.basename(path))[0]
        return os.path.join(os.path.dirname(os.path.abspath(path)), stem + "_report")
    if getattr(results, "rungs", None) and os.path.isdir(path):  # a halving sweep's DIR
        return os.path.join(path, "report")
    return os.path.join(results.path, "report")


def _safe(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _warn(msg):
    print("analysis: warning: " + msg, file=sys.stderr)


def _figure_maker(outdir, made, notes):
    def figure(name, caption, build, where="figures"):
        try:
            fig = build()
        except Exception as e:  # one bad figure must not cost the whole report
            _warn("%s: %s: %s" % (name, type(e).__name__, e))
            notes.append("%s not drawn: %s" % (name, e))
            return
        F.save(fig, os.path.join(outdir, name))
        made.append((name, caption, where))
    return figure


def _names(shown):
    return "; ".join(label for label, _ in shown)


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
    groups = C.rows(res, metric, tol)
    LB.write_csv(rows, LB.run_columns(res, metric), os.path.join(outdir, "leaderboard.csv"))
    LB.write_csv(groups, LB.group_columns(res, metric) + GROUP_EXTRA_COLUMNS(metric),
                 os.path.join(outdir, "leaderboard_groups.csv"))
    decision = D.blocks(res, groups, metric, tol) + RG.blocks(res)
    failures = D.failure_blocks(res)
    with open(os.path.join(outdir, "leaderboard.md"), "w") as fh:
        fh.write(LB.markdown(res, metric, top, tol, groups, decision, failures))

    made = []  # (file name, caption, section)
    notes = []
    figure = _figure_maker(outdir, made, notes)
    shown = D.shown_groups(res, groups)
    base = C.baseline(res)
    if LB.has_modes(res) and any(math.isfinite(g.get("minor_weight_mean", math.nan))
                                 for g in groups):
        figure("minor_weight.png",
               "Weight of the minor %s per configuration, every configuration, best first "
               "(the table's order): each repeat (blue dot; red x: a flagged run, with more "
               "than %d%% of its samples off the data or an mmd2 over %g times the best "
               "configuration's), the mean ± std over repeats (black), the true weight "
               "(green line) and truth ± %g, the band within which a run counts as "
               "recovering the weights. Labels are green where every repeat recovers, "
               "orange where some do, grey where none does."
               % ("class" if modes.columns(res)["mean"] is None else "mode",
                  round(100 * modes.OFF_DATA_MAX), modes.FIT_FACTOR, tol),
               lambda: F.minor_weight_figure(res, groups, tol), "decision")

    lines = S.lines(res, groups, metric)
    by_step = S.varies(res, lines)
    if by_step:
        shown_lines = lines[:MAX_STEP_LINES]
        step_metrics = _step_metrics(res, metric)
        figure("metric_vs_step.png",
               "%s against the training step the samples came from (sample.snapshot; the "
               "last step is train.steps, the final weights), one colour per training "
               "configuration (the swept keys but sample.snapshot)%s: every repeat (thin "
               "line; a repeat is one training, its seed the same at every step), the mean "
               "over repeats (thick) and their range (band), and the best step by %s (star; the "
               "decision's table above)%s." % (
                   ", ".join(step_metrics), ", the baseline's in grey" if any(
                       ln["baseline"] for ln in shown_lines) else "",
                   metric, "" if len(lines) <= MAX_STEP_LINES else
                   "; %d of %d training configurations, the baseline's and the best by "
                   "their best step's mean %s" % (len(shown_lines), len(lines), metric)),
               lambda: F.metric_vs_step_figure(res, shown_lines, step_metrics, metric),
               "decision")

    kind, _ = D.candidates(groups, LB.has_modes(res))
    which = {"recommended": "recommended configurations",
             "closest": "configurations closest to recovering",
             "best": "best configurations by the mean %s" % metric}[kind]
    what = "the baseline and the " + which if base is not None else "the " + which
    if len(groups) == 1:
        what = "the run" if len(res.table) == 1 else "the configuration"
    files = [g for _, g in shown if any(res.has_file(i) for i, h in
                                        zip(res.ids, res.table["group"]) if h == g)]
    shown = [(label, g) for label, g in shown if g in files]
    if not shown and len(groups) >= 1:
        notes.append("no run has a run file yet: no per-configuration figures")
    if shown:
        D_ = res.run(next(i for i, h in zip(res.ids, res.table["group"])
                          if h == shown[0][1] and res.has_file(i))).samples.shape[1]
        img = images.find_images(res, shown)
        if img is not None and "missing" in img:
            notes.append("no samples_images.png: the data file %s (dataset.path) is not found "
                         "from here; run the report from the directory the sweep ran in"
                         % img["missing"])
            img = None
        if img is not None:
            figure("samples_images.png", images.caption(img, shown),
                   lambda: images.samples_images_figure(res, shown, img), "decision")
        else:
            figure("samples.png",
                   "Samples of every repeat of %s (%s): one row per configuration, %s; the "
                   "title gives each run's minor-mode weight and flag." % (
                       what, _names(shown),
                       "over contours of the true mixture density" if any(
                           r.mixture is not None for r in res.runs()[:1])
                       else "the first two coordinates" if D_ > 2 else "the samples"),
                   lambda: CF.samples_figure(res, shown), "decision")
        if any("mode_weights" in r.metrics for _, g in shown
               for _, r, _ in CF.group_runs(res, g) if r is not None):
            figure("mode_weights.png",
                   "Mode weights of %s: per mode (or class) the truth (black line), every "
                   "repeat (dots) and the mean over repeats (bar)%s." % (
                       what, ", one panel per mode, each on its own scale"
                       if modes.columns(res)["mean"] is not None else ""),
                   lambda: CF.mode_weights_figure(res, shown, base))
        if any(len(r.loss) for _, g in shown for _, r, _ in CF.group_runs(res, g)
               if r is not None):
            figure("loss.png",
                   "Training loss (DSM, batch mean) of %s: each repeat (thin) and the median "
                   "over repeats (thick), both as a running median over a fifteenth "
                   "of the logged steps, so that the trend shows rather than each batch's "
                   "noise." % what,
                   lambda: CF.loss_figure(res, shown, base))
        if any("score_error" in r.metrics for _, g in shown
               for _, r, _ in CF.group_runs(res, g) if r is not None):
            figure("score_error.png",
                   "Relative score error per noise level, E σ²|s_θ − ∇log q_σ|² / "
                   "E σ²|∇log q_σ|² with x ~ q_σ, against σ (log axis), of %s: the median "
                   "over repeats (line) and their range (band)." % what,
                   lambda: CF.score_error_figure(res, shown, base))
        for label, g in shown[:MAX_SCORE_FIELDS]:
            r = CF.representative(res, g, metric)
            if r is None:
                continue
            if r.samples.shape[1] != 2:
                notes.append("score fields are drawn for 2-D data only")
                break
            figure("score_field_%s.png" % _safe(g),
                   "Score field of %s: run %s, the repeat with the median %s, at the largest, "
                   "a middle and the smallest σ: the learned s(x, σ) (quiver, blue) and its "
                   "norm (contourf), beside the true score of q_σ (red) and its norm, on one "
                   "arrow and colour scale per row; computed in numpy from the weights the run "
                   "sampled (/model, or its sample.snapshot's entry of /snapshots)." % (label, r.id, metric),
                   lambda r=r: F.score_field_figure(r))

    t = res.table
    quality = [m for m in [metric] + [m for m in LB.QUALITY if m != metric]
               if m in res.metric_names and np.isfinite(t[m].astype(float)).any()]
    if quality and res.swept_keys and len(groups) > 1:
        for key in res.swept_keys:
            if by_step and key in S.STEP_KEYS:
                continue  # metric_vs_step.png draws it against the step it means
            figure("metric_vs_%s.png" % _safe(key),
                   "Each metric against %s: every run (dots) and the median over the runs at "
                   "each value (line); %s. The y axis spans the 2nd to 98th percentile of the "
                   "runs' values, padded; runs beyond it are drawn as triangles on the edge "
                   "and counted in the panel's title; log axes where the values span "
                   "decades." % (key, "\"auto\" is one value, whatever it resolved to"
                                 if key in res.auto_keys else "each swept value"),
                   lambda key=key: F.metric_vs_key_figure(res, key, quality))
        for a, b in itertools.islice(itertools.combinations(res.swept_keys, 2), MAX_HEATMAPS):
            figure("heatmap_%s__%s.png" % (_safe(a), _safe(b)),
                   "Median %s at each (%s, %s), over repeats and every other swept key "
                   "(\"auto\" is one value, whatever it resolved to)%s." % (
                       metric, a, b, F.heatmap_blank_note(res, a, b, metric)),
                   lambda a=a, b=b: F.heatmap_figure(res, a, b, metric))

    index = os.path.join(outdir, "index.html")
    with open(index, "w") as fh:
        fh.write(_html(res, metric, top, tol, rows, groups, made, notes, decision, failures))
    return index


def _step_metrics(res, metric):
    """The metrics metric_vs_step.png draws: the ranking metric, mmd2, swd and the score
    error, those that some run has."""
    t = res.table
    out = [m for m in [metric, "mmd2", "swd"] if m in res.metric_names and
           (m == metric or np.isfinite(t[m].astype(float)).any())]
    out = list(dict.fromkeys(out))
    runs = res.runs()
    if runs and "score_error" in runs[0].metrics:
        out.append("score_error")
    return out


def failure_summary(results):
    """One line per run that did not complete, for the command line: "", or "analysis: 2 of
    96 runs did not complete: c0004-r0 nonfinite_samples (1 of 5000 samples ...), ..."."""
    from .results import UNFINISHED
    t = results.table
    left = [i for i in range(len(t)) if str(t["status"][i]) not in ("complete",) + UNFINISHED]
    if not left:
        return ""
    lines = ["%d of %d runs did not complete:" % (len(left), len(t))]
    lines += ["  %s %s%s" % (t["id"][i], t["status"][i],
                             ": " + str(t["error"][i]) if str(t["error"][i]) else "")
              for i in left]
    return "\n".join(lines)


def GROUP_EXTRA_COLUMNS(metric):
    """leaderboard_groups.csv's columns beyond leaderboard.group_columns (configs.rows)."""
    return ["baseline", "differs", "train_step", "complete", "not_complete", "n_bad",
            metric + "_median"] \
        + (["mmd2_median"] if metric != "mmd2" else []) + ["seconds", "errors"]


def _html_table(rows, columns):
    head = "".join("<th>%s</th>" % html.escape(c) for c in columns)
    body = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % html.escape(LB.fmt(r.get(c, "")))
                                           for c in columns) for r in rows)
    return "<table><tr>%s</tr>%s</table>" % (head, body)


def _fig_html(name, caption):
    return ("<figure><img src='%s' alt='%s'><figcaption>%s</figcaption></figure>"
            % (html.escape(name), html.escape(name), html.escape(caption)))


def _html(res, metric, top, tol, rows, groups, made, notes, decision, failures):
    n_ranked = sum(1 for r in rows if r["rank"] != "")
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>ncsn report</title>",
             "<style>body{font-family:sans-serif;max-width:1400px;margin:1em auto}"
             "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;"
             "padding:2px 6px}figure{margin:1.5em 0}img{max-width:100%}"
             "figcaption{color:#333;max-width:60em}</style></head><body>",
             "<h1>ncsn report</h1>",
             "<p>%s.</p>" % D.inline(LB.summary_line(res))]
    parts.append("<h2>Decision</h2>")
    parts.append(D.html(decision))
    # the samples of the baseline and the recommended configurations first, then every
    # configuration's minor weight
    for name, caption, where in sorted(made, key=lambda m: (not m[0].startswith("samples"),
                                                            m[0] != "metric_vs_step.png")):
        if where == "decision":
            parts.append(_fig_html(name, caption))
    if failures:
        parts.append("<h2>Failures</h2>")
        parts.append(D.html(failures))
    lines = LB.verdict_lines(res, groups, tol)
    if lines:
        parts.append("<h2>Which configurations recover the weights</h2>")
        parts.append("<ul>%s</ul>" % "".join("<li>%s</li>" % D.inline(x[2:])
                                             for x in lines[1:] if x.startswith("- ")))
    if len(groups) < len(rows):
        cols, disp = LB.group_display(res, metric, groups)
        parts.append("<h2>Groups over repeats</h2><p>Every configuration: mean ± std (ddof 1) "
                     "of its repeats; n counts the runs that have a value. Configurations "
                     "with a failed, diverged or flagged run rank after the sound ones. "
                     "<a href='leaderboard_groups.csv'>leaderboard_groups.csv</a> has "
                     "medians, bad-sample counts and failure reasons too.</p>")
        parts.append(_html_table(disp[:LB.MAX_GROUPS], cols))
    figs = [(n, c) for n, c, w in made if w == "figures"]
    if figs:
        parts.append("<h2>Figures</h2>")
        parts += [_fig_html(n, c) for n, c in figs]
    for n in notes:
        parts.append("<p><i>%s</i></p>" % html.escape(n))
    parts.append("<h2>Single runs</h2><p>Ranked by <b>%s</b> (lower is better); flagged runs "
                 "(off data, poor fit) rank after the rest. One seed misleads: decide by the "
                 "configurations above. <a href='leaderboard.md'>leaderboard.md</a>, "
                 "<a href='leaderboard.csv'>leaderboard.csv</a> (every run).</p>"
                 % html.escape(metric))
    if n_ranked:
        cols = LB.display_columns(res, metric, rows)
        parts.append(_html_table(rows[:min(top, n_ranked)], cols))
        if LB.metric_notes(cols):
            parts.append("<p>%s</p>" % html.escape(LB.metric_notes(cols)))
    else:
        parts.append("<p>No run has a finite %s yet.</p>" % html.escape(metric))
    left = [r for r in LB.unfinished(rows) if r["status"] in ("queued", "running")]
    if left:
        parts.append("<h2>Not finished yet</h2>")
        parts.append(_html_table(left, ["id", "status"]))
    parts.append("</body></html>\n")
    return "\n".join(parts)
