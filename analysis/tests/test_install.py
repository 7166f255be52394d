"""test_install.py: the package installs offline with pip from the repository
(pyproject.toml, Debian's setuptools, wheel and pip, into a virtual environment that sees
Debian's numpy, h5py and matplotlib) and is then importable from any directory, with its
ncsn-analysis command; and, without installing, PYTHONPATH=REPO works from anywhere."""

import os
import shutil
import subprocess
import sys

import pytest

from .helpers import REPO


def test_pythonpath_from_elsewhere(tmp_path):
    r = subprocess.run([sys.executable, "-c", "import analysis, sys; print(analysis.__file__)"],
                       cwd=str(tmp_path), capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=REPO))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == os.path.join(REPO, "analysis", "__init__.py")


def test_pip_install_offline(tmp_path):
    for mod in ("venv", "pip", "setuptools", "wheel"):
        r = subprocess.run([sys.executable, "-c", "import " + mod], capture_output=True)
        if r.returncode != 0:
            pytest.skip("no %s for %s" % (mod, sys.executable))
    # a copy of what pip needs, so that the build leaves nothing in the repository
    src = tmp_path / "src"
    shutil.copytree(os.path.join(REPO, "analysis"), str(src / "analysis"),
                    ignore=shutil.ignore_patterns("__pycache__", "tests"))
    shutil.copy(os.path.join(REPO, "pyproject.toml"), str(src))
    os.makedirs(str(src / "docs"))
    shutil.copy(os.path.join(REPO, "docs", "analysis.md"), str(src / "docs"))
    venv = tmp_path / "venv"
    r = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot make a virtual environment: %s" % r.stderr.strip()[-200:])
    py = str(venv / "bin" / "python")
    r = subprocess.run([py, "-m", "pip", "install", "--no-build-isolation", "--no-index",
                        "--no-cache-dir", "-q", str(src)], capture_output=True, text=True,
                       cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    away = tmp_path / "elsewhere"
    away.mkdir()
    r = subprocess.run([py, "-c", "import analysis; print(analysis.__file__); "
                        "print(analysis.load, analysis.Results.configs)"],
                       cwd=str(away), capture_output=True, text=True,
                       env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith(str(venv))
    r = subprocess.run([str(venv / "bin" / "ncsn-analysis"), "report", "--help"],
                       cwd=str(away), capture_output=True, text=True)
    assert r.returncode == 0 and "--metric" in r.stdout, r.stderr
