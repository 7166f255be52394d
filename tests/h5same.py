"""h5same.py: the comparisons the shell tests make between run files and sweep directories
(tests/cli/interrupt.sh, tests/cli/sweep.sh, tests/cli/once.sh, tests/slurm/test.sh): bit for bit, the times
aside.

    same_run(a, b, label)   two run files (or their groups): the same datasets, equal
    same_sweep(dir_a, dir_b) two sweep directories: sweep.h5's /runs tables equal, and every
                            run, reached through the summary's /run/<id> links, the same;
                            returns the second summary's /runs table
    same_replay(a, b, label) a sweep's run file and the one `ncsn run` wrote from its own
                            config_yaml: same_run, and the same attributes but the creation
                            time, where the sweep said auto aside

Import with the tests directory on PYTHONPATH. Failures raise AssertionError naming what
differs."""
import h5py
import numpy as np

TIMES = ("train_seconds", "sample_seconds")


def arrays(group, prefix=""):
    """Every dataset under group, by its path below it."""
    out = {}
    for k, v in group.items():
        if isinstance(v, h5py.Group):
            out.update(arrays(v, prefix + k + "/"))
        else:
            out[prefix + k] = v[()]
    return out


def same_run(a, b, label=""):
    if isinstance(a, str):
        a, b = h5py.File(a, "r"), h5py.File(b, "r")
    xa, xb = arrays(a), arrays(b)
    assert xa.keys() == xb.keys(), label
    for k in xa:
        if k not in tuple("metrics/" + t for t in TIMES):
            assert np.array_equal(xa[k], xb[k], equal_nan=True), (label, k)


def same_sweep(dir_a, dir_b):
    a, b = h5py.File(f"{dir_a}/sweep.h5", "r"), h5py.File(f"{dir_b}/sweep.h5", "r")
    ta, tb = a["runs"][:], b["runs"][:]
    assert ta.dtype.names == tb.dtype.names, dir_b
    for name in ta.dtype.names:
        if name in TIMES:
            continue
        x, y = ta[name], tb[name]
        same = np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f" else list(x) == list(y)
        assert same, (dir_b, name)
    for i in (s.decode() for s in ta["id"]):
        same_run(a[f"run/{i}"], b[f"run/{i}"], (dir_b, i))
    return tb


def same_replay(a, b, label=""):
    """Where the sweep's configuration said auto, the replay's gives the number: its
    config_yaml lacks the "  # auto" marks, its provenance says explicit, and the files and
    lines values came from (origins) differ; nothing else may."""
    if isinstance(a, str):
        a, b = h5py.File(a, "r"), h5py.File(b, "r")
    same_run(a, b, label)
    for k in a.attrs:
        if k != "created":
            assert a.attrs[k] == b.attrs[k] or k == "config_yaml", (label, k)
    assert a.attrs["config_yaml"].replace("  # auto", "") == b.attrs["config_yaml"], label
    for k in a["config"].attrs:
        same = np.array_equal(a["config"].attrs[k], b["config"].attrs[k]) or k == "origins"
        assert same or (k.endswith("_source") and b["config"].attrs[k] == "explicit"), (label, k)
