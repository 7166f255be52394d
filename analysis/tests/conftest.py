"""conftest.py: session fixtures: the ncsn binary (tests that need it skip without it), a
small run file, and a sweep directory with a hand-built sweep.h5 (helpers.make_sweep)."""

import pytest

from . import helpers


@pytest.fixture(scope="session")
def ncsn_bin():
    p = helpers.ncsn_bin()
    if p is None:
        pytest.skip("no ncsn binary (set NCSN_BIN or build build/ncsn)")
    return p


@pytest.fixture(scope="session")
def run_file(ncsn_bin, tmp_path_factory):
    return helpers.make_run(str(tmp_path_factory.mktemp("run") / "small.h5"))


@pytest.fixture(scope="session")
def sweep_dir(ncsn_bin, tmp_path_factory):
    d = str(tmp_path_factory.mktemp("sweep"))
    rows = helpers.make_sweep(d)
    return d, rows


@pytest.fixture(scope="session")
def mixed_sweep(sweep_dir, tmp_path_factory):
    """The test sweep with samples on the data (drawn from the truth), c0000-r0 off it."""
    d, rows = sweep_dir
    return helpers.make_mixed_sweep(d, str(tmp_path_factory.mktemp("mixed") / "sweep"), rows)
