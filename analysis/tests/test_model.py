"""test_model.py: the numpy network and mixture against ncsn's own C code.

The decisive check uses an exact identity of `ncsn sample` (no C change needed): with
sample.eps = 1e-30 every Langevin step moves a chain by about 1e-15, below float32's
resolution, so the chains stay exactly at their uniform start x0; with sample.denoise=true
the sampler then applies x0 + sigma_L^2 s(x0, sigma_L) through ncsn_model_score (the C
forward pass). Two `ncsn sample` calls that differ only in denoise share the start (its
random stream is keyed by the run's seed), so (B - A) / sigma_L^2 is the C network's score
at 1000 points of [-8, 8]^2. The numpy score must match it to float32 rounding, for both
sigma_input options, with and without scale_by_sigma, at several sigma_L, in 2-D and 3-D
and other widths, and flipping either option must break the match (so the test sees
them). The same identity with sample.score=exact checks the numpy mixture score against
the C exact score. A statistical check then recomputes /metrics/score_error at every level.
"""

import h5py
import numpy as np
import pytest

import analysis
from analysis.model import Mixture

from .helpers import make_run, ncsn, sets

PROBE = ["sample.method=plain", "sample.T=1", "sample.eps=1e-30", "sample.n=1000"]


def c_score(tmp_path, run_path, exact=False):
    """(x0, s_C(x0, sigma_L), sigma_L) from ncsn itself, by the denoise identity."""
    a, b = str(tmp_path / "a.h5"), str(tmp_path / "b.h5")
    extra = ["sample.score=exact"] if exact else []
    ncsn("sample", run_path, *sets(*(PROBE + extra)), "-o", a)
    ncsn("sample", run_path, *sets(*(PROBE + extra + ["sample.denoise=true"])), "-o", b)
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        x0, x1 = fa["samples"][()], fb["samples"][()]
        sig = float(fa["noise/sigmas"][-1])
    step = np.float32(sig * sig)
    return x0.astype(np.float64), (x1.astype(np.float64) - x0) / float(step), sig


MODELS = {
    "sigma": ["noise.sigma_L=0.5"],
    "log_sigma+scale": ["noise.sigma_L=0.3", "model.sigma_input=log_sigma",
                        "model.scale_by_sigma=true"],
    "scale": ["noise.sigma_L=2", "model.scale_by_sigma=true"],
    "3d+widths": ["noise.sigma_L=1.5", "model.sigma_input=log_sigma", "model.emb=8",
                  "model.hidden=32", "dataset.means=[[0,0,0],[3,3,3],[-3,0,3]]",
                  "dataset.weights=[0.5,0.3,0.2]"],
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_numpy_score_equals_c_forward(ncsn_bin, tmp_path, name):
    run_path = make_run(str(tmp_path / "m.h5"), *MODELS[name])
    x0, s_c, sig = c_score(tmp_path, run_path)
    run = analysis.load(run_path).run("m")
    assert np.isclose(sig, run.sigmas[-1])
    s_np = analysis.score(run.model, run.config, x0, sig)
    assert s_np.shape == x0.shape
    # float32 rounding: the C forward pass (~1e-6 relative) and recovering s from x0 + step s
    atol = 4 * np.spacing(np.float32(np.abs(x0).max() + np.abs(s_c).max() * sig * sig)) \
        / (sig * sig) + 1e-5
    err = np.abs(s_np - s_c)
    worst = np.unravel_index(np.argmax(err - 1e-4 * np.abs(s_c)), err.shape)
    assert (err <= atol + 1e-4 * np.abs(s_c)).all(), \
        "point %s: numpy %r, C %r" % (worst, s_np[worst], s_c[worst])
    assert np.abs(s_c).max() > 0.05  # a trained network, not a trivial output
    # The options matter: flipping either one breaks the match by far more than rounding.
    for key, other in (("model.sigma_input", {"sigma": "log_sigma", "log_sigma": "sigma"}),
                       ("model.scale_by_sigma", {True: False, False: True})):
        cfg = dict(run.config)
        cfg[key] = other[cfg[key]]
        wrong = analysis.score(run.model, cfg, x0, sig)
        assert np.abs(wrong - s_c).max() > 100 * (atol + 1e-4 * np.abs(s_c).max()), key


def test_numpy_mixture_score_equals_c_exact(ncsn_bin, tmp_path):
    run_path = make_run(str(tmp_path / "e.h5"), "sample.score=exact", "noise.sigma_L=0.7",
                        "dataset.weights=[0.6,0.3,0.1]", "dataset.means=[[-4,0],[4,1],[0,5]]",
                        "dataset.std=[0.5,1.5,1]")
    x0, s_c, sig = c_score(tmp_path, run_path, exact=True)
    mix = analysis.load(run_path).run("e").mixture
    np.testing.assert_allclose(mix.std, [0.5, 1.5, 1.0])
    s_np = mix.score(x0, sig)
    atol = 4 * np.spacing(np.float32(16.0)) / (sig * sig) + 1e-5
    np.testing.assert_allclose(s_np, s_c, rtol=1e-4, atol=atol)


def test_mixture_score_is_gradient_of_log_density():
    mix = Mixture([0.95, 0.05], [[-5, -5], [5, 5]], [1.0, 2.0])
    x = np.random.default_rng(1).uniform(-9, 9, (50, 2))
    for sigma in (0.0, 0.3, 4.0):
        h = 1e-5
        fd = np.stack([(mix.log_density(x + h * e, sigma) - mix.log_density(x - h * e, sigma))
                       / (2 * h) for e in np.eye(2)], axis=1)
        np.testing.assert_allclose(mix.score(x, sigma), fd, rtol=1e-5, atol=1e-6)
    # the density integrates to 1 (a 2-D grid sum)
    g = np.linspace(-15, 15, 301)
    X, Y = np.meshgrid(g, g)
    P = np.stack([X.ravel(), Y.ravel()], 1)
    assert abs(mix.density(P, 0.5).sum() * (g[1] - g[0]) ** 2 - 1) < 1e-3


def test_score_error_matches_run_metric(run_file):
    """Statistical: ncsn estimates score_error with 2000 points x ~ q_sigma, numpy with
    20000 of its own; both estimate the same ratio, so they agree to sampling error."""
    run = analysis.load(run_file).run("small")
    c = run.metrics["score_error"]
    mine = np.array([analysis.score_error(run.model, run.config, run.mixture, s, n=20000)
                     for s in run.sigmas])
    assert np.all(np.abs(np.log(mine / c)) < np.log(1.3)), np.round(mine / c, 3)


def test_score_rejects_bad_input(run_file):
    run = analysis.load(run_file).run("small")
    with pytest.raises(ValueError):
        analysis.score(run.model, run.config, np.zeros((3, 5)), 1.0)
    with pytest.raises(ValueError):
        analysis.score(run.model, run.config, np.zeros((3, 2)), 0.0)
    with pytest.raises(KeyError):
        analysis.score({"backbone.0.weight": run.model["backbone.0.weight"]}, run.config,
                       np.zeros((3, 2)), 1.0)
    # names with "/" (h5py paths) work too, and sigma may be given per point
    w = {k.replace(".weight", "/weight").replace(".bias", "/bias"): v
         for k, v in run.model.items()}
    x = np.random.default_rng(0).normal(size=(4, 2))
    s = analysis.score(w, run.config, x, np.array([0.1, 0.1, 2.0, 2.0]))
    np.testing.assert_allclose(s[:2], analysis.score(run.model, run.config, x[:2], 0.1))
    np.testing.assert_allclose(s[2:], analysis.score(run.model, run.config, x[2:], 2.0))
