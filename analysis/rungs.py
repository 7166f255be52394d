"""rungs.py: a halving sweep's rungs (ncsn sweep with sweep.mode: halving; docs/cluster.md,
Successive halving). Its directory holds DIR/rungs.tsv, every rung decided so far, and
DIR/rung<k>/, each rung a sweep directory of its own; the report decides over the last rung
there is and shows every rung's scores and promotions.

    read(dir)              [dict] the rows of DIR/rungs.tsv: rung, steps, sample_n, runs,
                           scored, rank (int), configuration, promoted ("yes", "no", "-" in
                           the last rung) (str), score (float, inf when a repeat has none);
                           [] when there is no such file
    header(dir)            rungs.tsv's opening comment (what the score is), or ""
    last_rung_dir(dir)     DIR/rung<k> of the highest k that has a sweep.h5, or None
    blocks(results)        the report's blocks (decision.py's form): what the halving did,
                           and a table with a row per configuration and a column per rung
                           (score, rank among the rung, promoted or dropped); [] for any
                           other sweep
"""

import math
import os
import re


def read(d):
    path = os.path.join(d, "rungs.tsv")
    if not os.path.isfile(path):
        return []
    rows, cols = [], None
    with open(path) as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cells = line.split("\t")
            if cols is None:
                cols = cells
                continue
            r = dict(zip(cols, cells))
            for k in ("rung", "steps", "sample_n", "runs", "scored", "rank"):
                r[k] = int(r[k])
            r["score"] = float(r["score"])
            rows.append(r)
    return rows


def header(d):
    path = os.path.join(d, "rungs.tsv")
    if not os.path.isfile(path):
        return ""
    with open(path) as fh:
        first = fh.readline().strip()
    text = first[1:].strip() if first.startswith("#") else ""
    return text[len("ncsn halving:"):].strip() if text.startswith("ncsn halving:") else text


def last_rung_dir(d):
    found = []
    for name in os.listdir(d) if os.path.isdir(d) else []:
        m = re.fullmatch(r"rung(\d+)", name)
        if m and os.path.isfile(os.path.join(d, name, "sweep.h5")):
            found.append(int(m.group(1)))
    return os.path.join(d, "rung%d" % max(found)) if found else None


def _differences(spec, group, base="c0000"):
    """How a configuration's swept values differ from the first configuration's, from the
    sweep's expansion (every configuration is there, eliminated ones too)."""
    def values(g):
        for rid in (g, g + "-r0"):
            if rid in spec:
                return spec[rid]
        return {}
    a, b = values(group), values(base)
    return ", ".join("%s=%s" % (k, v) for k, v in a.items()
                     if k not in ("seed", "base_seed") and v != b.get(k))


def blocks(results):
    from . import leaderboard as LB  # leaderboard imports results, which imports this
    rows = getattr(results, "rungs", None)
    if not rows:
        return []
    n_rungs = max(r["rung"] for r in rows) + 1
    steps = {r["rung"]: r["steps"] for r in rows}
    sample_n = {}
    for r in rows:
        sample_n.setdefault(r["rung"], set()).add(r["sample_n"])
    by_cfg = {}
    for r in rows:
        by_cfg.setdefault(r["configuration"], {})[r["rung"]] = r
    first = [r for r in rows if r["rung"] == 0]
    what = getattr(results, "rungs_header", "")
    k_last = n_rungs - 1
    settings = results.settings
    planned = settings.get("rungs", "")
    out = [("p", "**Successive halving** (rungs %s): %d configurations; %s. Each rung trains "
            "the configurations still in for its steps, continuing the rung before, samples "
            "them and keeps the best; the decision above is over rung %d's %d configurations "
            "(%d steps), each run of which equals a separate `ncsn run` of its configuration." % (
                planned or "[%s]" % ", ".join(str(steps[k]) for k in sorted(steps)),
                len(first), what or "scored by a metric over their repeats", k_last,
                sum(1 for r in rows if r["rung"] == k_last), steps[k_last]))]
    cols = ["configuration"]
    for k in range(n_rungs):
        ns = sorted(sample_n[k])
        cols.append("rung %d: %d steps, %s chains" % (k, steps[k], "/".join(map(str, ns))))

    def reached(cfg):
        rs = by_cfg[cfg]
        top = max(rs)
        return (-top, rs[top]["rank"])
    table = []
    spec = getattr(results, "spec", {}) or {}
    for cfg in sorted(by_cfg, key=reached):
        diff = _differences(spec, cfg)
        d = {"configuration": "%s (%s)" % (cfg, diff) if diff else cfg}
        for k in range(n_rungs):
            r = by_cfg[cfg].get(k)
            if r is None:
                d[cols[k + 1]] = "–"
                continue
            score = LB.fmt(r["score"]) if math.isfinite(r["score"]) else \
                "none (%d of %d runs scored)" % (r["scored"], r["runs"])
            verdict = {"yes": "promoted", "no": "dropped"}.get(r["promoted"], "")
            d[cols[k + 1]] = ("%s #%d %s" % (score, r["rank"], verdict)).strip()
        table.append(d)
    out.append(("table", cols, table))
    return out
