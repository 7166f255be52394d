"""config_figures.py: figures that compare configurations over all their repeats (the
baseline and the recommended ones), never a lucky single run. Each takes `shown`, a list of
(label, group) pairs, label being how the configuration differs from the baseline
(configs.name), and draws every run of each group. Artists carry gids as in figures.py.

    group_runs(results, group)          [(id, Run or None, status)] of a group, in repeat
                                        order (None: no run file)
    samples_figure(results, shown)      one row per configuration, one panel per repeat: the
                                        samples over the true density (first two
                                        coordinates), titled with the run's minor weight
    loss_figure(results, shown)         the training loss, smoothed (running median), every
                                        repeat thin and the median over repeats thick, one
                                        colour per configuration
    score_error_figure(results, shown)  the relative score error per noise level: the median
                                        over repeats (line) and their range (band)
    mode_weights_figure(results, shown) per mode (or class): the truth (line), each
                                        configuration's repeats (dots) and their mean (bar)
    representative(results, group, metric)
                                        the repeat with the median metric (the middle of the
                                        ranked repeats): the run a score field is drawn for
    smooth(y, window)                   running median over window points (odd), same length
"""

import math

import numpy as np

from . import figures as F
from . import modes as M

BASELINE_COLOUR = "0.25"
COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
           "tab:pink", "tab:olive", "tab:cyan")


def colours(shown, base):
    """One colour per shown group: dark grey for the baseline, the tab colours for the rest."""
    out, j = {}, 0
    for _, g in shown:
        if g == base:
            out[g] = BASELINE_COLOUR
        else:
            out[g] = COLOURS[j % len(COLOURS)]
            j += 1
    return out


def group_runs(results, group):
    t = results.table
    idx = [i for i, g in enumerate(t["group"]) if str(g) == group]
    idx.sort(key=lambda i: int(t["repeat"][i]))
    out = []
    for i in idx:
        rid = str(t["id"][i])
        run = results.run(rid) if results.has_file(rid) else None
        out.append((rid, run, str(t["status"][i])))
    return out


def representative(results, group, metric):
    t = results.table
    idx = [i for i, g in enumerate(t["group"]) if str(g) == group
           and results.has_file(str(t["id"][i])) and math.isfinite(float(t[metric][i]))]
    if not idx:
        return None
    idx.sort(key=lambda i: float(t[metric][i]))
    return results.run(str(t["id"][idx[(len(idx) - 1) // 2]]))


def _minor_text(results, rid):
    mc = M.columns(results)
    if mc["minor"] is None:
        return ""
    i = results.ids.index(rid)
    w = mc["minor_weight"][i]
    text = "minor weight %.3f" % w if math.isfinite(w) else "no minor weight"
    if mc["flag"][i]:
        text += ", " + str(mc["flag"][i])
    return text


def samples_figure(results, shown, max_points=5000):
    """Rows: configurations (shown order); columns: their repeats."""
    rows = [(label, g, group_runs(results, g)) for label, g in shown]
    ncols = max(len(r[2]) for r in rows)
    fig = F.Figure(figsize=(F.PANEL * ncols * 0.85 + 0.5, F.PANEL * 0.95 * len(rows) + 0.3))
    F.FigureCanvasAgg(fig)
    subs = fig.subfigures(len(rows), 1, squeeze=False)[:, 0]
    for sub, (label, g, runs) in zip(subs, rows):
        axes = sub.subplots(1, ncols, squeeze=False)[0]
        sub.suptitle(label, fontsize=10, fontweight="bold")
        for ax in axes[len(runs):]:
            ax.set_visible(False)
        for ax, (rid, run, status) in zip(axes, runs):
            if run is None:
                ax.text(0.5, 0.5, "%s\n%s: no samples" % (rid, status), ha="center",
                        va="center", transform=ax.transAxes, fontsize=9)
                ax.set_xticks([])
                ax.set_yticks([])
                continue
            title = rid + ("" if status == "complete" else " (%s)" % status)
            extra = _minor_text(results, rid)
            F.draw_samples(fig, ax, run, title + ("\n" + extra if extra else ""),
                           max_points=max_points)
    return fig


def smooth(y, window):
    """Running median of y over `window` points (centred; shorter at the ends)."""
    y = np.asarray(y, dtype=np.float64)
    h = max(0, int(window) // 2)
    if h == 0 or y.size < 3:
        return y.copy()
    out = np.empty_like(y)
    for i in range(y.size):
        seg = y[max(0, i - h):i + h + 1]
        seg = seg[np.isfinite(seg)]
        out[i] = np.median(seg) if seg.size else math.nan
    return out


def loss_figure(results, shown, base=None, points=15):
    """Smoothed over len/points logged steps, so that the trend, not each batch's
    noise, shows; the median over repeats at each logged step."""
    fig, axes = F.new_figure(1, 1, width=8, height=4.5)
    ax = axes[0, 0]
    col = colours(shown, base)
    all_pos = True
    for label, g in shown:
        curves = []
        for rid, run, _ in group_runs(results, g):
            if run is None or len(run.loss) == 0:
                continue
            step = np.asarray(run.loss_step)
            loss = np.asarray(run.loss, dtype=np.float64)
            s = smooth(loss, max(3, len(loss) // points))
            ax.plot(step, s, lw=0.6, alpha=0.35, color=col[g], gid="loss:" + rid)
            curves.append((step, s))
            all_pos = all_pos and bool((loss[np.isfinite(loss)] > 0).all())
        if not curves:
            continue
        n = min(len(c[0]) for c in curves)
        med = np.median(np.stack([c[1][:n] for c in curves]), axis=0)
        ax.plot(curves[0][0][:n], med, lw=2, color=col[g], gid="loss_median:" + g,
                label="%s (%d run%s)" % (label, len(curves), "" if len(curves) == 1 else "s"))
    return _finish(fig, ax, all_pos, "step", "DSM loss (running median)",
                   "training loss: each repeat (thin) and the median over repeats (thick)")


def _finish(fig, ax, log_y, xlabel, ylabel, title):
    """Labels, a log y axis when there are lines and log_y, the legend, the layout."""
    if ax.lines and log_y:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if ax.lines:
        ax.legend(fontsize=7)
    ax.grid(True, lw=0.3)
    fig.tight_layout()
    return fig


def score_error_figure(results, shown, base=None):
    fig, axes = F.new_figure(1, 1, width=8, height=4.5)
    ax = axes[0, 0]
    col = colours(shown, base)
    all_pos = True
    for label, g in shown:
        errs, sig = [], None
        for rid, run, _ in group_runs(results, g):
            if run is None:
                continue
            e = run.metrics.get("score_error")
            s = np.asarray(run.sigmas, dtype=np.float64)
            if e is None or np.ndim(e) != 1 or len(e) != len(s) or not np.isfinite(e).any():
                continue
            errs.append(np.asarray(e, dtype=np.float64))
            sig = s
        if not errs or any(len(e) != len(sig) for e in errs):
            continue
        E = np.stack(errs)
        med = np.nanmedian(E, axis=0)
        ax.fill_between(sig, np.nanmin(E, axis=0), np.nanmax(E, axis=0), color=col[g],
                        alpha=0.2, lw=0, gid="score_error_range:" + g)
        ax.plot(sig, med, "o-", ms=2.5, lw=1.5, color=col[g], gid="score_error:" + g,
                label="%s (%d run%s)" % (label, len(errs), "" if len(errs) == 1 else "s"))
        all_pos = all_pos and bool((E[np.isfinite(E)] > 0).all())
    ax.set_xscale("log")
    return _finish(fig, ax, all_pos, "σ", "E σ²|s_θ − ∇log q_σ|² / E σ²|∇log q_σ|²",
                   "relative score error per noise level: median over repeats, their range")


def _truth(runs):
    for run in runs:
        if run.mixture is not None:
            return np.asarray(run.mixture.weights, dtype=np.float64), "mode"
        if "train_shares" in run.metrics:
            return np.asarray(run.metrics["train_shares"], dtype=np.float64), "class"
    return None, "mode"


def mode_weights_figure(results, shown, base=None):
    """One panel per mode (its own y scale, so that a weight of 0.05 shows beside 0.95) for
    up to four modes, else one panel of every class; in each, per configuration: the mean
    over repeats (bar), every repeat (dots), and the truth (black line)."""
    col = colours(shown, base)
    weights = {}
    runs_all = []
    for _, g in shown:
        ws = []
        for rid, run, _ in group_runs(results, g):
            if run is None:
                continue
            runs_all.append(run)
            w = run.metrics.get("mode_weights")
            if w is not None and np.ndim(w) == 1 and np.isfinite(w).all():
                ws.append(np.asarray(w, dtype=np.float64))
        weights[g] = ws
    truth, what = _truth(runs_all)
    K = len(truth) if truth is not None else max(len(w[0]) for w in weights.values() if w)
    n = len(shown)
    legend_h = 0.22 * n + 0.15  # inches: one legend line per configuration
    if K <= 4:
        fig, axes = F.new_figure(1, K, width=max(7, 3.2 * K), height=4.2 + legend_h)
        panels = [(axes[0, k], [k]) for k in range(K)]
    else:
        fig, axes = F.new_figure(1, 1, width=max(8, 0.25 * K * n + 3), height=4.5 + legend_h)
        panels = [(axes[0, 0], list(range(K)))]
    width = 0.8 / n
    for ax, ks in panels:
        for j, (label, g) in enumerate(shown):
            ws = weights[g]
            if not ws:
                continue
            W = np.stack(ws)[:, ks]
            pos = np.arange(len(ks)) + (j - (n - 1) / 2) * width
            ax.bar(pos, W.mean(axis=0), width=width * 0.9, color=col[g], alpha=0.55,
                   label=label if ax is panels[0][0] else None, gid="mean:%s" % g)
            for r in range(W.shape[0]):
                ax.scatter(pos, W[r], s=12, color=col[g], edgecolor="k", lw=0.4, zorder=3,
                           gid="repeat:%s:%d" % (g, r))
        if truth is not None:
            for p, k in enumerate(ks):
                ax.hlines(truth[k], p - 0.45, p + 0.45, color="k", lw=2, zorder=4,
                          gid="truth:%d" % k)
        ax.set_xticks(range(len(ks)))
        ax.set_xticklabels(["%s %d" % (what, k) + ("\n(truth %.3g)" % truth[k]
                                                   if truth is not None and len(ks) == 1
                                                   else "") for k in ks], fontsize=8)
        ax.set_ylim(bottom=0)
        ax.grid(True, axis="y", lw=0.3)
    panels[0][0].set_ylabel("share of samples (%s)" %
                            ("nearest mean" if what == "mode" else "k-NN class"))
    fig.legend(fontsize=7, loc="lower center", ncol=1)
    fig.suptitle("%s weights: each configuration's repeats (dots), their mean (bar), the "
                 "truth (black)" % what, fontsize=10)
    fig.tight_layout(rect=(0, legend_h / fig.get_figheight(), 1, 1))
    return fig
