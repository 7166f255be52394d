"""figures.py: the report's figures, each a matplotlib Figure on the Agg canvas.

Figures are built with matplotlib's object API (never pyplot), so importing this module
changes no backend, and a notebook can display or restyle what these functions return.
Every plotted artist carries a gid (bars: their container's label; contour sets, which are
not artists in this matplotlib: fig.contour_sets[name]) naming what it shows, so tests can
check the data behind a figure rather than its pixels.

    samples_figure(runs)             samples over the true density's contours (the notebook's
                                     scatter), one panel per run
    loss_figure(runs)                /train/loss against /train/step
    score_field_figure(run)          the notebook's score plots at a few sigma: the learned
                                     score (quiver) and its norm (contourf), beside the true
                                     score of q_sigma and its norm
    score_error_figure(runs)         /metrics/score_error against /noise/sigmas, log x
    metric_vs_key_figure(res, key)   each metric against one swept key, runs and group means
    heatmap_figure(res, a, b, m)     mean of m over every run at each (a, b)
    metric_vs_step_figure(res, lines, metrics, best_metric)
                                     each metric against the training step, one line per
                                     training configuration (steps.lines): every repeat,
                                     their mean and range, the best step marked
    mode_weights_figure(runs)        estimated mode weights beside the true weights
    minor_weight_figure(res, groups, tol)  the minor mode's weight per configuration, every
                                     repeat and mean ± std, against the truth
    save(fig, path)
"""

import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .results import _py

PANEL = 4.0  # inches per panel


def new_figure(nrows=1, ncols=1, width=None, height=None, squeeze=False):
    fig = Figure(figsize=(width or PANEL * ncols + 0.5, height or PANEL * nrows))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=squeeze)
    return fig, axes


def _tag(fig, cs, name):
    """Contour sets are not artists here: list them in fig.contour_sets under name. Their
    paths stay out of tight_layout's bounding boxes (they lie inside the axes anyway, and
    measuring them is most of the layout's cost)."""
    if not hasattr(fig, "contour_sets"):
        fig.contour_sets = {}
    fig.contour_sets[name] = cs
    for c in getattr(cs, "collections", []):
        c.set_in_layout(False)


def save(fig, path, dpi=100):
    fig.savefig(path, dpi=dpi)


def _fmt(v):
    if isinstance(v, float):
        return "%.3g" % v
    return str(v)


def _spans_decades(v):
    v = np.asarray(v, dtype=np.float64)
    v = v[np.isfinite(v)]
    return v.size > 1 and (v > 0).all() and v.max() / v.min() > 20


def _grid_range(run, mix):
    """A square window around the data and the sampler's start box, padded like the
    notebook's [-10, 10] for its [-8, 8] box."""
    c = run.config
    lo, hi = float(c.get("sample.low", -8.0)), float(c.get("sample.high", 8.0))
    if mix is not None:
        lo = min(lo, float((mix.means[:, :2] - 3 * mix.std[:, None]).min()))
        hi = max(hi, float((mix.means[:, :2] + 3 * mix.std[:, None]).max()))
    pad = 0.125 * (hi - lo)
    return lo - pad, hi + pad


def grid(lo, hi, n):
    """X, Y (n, n) meshgrid over [lo, hi]^2 and its points (n*n, 2), row-major like the
    notebook's np.vstack([X.ravel(), Y.ravel()]).T."""
    g = np.linspace(lo, hi, n)
    X, Y = np.meshgrid(g, g)
    return X, Y, np.stack([X.ravel(), Y.ravel()], axis=1)


# ---------------------------------------------------------------------------- samples

def samples_figure(runs, metric=None, max_points=5000, ncols=4):
    """One panel per run (ncols a row): its samples (first two coordinates) over the true
    density."""
    nrows = (len(runs) + ncols - 1) // ncols
    fig, axes = new_figure(nrows, min(ncols, len(runs)))
    axes = axes.ravel()
    for ax in axes[len(runs):]:
        ax.set_visible(False)
    for ax, run in zip(axes, runs):
        title = run.id
        if metric is not None and metric in run.metrics and np.ndim(run.metrics[metric]) == 0:
            title += "\n%s = %s" % (metric, _fmt(float(run.metrics[metric])))
        draw_samples(fig, ax, run, title, max_points)
    fig.tight_layout()
    return fig


def draw_samples(fig, ax, run, title, max_points=5000):
    """One run's samples on ax: a histogram over the density for D = 1, else the first two
    coordinates over the density's contours, in the data's window (samples outside it are
    counted in the title)."""
    x = np.asarray(run.samples, dtype=np.float64)[:max_points]
    mix = run.mixture
    D = x.shape[1]
    ax.set_title(title, fontsize=9)
    if D == 1:
        ax.hist(x[np.isfinite(x[:, 0]), 0], bins=60, density=True, alpha=0.6, gid="samples")
        if mix is not None:
            lo, hi = _grid_range(run, mix)
            g = np.linspace(lo, hi, 400)[:, None]
            ax.plot(g[:, 0], mix.density(g), "k-", lw=1, gid="density")
        return
    lo, hi = _grid_range(run, mix)
    if mix is not None:
        X, Y, P = grid(lo, hi, 120)
        dens = mix.marginal([0, 1]).density(P).reshape(X.shape)
        # Geometric levels, so a light mode (weight 0.05) gets its rings too.
        top = float(dens.max())
        cs = ax.contour(X, Y, dens, levels=top * np.logspace(-4, -0.1, 8), cmap="plasma",
                        linewidths=0.8)
        _tag(fig, cs, "density:" + run.id)
    sc = ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.4, color="tab:blue", gid="samples")
    sc.set_rasterized(True)
    sc.set_in_layout(False)
    # The data's window (the notebook's view), not the far-flung chains of a bad run:
    # those are counted in the title instead.
    out = int((~((x[:, :2] >= lo) & (x[:, :2] <= hi)).all(axis=1)).sum())
    if out:
        ax.set_title(title + "\n%d of %d samples outside the view" % (out, len(x)),
                     fontsize=9)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("x[0]")
    ax.set_ylabel("x[1]")


# ---------------------------------------------------------------------------- training

def loss_figure(runs, title="training loss"):
    fig, axes = new_figure(1, 1, width=7, height=4)
    ax = axes[0, 0]
    all_pos = True
    for run in runs:
        step, loss = np.asarray(run.loss_step), np.asarray(run.loss, dtype=np.float64)
        if step.size == 0:
            continue
        ax.plot(step, loss, lw=1, label=run.id, gid="loss:" + run.id)
        all_pos = all_pos and bool((loss[np.isfinite(loss)] > 0).all())
    if ax.lines and all_pos:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("DSM loss (batch mean)")
    ax.set_title(title)
    if ax.lines:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------- score field

def pick_levels(sigmas, k=3):
    """Indices of k levels spread over sigmas (largest, middle, smallest for k = 3)."""
    L = len(sigmas)
    idx = sorted({int(round(j * (L - 1) / max(k - 1, 1))) for j in range(k)}) if L else []
    return idx


def score_field_figure(run, levels=None, n_quiver=21, n_grid=80):
    """Rows: a few noise levels. Columns: learned score (quiver), true score of q_sigma
    (quiver), learned |s| (contourf), true |grad log q_sigma| (contourf). The true columns
    are left out when the data's mixture is unknown. Only for 2-D data."""
    x = run.samples
    if x.shape[1] != 2:
        raise ValueError("the score field is drawn for 2-D data only (D = %d)" % x.shape[1])
    sigmas = np.asarray(run.sigmas, dtype=np.float64)
    levels = pick_levels(sigmas) if levels is None else list(levels)
    mix = run.mixture
    ncols = 4 if mix is not None else 2
    fig, axes = new_figure(len(levels), ncols)
    lo, hi = _grid_range(run, mix)
    Xq, Yq, Pq = grid(lo, hi, n_quiver)
    Xc, Yc, Pc = grid(lo, hi, n_grid)
    spacing = (hi - lo) / (n_quiver - 1)
    for row, li in enumerate(levels):
        sigma = float(sigmas[li])
        sq = run.score(Pq, sigma)
        sc = np.linalg.norm(run.score(Pc, sigma), axis=1).reshape(Xc.shape)
        fields = [("learned", sq, sc)]
        if mix is not None:
            fields.append(("true", mix.score(Pq, sigma),
                           np.linalg.norm(mix.score(Pc, sigma), axis=1).reshape(Xc.shape)))
        # One arrow scale and one colour scale per row, so learned and true compare; the
        # 90th percentile arrow spans 0.9 cells (the few far-off giants overlap).
        top = float(np.percentile(np.concatenate([np.linalg.norm(f[1], axis=1)
                                                  for f in fields]), 90))
        scale = top / (0.9 * spacing) if top > 0 else 1.0
        nmax = max(float(f[2].max()) for f in fields)
        clev = np.linspace(0, nmax if nmax > 0 else 1.0, 50)
        name = {"learned": "learned s(x, σ)", "true": "true ∇log q_σ(x)"}
        for j, (what, s, norm) in enumerate(fields):
            ax = axes[row, j]
            q = ax.quiver(Xq, Yq, s[:, 0].reshape(Xq.shape), s[:, 1].reshape(Xq.shape),
                          color="blue" if what == "learned" else "crimson", alpha=0.75,
                          angles="xy", scale_units="xy", scale=scale)
            q.set_gid("%s:%d" % (what, li))
            q.set_in_layout(False)
            ax.set_title("%s, σ = %.3g" % (name[what], sigma), fontsize=9)
            ax.set_aspect("equal")
            ax.grid(True, lw=0.3)
            ax = axes[row, len(fields) + j]
            cs = ax.contourf(Xc, Yc, norm, levels=clev, cmap="viridis")
            _tag(fig, cs, "%s_norm:%d" % (what, li))
            fig.colorbar(cs, ax=ax, shrink=0.8)
            ax.set_title("|%s|, σ = %.3g" % (name[what], sigma), fontsize=9)
            ax.set_aspect("equal")
    fig.suptitle("score field of %s" % run.id)
    fig.tight_layout()
    return fig


def score_error_figure(runs):
    fig, axes = new_figure(1, 1, width=7, height=4)
    ax = axes[0, 0]
    all_pos = True
    for run in runs:
        err = run.metrics.get("score_error")
        sig = np.asarray(run.sigmas, dtype=np.float64)
        if err is None or np.ndim(err) != 1 or len(err) != len(sig) or not np.isfinite(err).any():
            continue
        err = np.asarray(err, dtype=np.float64)
        ax.plot(sig, err, "o-", ms=3, lw=1, label=run.id, gid="score_error:" + run.id)
        all_pos = all_pos and bool((err[np.isfinite(err)] > 0).all())
    ax.set_xscale("log")
    if ax.lines and all_pos:
        ax.set_yscale("log")
    ax.set_xlabel("σ")
    ax.set_ylabel("E σ²|s_θ − ∇log q_σ|² / E σ²|∇log q_σ|²")
    ax.set_title("relative score error per noise level")
    if ax.lines:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------- sweeps

def key_values(results, key):
    """A swept key's column as people name its values: the table's column, except that a
    key some runs took from "auto" reads "auto" for those runs (one value, whatever it
    resolved to) and the others' numbers as text. Returns a numpy column."""
    col = results.table[key]
    if key not in results.auto_keys:
        return col
    auto = results.table[key + "_auto"]
    return np.array(["auto" if a else ("" if isinstance(v, float) and math.isnan(v)
                                       else _fmt(_py(v)))
                     for v, a in zip(col, auto)], dtype=object).astype(str)


def axis_values(column):
    """A table column as plot positions: (x (n,) float, categories or None, log?).
    Strings are categories (numbers among them in numeric order, then the rest)."""
    if column.dtype.kind in "US":
        vals = [str(v) for v in column]
        cats = sorted(set(v for v in vals if v != ""), key=_category_order)
        pos = {c: float(i) for i, c in enumerate(cats)}
        return np.array([pos.get(v, math.nan) for v in vals]), cats, False
    if column.dtype.kind == "b":
        return column.astype(np.float64), ["false", "true"], False
    x = column.astype(np.float64)
    return x, None, _spans_decades(x)


def _category_order(v):
    try:
        return (0, float(v), "")
    except ValueError:
        return (1, 0.0, v)


def _set_axis(ax, which, cats, log):
    if cats is not None:
        getattr(ax, "set_%sticks" % which)(range(len(cats)))
        getattr(ax, "set_%sticklabels" % which)(cats, rotation=30 if which == "x" else 0,
                                                fontsize=8)
    elif log:
        getattr(ax, "set_%sscale" % which)("log")


FENCE = 3.0  # robust limits: quartiles -/+ FENCE interquartile ranges


def robust_limits(y):
    """(lo, hi, log): axis limits that hold every value except outliers beyond FENCE
    interquartile ranges below the first or above the third quartile (in log10 when every
    value is positive and the kept ones span decades), padded 5%; (nan, nan, False) for no
    finite value. One run with swd 9e18 then no longer flattens the others."""
    y = np.asarray(y, dtype=np.float64)
    y = y[np.isfinite(y)]
    if y.size == 0:
        return math.nan, math.nan, False
    pos = bool((y > 0).all())
    z = np.log10(y) if pos else y
    q1, q3 = np.percentile(z, [25, 75])
    iqr = q3 - q1
    keep = z[(z >= q1 - FENCE * iqr) & (z <= q3 + FENCE * iqr)]
    log = pos and keep.size > 1 and keep.max() - keep.min() > math.log10(20)
    if not log:
        keep = y[np.isin(z, keep)] if pos else keep
    lo, hi = float(keep.min()), float(keep.max())
    pad = 0.05 * (hi - lo) if hi > lo else (0.05 * abs(hi) if hi != 0 else 1.0)
    lo, hi = lo - pad, hi + pad
    return (10 ** lo, 10 ** hi, True) if log else (lo, hi, False)


def metric_panels(n, extra_height):
    """A figure of n panels, four a row, 3.6 inches tall each plus extra_height; the axes
    as a flat array, those beyond n hidden."""
    ncols = min(4, n)
    nrows = (n + ncols - 1) // ncols
    fig, axes = new_figure(nrows, ncols, height=3.6 * nrows + extra_height)
    axes = axes.ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def metric_vs_key_figure(results, key, metrics):
    """One panel per metric: every run's value against the swept key (dots), and the median
    over the runs at each value (line; robust to the one run that blew up). The y axis
    spans robust_limits; runs beyond it are drawn as triangles on its edge and counted."""
    t = results.table
    x, cats, logx = axis_values(key_values(results, key))
    fig, axes = metric_panels(len(metrics), 0.4)
    for ax, m in zip(axes, metrics):
        y = t[m].astype(np.float64)
        ok = np.isfinite(x) & np.isfinite(y)
        ax.scatter(x[ok], y[ok], s=14, alpha=0.7, gid="runs")
        ux = np.unique(x[ok])
        if ux.size:
            ax.plot(ux, [np.median(y[ok][x[ok] == u]) for u in ux], "k-", lw=1, alpha=0.6,
                    gid="median")
        _set_axis(ax, "x", cats, logx)
        lo, hi, logy = robust_limits(y[ok])
        title = m
        if math.isfinite(lo):
            if logy:
                ax.set_yscale("log")
            ax.set_ylim(lo, hi)
            above, below = ok & (y > hi), ok & (y < lo)
            if above.any():
                ax.scatter(x[above], np.full(int(above.sum()), hi), marker="^", s=40,
                           color="red", clip_on=False, zorder=4, gid="above")
            if below.any():
                ax.scatter(x[below], np.full(int(below.sum()), lo), marker="v", s=40,
                           color="red", clip_on=False, zorder=4, gid="below")
            n_out = int(above.sum() + below.sum())
            if n_out:
                title += "\n%d run%s beyond the axis (red), up to %s" % (
                    n_out, "" if n_out == 1 else "s",
                    _fmt(float(y[above].max() if above.any() else y[below].min())))
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(key)
        ax.set_ylabel(m)
        ax.grid(True, lw=0.3)
    fig.suptitle("metrics against %s (%d runs with values)" %
                 (key, int((np.isfinite(x) & np.isfinite(t[metrics[0]].astype(float))).sum())))
    fig.tight_layout()
    return fig


def heatmap_data(results, key_a, key_b, metric):
    """(values of a, values of b, medians (len(b), len(a))): the median of metric over every
    run with a finite value at each (a, b), NaN where there is none. A key's values are as
    key_values names them ("auto" one value); the levels are those some run has."""
    y = results.table[metric].astype(np.float64)

    def levels(key):
        col = key_values(results, key)
        v = [str(u) for u in col] if col.dtype.kind in "US" else [_py(u) for u in col]
        present = {u for u in v if not (isinstance(u, float) and math.isnan(u)) and u != ""}
        key_fn = _category_order if col.dtype.kind in "US" else None
        return v, sorted(present, key=key_fn)

    va, la = levels(key_a)
    vb, lb = levels(key_b)
    M = np.full((len(lb), len(la)), math.nan)
    for j, b in enumerate(lb):
        for i, a in enumerate(la):
            sel = [k for k in range(len(y)) if va[k] == a and vb[k] == b and math.isfinite(y[k])]
            if sel:
                M[j, i] = float(np.median(y[sel]))
    return la, lb, M


def heatmap_blank_note(results, key_a, key_b, metric):
    """"; blank cells: no run there has a finite value yet (...)" when the heatmap has
    blank cells, else ""."""
    _, _, M = heatmap_data(results, key_a, key_b, metric)
    n = int(np.isnan(M).sum())
    if not n:
        return ""
    return "; %d blank cell%s: no run there has a finite %s (failed, diverged or not finished)" \
        % (n, "" if n == 1 else "s", metric)


def heatmap_figure(results, key_a, key_b, metric):
    la, lb, M = heatmap_data(results, key_a, key_b, metric)
    fig, axes = new_figure(1, 1, width=max(5, 0.9 * len(la) + 3), height=max(4, 0.6 * len(lb) + 2))
    ax = axes[0, 0]
    im = ax.imshow(np.ma.masked_invalid(M), origin="lower", cmap="viridis_r", aspect="auto")
    im.set_gid("heatmap")
    fig.colorbar(im, ax=ax, label="median " + metric)
    ax.set_xticks(range(len(la)))
    ax.set_xticklabels([_label(a) for a in la], rotation=30, fontsize=8)
    ax.set_yticks(range(len(lb)))
    ax.set_yticklabels([_label(b) for b in lb], fontsize=8)
    ax.set_xlabel(key_a)
    ax.set_ylabel(key_b)
    norm = im.norm
    for j in range(M.shape[0]):
        for i in range(M.shape[1]):
            if math.isfinite(M[j, i]):
                light = norm(M[j, i]) < 0.5  # viridis_r: small values are light
                ax.text(i, j, "%.3g" % M[j, i], ha="center", va="center", fontsize=7,
                        color="k" if light else "w")
    ax.set_title("median %s over repeats and other keys" % metric)
    fig.tight_layout()
    return fig


def _label(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return _fmt(v)


# ---------------------------------------------------------------------------- steps

def metric_vs_step_figure(results, lines, metrics, best_metric):
    """One panel per metric against the training step (steps.lines: one line per training
    configuration, each in its own colour): every repeat (thin line through its runs, the
    same seed at every step), the mean over repeats (thick, markers) and their range (band),
    and in best_metric's panel each configuration's best step (star). score_error is the
    mean over the noise levels of the per-level error (steps.values). Gids:
    "repeat:LABEL:R", "mean:LABEL", "spread:LABEL", "best:LABEL"."""
    from . import config_figures as CF
    from . import steps as S
    fig, axes = metric_panels(len(metrics), 0.5)
    colour = {}
    for j, ln in enumerate(lines):
        colour[ln["label"]] = CF.BASELINE_COLOUR if ln["baseline"] else \
            CF.COLOURS[(j - (1 if lines[0]["baseline"] else 0)) % len(CF.COLOURS)]
    for ax, m in zip(axes, metrics):
        means = []
        for ln in lines:
            c = colour[ln["label"]]
            x = np.array([p["step"] for p in ln["points"]])
            reps = max(len(p["idx"]) for p in ln["points"])
            Y = np.full((len(x), reps), np.nan)
            for a, p in enumerate(ln["points"]):
                v = S.values(results, p["idx"], m)
                Y[a, :len(v)] = v
            for rep in range(reps):
                ok = np.isfinite(Y[:, rep])
                ax.plot(x[ok], Y[ok, rep], "-", color=c, lw=0.7, alpha=0.35,
                        gid="repeat:%s:%d" % (ln["label"], rep))
            n = np.isfinite(Y).sum(1)
            mean = np.array([np.nanmean(Y[a]) if n[a] else np.nan for a in range(len(x))])
            ok = np.isfinite(mean)
            lo = np.array([np.nanmin(Y[a]) if n[a] else np.nan for a in range(len(x))])
            hi = np.array([np.nanmax(Y[a]) if n[a] else np.nan for a in range(len(x))])
            ax.fill_between(x[ok], lo[ok], hi[ok], color=c, alpha=0.15, lw=0,
                            gid="spread:" + ln["label"])
            ax.plot(x[ok], mean[ok], "o-", color=c, lw=2, ms=4, label=ln["label"],
                    gid="mean:" + ln["label"])
            means += list(mean[ok])
            b = ln["best"]
            if m == best_metric and b is not None:
                a = [p["group"] for p in ln["points"]].index(b["group"])
                ax.plot([x[a]], [mean[a]], "*", color=c, ms=14, mec="k", mew=0.6,
                        gid="best:" + ln["label"])
        if _spans_decades(means):
            ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_title(m + (" (mean over noise levels)" if m == "score_error" else "")
                     + (", best step: star" if m == best_metric else ""), fontsize=9)
        ax.grid(True, lw=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=8)
    fig.tight_layout(rect=(0, 0.4 / fig.get_figheight(), 1, 1))
    return fig


# ---------------------------------------------------------------------------- modes

def mode_weights_figure(runs):
    """Grouped bars per mixture component (or class, for data with labels): the true weight
    (the classes' shares among the training points), then each run's estimate."""
    truth = None
    for r in runs:
        if r.mixture is not None:
            truth = r.mixture.weights
            break
        if "train_shares" in r.metrics:
            truth = np.asarray(r.metrics["train_shares"], dtype=np.float64)
            break
    est = [(r.id, np.asarray(r.metrics["mode_weights"], dtype=np.float64))
           for r in runs if "mode_weights" in r.metrics]
    K = len(truth) if truth is not None else max(len(w) for _, w in est)
    bars = ([("truth", truth)] if truth is not None else []) + est
    fig, axes = new_figure(1, 1, width=max(6, 1.2 * K * len(bars) / 2 + 3), height=4)
    ax = axes[0, 0]
    width = 0.8 / len(bars)
    for j, (label, w) in enumerate(bars):
        pos = np.arange(len(w)) + (j - (len(bars) - 1) / 2) * width
        ax.bar(pos, w, width=width, label=label,
               color="black" if label == "truth" else None, alpha=0.85)
    ax.set_xticks(range(K))
    ax.set_xticklabels(["mode %d" % k for k in range(K)])
    ax.set_ylabel("weight (samples nearest each mean)")
    ax.set_title("mode weights against the truth")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def minor_weight_figure(results, groups, tol, max_groups=60):
    """The weight found for the minor mode (the lightest true component), one row per
    configuration in leaderboard order (best at the top): every repeat (dot; a red x for a
    flagged run: off the data or a poor fit, modes.py), their mean ± std (black), the true weight (line) and truth ± tol
    (band). Row labels name the group and its swept values, coloured by verdict (green:
    every repeat recovers, orange: some, grey: none). groups: leaderboard.group_rows."""
    from . import modes as M
    from .leaderboard import shown
    mc = M.columns(results)
    truth = mc["truth"]
    t = results.table
    keys = [k for k in results.swept_keys if k != "seed"]
    groups = [g for g in groups][:max_groups]
    fig, axes = new_figure(1, 1, width=12, height=1.6 + 0.3 * len(groups))
    ax = axes[0, 0]
    ax.axvspan(truth - tol, truth + tol, color="tab:green", alpha=0.15, lw=0,
               gid="tolerance")
    ax.axvline(truth, color="tab:green", lw=1.5, gid="truth",
               label="truth %.3g (± %g: recovered)" % (truth, tol))
    idx_of = {}
    for i, g in enumerate(t["group"]):
        idx_of.setdefault(str(g), []).append(i)
    labels, colours = [], []
    colour = {"yes": "tab:green", "partly": "tab:orange", "no": "0.35"}
    for row, g in enumerate(groups):
        y = -row
        idx = idx_of[g["group"]]
        w = mc["minor_weight"][idx]
        off = mc["flag"][idx] != ""
        fin = np.isfinite(w)
        ax.scatter(w[fin & ~off], np.full(int((fin & ~off).sum()), y), s=22, alpha=0.75,
                   color="tab:blue", zorder=3, gid="repeats:" + g["group"])
        if (fin & off).any():
            ax.scatter(w[fin & off], np.full(int((fin & off).sum()), y), s=30, marker="x",
                       color="red", zorder=3, gid="flagged:" + g["group"])
        if math.isfinite(g.get("minor_weight_mean", math.nan)):
            sd = g["minor_weight_std"] if math.isfinite(g["minor_weight_std"]) else 0.0
            ax.errorbar([g["minor_weight_mean"]], [y], xerr=[sd], fmt="|", color="k", ms=12,
                        capsize=3, lw=1, zorder=4, gid="mean:" + g["group"])
        vals = ", ".join("%s=%s" % (k.split(".")[-1], shown(g, k)) for k in keys)
        missing = g["runs"] - int(fin.sum())
        labels.append("%s  %s%s%s" % (g["group"], vals,
                                       "  (%d without a value)" % missing if missing else "",
                                       "  [baseline]" if g.get("baseline") else ""))
        colours.append(colour.get(g.get("verdict", "").split(" ")[0], "0.35"))
    ax.set_yticks([-r for r in range(len(groups))])
    ax.set_yticklabels(labels, fontsize=8)
    for lab, c in zip(ax.get_yticklabels(), colours):
        lab.set_color(c)
    ax.set_ylim(-len(groups) + 0.4, 0.6)
    ax.set_xlabel("weight of the minor mode (share of samples nearest mode %s)" % mc["minor"])
    ax.grid(True, axis="x", lw=0.3)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title("minor-mode weight over repeats, best configuration first")
    fig.tight_layout()
    return fig
