"""images.py: samples as images, for data whose HDF5 dataset has an image_shape attribute
(scripts/make-digits.sh writes (8, 8) on data/digits.h5:/x).

    find_images(results, shown)    {"x": (N, D) float64, the data file's rows, "shape":
                                   (h, w), "labels": (N,) or None, "path": the file} from
                                   the first shown configuration's run file (dataset.path,
                                   dataset.key, dataset.labels); {"missing": dataset.path}
                                   when the file is not found; None: not hdf5 data, no
                                   image_shape, or h * w != D. A
                                   relative dataset.path is looked for from the current
                                   directory, the sweep directory and its parents, and the
                                   repository holding this package
    nearest(samples, x)            (n,) index of each sample's nearest row of x (Euclidean;
                                   -1 for a sample that is not finite)
    samples_images_figure(results, shown, img, per_run=None)
                                   a row of training images (random rows, fixed seed), then
                                   per configuration: the first per_run samples (default:
                                   12 over the repeats, at least 4 each) of every repeat (top) above each one's nearest image of the data
                                   file (bottom, with the distance), and the classes' shares
                                   among its samples against the truth (with labels)
    caption(img, shown)
"""

import math
import os

import numpy as np
import h5py

from . import config_figures as CF
from . import figures as F

N_TRAIN = 12  # training images in the top row


def _candidates(results, p):
    if os.path.isabs(p):
        return [p]
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = [os.path.abspath(p)]
    d = os.path.abspath(results.path if os.path.isdir(results.path)
                        else os.path.dirname(results.path))
    for _ in range(4):
        out.append(os.path.join(d, p))
        d = os.path.dirname(d)
    out.append(os.path.join(here, p))
    return out


def find_images(results, shown):
    run = None
    for _, g in shown:
        for _, r, _ in CF.group_runs(results, g):
            if r is not None:
                run = r
                break
        if run is not None:
            break
    if run is None:
        return None
    c = run.config
    if str(c.get("dataset.name", "")) != "hdf5" or not c.get("dataset.path"):
        return None
    key = str(c.get("dataset.key", "")) or "/x"
    labels = str(c.get("dataset.labels", "")) or None
    found = False
    for p in _candidates(results, str(c["dataset.path"])):
        if not os.path.isfile(p):
            continue
        found = True
        try:
            with h5py.File(p, "r") as f:
                if key not in f or "image_shape" not in f[key].attrs:
                    return None
                shape = tuple(int(v) for v in np.ravel(f[key].attrs["image_shape"]))
                x = np.asarray(f[key][()], dtype=np.float64)
                y = np.asarray(f[labels][()]) if labels and labels in f else None
        except OSError:
            continue
        if len(shape) != 2 or x.ndim != 2 or shape[0] * shape[1] != x.shape[1] or \
                x.shape[1] != run.samples.shape[1]:
            return None
        return {"x": x, "shape": shape, "labels": y, "path": p}
    if not found:
        return {"missing": str(c["dataset.path"])}
    return None


def nearest(samples, x):
    s = np.asarray(samples, dtype=np.float64)
    out = np.full(len(s), -1, dtype=np.int64)
    ok = np.isfinite(s).all(axis=1)
    if ok.any():
        xx = (x ** 2).sum(axis=1)
        d2 = (s[ok] ** 2).sum(axis=1)[:, None] - 2 * s[ok] @ x.T + xx[None, :]
        out[ok] = np.argmin(d2, axis=1)
    return out


def _show(ax, v, shape, lo, hi, gid=None):
    ax.imshow(np.clip(np.asarray(v, dtype=np.float64).reshape(shape), lo, hi), cmap="gray_r",
              vmin=lo, vmax=hi, interpolation="nearest", gid=gid)
    ax.set_xticks([])
    ax.set_yticks([])


def samples_images_figure(results, shown, img, per_run=None):
    x, shape = img["x"], img["shape"]
    lo, hi = float(np.min(x)), float(np.max(x))
    blocks = []
    for label, g in shown:
        runs = [(rid, r) for rid, r, _ in CF.group_runs(results, g) if r is not None]
        blocks.append((label, g, runs))
    if per_run is None:  # about N_TRAIN samples per configuration, at least 4 per run
        per_run = max(4, N_TRAIN // max(1, max(len(b[2]) for b in blocks)))
    ncols = max([N_TRAIN] + [per_run * len(b[2]) for b in blocks])
    with_shares = img["labels"] is not None
    extra = 4 if with_shares else 0
    fig = F.Figure(figsize=(0.75 * (ncols + extra) + 0.5, 1.3 + 2.0 * len(blocks)))
    F.FigureCanvasAgg(fig)
    subs = fig.subfigures(1 + len(blocks), 1, squeeze=False,
                          height_ratios=[1] + [2.2] * len(blocks))[:, 0]
    rng = np.random.default_rng(0)
    pick = rng.choice(len(x), size=min(N_TRAIN, len(x)), replace=False)
    axes = subs[0].subplots(1, ncols + extra, squeeze=False)[0]
    subs[0].suptitle("training images (random rows of %s)" % os.path.basename(img["path"]),
                     fontsize=9)
    for j, ax in enumerate(axes):
        if j < len(pick):
            _show(ax, x[pick[j]], shape, lo, hi, gid="train:%d" % pick[j])
        else:
            ax.set_visible(False)
    truth = None
    if with_shares:  # the training rows' shares (the truth of mode_weight_error)
        for _, _, runs in blocks:
            for _, run in runs:
                if truth is None and "train_shares" in run.metrics:
                    truth = np.asarray(run.metrics["train_shares"], dtype=np.float64)
        if truth is None:
            K = int(np.max(img["labels"])) + 1
            truth = np.bincount(img["labels"].astype(np.int64), minlength=K) / len(img["labels"])
    for sub, (label, g, runs) in zip(subs[1:], blocks):
        sub.suptitle(label, fontsize=9, fontweight="bold")
        gs = sub.add_gridspec(2, ncols + extra)
        col = 0
        shares = []
        for rid, run in runs:
            s = np.asarray(run.samples, dtype=np.float64)[:per_run]
            near = nearest(s, x)
            for k in range(len(s)):
                ax = sub.add_subplot(gs[0, col])
                if np.isfinite(s[k]).all():
                    _show(ax, s[k], shape, lo, hi, gid="sample:%s:%d" % (rid, k))
                else:
                    ax.set_xticks([])
                    ax.set_yticks([])
                    ax.text(0.5, 0.5, "not\nfinite", ha="center", va="center", fontsize=6,
                            transform=ax.transAxes)
                if k == 0:
                    ax.set_title(rid, fontsize=7, loc="left")
                if col == 0:
                    ax.set_ylabel("sample", fontsize=7)
                ax2 = sub.add_subplot(gs[1, col])
                if col == 0:
                    ax2.set_ylabel("nearest", fontsize=7)
                if near[k] >= 0:
                    _show(ax2, x[near[k]], shape, lo, hi, gid="nearest:%s:%d" % (rid, k))
                    ax2.set_xlabel("d %.2f" % float(np.linalg.norm(s[k] - x[near[k]])),
                                   fontsize=6)
                else:
                    ax2.set_visible(False)
                col += 1
            w = run.metrics.get("mode_weights")
            if w is not None and np.ndim(w) == 1 and np.isfinite(w).all():
                shares.append(np.asarray(w, dtype=np.float64))
        if with_shares:
            ax = sub.add_subplot(gs[:, ncols + 1:])
            K = len(truth)
            if shares:
                W = np.stack(shares)
                for r in range(W.shape[0]):
                    ax.scatter(np.arange(K), W[r], s=8, color="tab:blue", zorder=3,
                               gid="shares:%s:%d" % (g, r))
            ax.bar(np.arange(K), truth, color="0.8", gid="truth:" + g)
            ax.set_xticks(range(K))
            ax.tick_params(labelsize=6)
            ax.set_title("class shares: repeats (dots),\ntruth (bars)", fontsize=7)
    return fig


def caption(img, shown):
    return ("Samples as %dx%d images, of %s: the top row holds random images of the data "
            "file (%s); then, per configuration, the first samples of every repeat (upper "
            "row, labelled with the run) above each one's nearest image among all the data "
            "file's rows, training and held-out alike, with the Euclidean distance (lower "
            "row: a sample identical to its neighbour would be memorised)%s."
            % (img["shape"][0], img["shape"][1], "; ".join(l for l, _ in shown),
               os.path.basename(img["path"]),
               "; on the right, each repeat's class shares among its samples (dots: the "
               "5-NN classifier's, /metrics/mode_weights) against the classes' shares "
               "among the training rows (bars, /metrics/train_shares)" if img["labels"] is not None else ""))
