"""modes.py: what the data's known mixture says about each run's samples, beyond the metrics
in sweep.h5: the weight found for the minor mode, how many samples are off the data, and
whether the run fits the data at all (mmd2) - the guards that keep a broken run from
winning on mode weights.

    TOL            0.02: a run recovers the weights when mode_weight_error <= TOL (the
                   largest |estimated - true| weight over the components; 0.02 is about 3
                   standard deviations of the minor mode's share of a 1000-point training set,
                   sqrt(0.05 * 0.95 / 1000) = 0.007, the best a model of that set can do)
    OFF_DATA_P     0.001: a true sample lies farther than the radius r_D from every
                   component's mean (in that component's std) with this probability,
                   r_D^2 the chi-square(D) quantile 1 - OFF_DATA_P (13.8 for D = 2: 3.7 std)
    OFF_DATA_MAX   0.1: a run whose share of such samples exceeds this is "off data". Nearest-
                   mean mode weights count every sample, however far from the data, so a run
                   whose chains wander off can still score a small mode_weight_error; the
                   leaderboard ranks such runs after the rest.
    FIT_FACTOR     10: a run whose mmd2 exceeds FIT_FACTOR times the best configuration's
                   mean mmd2 (the lowest mean over a group's repeats; at least MMD2_FLOOR)
                   "fits poorly": its weights may be right while its modes sit in the wrong
                   place or have the wrong shape (without EMA, the last iterate's modes
                   shift by 0.3 std). For scale: losing the 0.05 mode entirely costs about
                   0.004 in mmd2, a good fit 0.0005.
    MMD2_FLOOR     1e-4: mmd2 is unbiased, so a near-perfect fit can read 0 or below
    chi2_quantile(D, q)        by bisection on the regularised lower incomplete gamma
    off_data_share(x, mixture) share of samples farther than r_D from every mean
    minor_index(mixture)       the component with the smallest true weight (the first of ties)
    columns(results)           {"minor_weight": (n,), "off_data": (n,)} per table row (NaN
                               where a run has no file, no known mixture or non-finite
                               samples), "flag": (n,) "off data", "poor fit" or "",
                               "fit_limit": the mmd2 above which a run fits poorly (NaN
                               without mmd2), "minor": the minor component's index,
                               "truth": its true weight (NaN without a mixture), "mean":
                               its mean; computed from the run files once, kept on results.
                               Data with labels (run files with /metrics/train_shares): the
                               classes are the modes, the minor one the class with the
                               smallest training share, "mean" None and off_data NaN (no
                               density to say what is off the data)
"""

import math

import numpy as np

TOL = 0.02
OFF_DATA_P = 0.001
OFF_DATA_MAX = 0.1
FIT_FACTOR = 10.0
MMD2_FLOOR = 1e-4


def _gamma_p(a, x):
    """Regularised lower incomplete gamma P(a, x) (series; continued fraction above a + 1)."""
    if x <= 0:
        return 0.0
    lg = math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        n = a
        for _ in range(1000):
            n += 1
            term *= x / n
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return total * math.exp(-x + a * math.log(x) - lg)
    # Lentz's continued fraction for Q(a, x).
    b = x + 1 - a
    c = 1e300
    d = 1 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = 1e-300 if abs(d) < 1e-300 else d
        c = b + an / c
        c = 1e-300 if abs(c) < 1e-300 else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return 1.0 - math.exp(-x + a * math.log(x) - lg) * h


def chi2_quantile(D, q):
    """x with P(chi-square(D) <= x) = q."""
    lo, hi = 0.0, max(1.0, 10.0 * D)
    while _gamma_p(D / 2.0, hi / 2.0) < q:
        hi *= 2
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _gamma_p(D / 2.0, mid / 2.0) < q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def off_data_share(x, mixture, p=OFF_DATA_P):
    """Share of the rows of x farther than r_D standard deviations from every component mean
    (p of a true sample is); NaN for no rows or non-finite ones."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] != mixture.D or not np.isfinite(x).all():
        return math.nan
    r2 = chi2_quantile(mixture.D, 1.0 - p)
    d2 = np.full(x.shape[0], np.inf)
    for k in range(mixture.K):  # per component: no (n, K, D) array
        d2 = np.minimum(d2, (((x - mixture.means[k]) / mixture.std[k]) ** 2).sum(axis=1))
    return float((d2 > r2).mean())


def minor_index(mixture):
    return int(np.argmin(mixture.weights))


def fit_limit(results):
    """FIT_FACTOR times the lowest mean mmd2 over a group's runs (at least MMD2_FLOOR); NaN
    when no run has an mmd2."""
    t = results.table
    if "mmd2" not in t.dtype.names:
        return math.nan
    v = t["mmd2"].astype(np.float64)
    groups = [str(g) for g in t["group"]]
    means = [v[[i for i, h in enumerate(groups) if h == g and math.isfinite(v[i])]].mean()
             for g in sorted(set(groups[i] for i in range(len(v)) if math.isfinite(v[i])))]
    return FIT_FACTOR * max(min(means), MMD2_FLOOR) if means else math.nan


def columns(results):
    cached = getattr(results, "_mode_columns", None)
    if cached is not None:
        return cached
    n = len(results.table)
    minor_w = np.full(n, math.nan)
    off = np.full(n, math.nan)
    minor, truth, mean = None, math.nan, None
    for i, rid in enumerate(results.ids):
        if not results.has_file(rid):
            continue
        try:
            run = results.run(rid)
            mix = run.mixture
            w = run.metrics.get("mode_weights")
            shares = run.metrics.get("train_shares")
            if mix is None and shares is not None:  # data with labels: classes, no density
                shares = np.asarray(shares, dtype=np.float64)
                if minor is None:
                    minor = int(np.argmin(shares))
                    truth = float(shares[minor])
                if w is not None and np.ndim(w) == 1 and len(w) == len(shares) and \
                        np.isfinite(w).all():
                    minor_w[i] = float(w[minor])
                continue
            if mix is None:
                continue
            x = run.samples
        except (OSError, KeyError, ValueError):
            continue
        if minor is None:
            minor, truth, mean = minor_index(mix), float(mix.weights[minor_index(mix)]), \
                mix.means[minor_index(mix)].copy()
        off[i] = off_data_share(x, mix)
        if w is not None and np.ndim(w) == 1 and len(w) == mix.K and np.isfinite(w).all():
            minor_w[i] = float(w[minor_index(mix)])
    limit = fit_limit(results)
    mmd2 = results.table["mmd2"].astype(np.float64) if "mmd2" in results.table.dtype.names \
        else np.full(n, math.nan)
    flag = np.array(["off data" if off[i] > OFF_DATA_MAX else
                     "poor fit" if mmd2[i] > limit else "" for i in range(n)], dtype="U8")
    out = {"minor_weight": minor_w, "off_data": off, "flag": flag, "fit_limit": limit,
           "minor": minor, "truth": truth, "mean": mean}
    results._mode_columns = out
    return out
