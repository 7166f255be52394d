"""test_rungs.py: a halving sweep's rungs.tsv read back and laid out as the report's table
(analysis/rungs.py), without running a sweep: the file is written here."""

import math
import os

from analysis import rungs as RG

TSV = """# ncsn halving: score = the mean mode_weight_error over a configuration's 2 repeats, lower is better; keep 0.5 of each rung
rung\tsteps\tsample_n\tconfiguration\truns\tscored\tscore\trank\tpromoted
0\t30\t100\tc0001\t2\t2\t0.25\t1\tyes
0\t30\t100\tc0000\t2\t2\t0.5\t2\tno
0\t30\t100\tc0002\t2\t1\tinf\t3\tno
1\t60\t200\tc0001\t2\t2\t0.125\t1\t-
"""


class FakeResults:
    settings = {"mode": "halving", "rungs": "[30, 60]"}
    spec = {"c0000-r0": {"train.lr": "0.001"}, "c0001-r0": {"train.lr": "0.003"},
            "c0002-r0": {"train.lr": "0.01"}}


def test_read_and_table(tmp_path):
    d = str(tmp_path)
    assert RG.read(d) == [] and RG.header(d) == "" and RG.last_rung_dir(d) is None
    with open(os.path.join(d, "rungs.tsv"), "w") as fh:
        fh.write(TSV)
    for k in (0, 1):
        os.makedirs(os.path.join(d, "rung%d" % k))
        open(os.path.join(d, "rung%d" % k, "sweep.h5"), "w").close()
    assert RG.last_rung_dir(d) == os.path.join(d, "rung1")
    rows = RG.read(d)
    assert [(r["rung"], r["configuration"], r["rank"]) for r in rows] == \
        [(0, "c0001", 1), (0, "c0000", 2), (0, "c0002", 3), (1, "c0001", 1)]
    assert math.isinf(rows[2]["score"]) and rows[1]["score"] == 0.5
    assert RG.header(d).startswith("score = the mean mode_weight_error")

    res = FakeResults()
    assert RG.blocks(res) == []  # no rungs: not a halving sweep
    res.rungs, res.rungs_header = rows, RG.header(d)
    blocks = RG.blocks(res)
    assert blocks[0][0] == "p" and "rungs [30, 60]" in blocks[0][1]
    kind, cols, table = blocks[1]
    assert kind == "table"
    assert cols == ["configuration", "rung 0: 30 steps, 100 chains", "rung 1: 60 steps, 200 chains"]
    # the configuration that reached the last rung first, then by rank in its last rung
    assert [t["configuration"] for t in table] == \
        ["c0001 (train.lr=0.003)", "c0000", "c0002 (train.lr=0.01)"]
    assert table[0][cols[1]] == "0.25 #1 promoted" and table[0][cols[2]] == "0.125 #1"
    assert table[1][cols[1]] == "0.5 #2 dropped" and table[1][cols[2]] == "–"
    assert table[2][cols[1]] == "none (1 of 2 runs scored) #3 dropped"
