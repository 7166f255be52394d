"""model.py: the score network and the data's true score, in numpy.

    score(weights, config, x, sigma)   s_theta(x, sigma): the network (docs/computation.md,
                                        Score network),
                                        computed in float64 from a run's /model weights
    Mixture                             the Gaussian mixture of a run's /config
                                        (dataset.weights, dataset.means, dataset.std): its
                                        density, log density and exact score of q_sigma, the
                                        mixture with covariances (std_k^2 + sigma^2) I
                                        (docs/computation.md, Data and exact scores)
    score_error(...)                    the relative score error at one sigma
                                        (docs/computation.md, Metrics)

Sizes: n points, D data dimension, E embedding width, H hidden width, K components.
"""

import numpy as np

# The tensors of the network under their PyTorch names (the run file's /model/<layer>/...).
TENSOR_NAMES = (
    "sigma_emb.0.weight",  # (E, 1)
    "sigma_emb.0.bias",    # (E,)
    "sigma_emb.2.weight",  # (E, E)
    "sigma_emb.2.bias",    # (E,)
    "backbone.0.weight",   # (H, D + E): columns 0..D-1 see x, D.. see the embedding
    "backbone.0.bias",     # (H,)
    "backbone.2.weight",   # (D, H)
    "backbone.2.bias",     # (D,)
)


def _option(config, key, default):
    """config[key] as a plain Python value, default when absent (config may be None)."""
    if config is None or key not in config:
        return default
    v = config[key]
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, np.generic):
        v = v.item()
    return v


def _weights(model_weights):
    """The eight tensors as float64 arrays; accepts 'backbone.0.weight' or 'backbone.0/weight'."""
    w = {str(k).replace("/", "."): np.asarray(v, dtype=np.float64) for k, v in model_weights.items()}
    missing = [n for n in TENSOR_NAMES if n not in w]
    if missing:
        raise KeyError("model weights lack " + ", ".join(missing))
    return w


def score(model_weights, config, x, sigma):
    """s_theta(x, sigma) (n, D) for points x (n, D) at noise level sigma (a scalar, or (n,)).

    docs/computation.md, Score network, with the run's options from config (a run's /config
    attributes):
        t = sigma, or log sigma when model.sigma_input is log_sigma
        e = W_e2 relu(W_e1 t + b_e1) + b_e2
        h = relu(W_1 [x ; e] + b_1)
        s = W_2 h + b_2, divided by sigma when model.scale_by_sigma is true
    Computed in float64 (ncsn computes in float32; the two agree to about 1e-6 relative).
    """
    w = _weights(model_weights)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    n, D = x.shape
    E = w["sigma_emb.0.bias"].shape[0]
    if w["backbone.0.weight"].shape[1] != D + E:
        raise ValueError("x has %d coordinates but the network expects %d"
                         % (D, w["backbone.0.weight"].shape[1] - E))
    sig = np.broadcast_to(np.asarray(sigma, dtype=np.float64).reshape(-1), (n,))
    if np.any(~(sig > 0)):
        raise ValueError("sigma must be positive")
    sigma_input = _option(config, "model.sigma_input", "sigma")
    if sigma_input not in ("sigma", "log_sigma"):
        raise ValueError("model.sigma_input must be sigma or log_sigma, got %r" % (sigma_input,))
    t = np.log(sig) if sigma_input == "log_sigma" else sig               # (n,)
    a0 = t[:, None] * w["sigma_emb.0.weight"][:, 0] + w["sigma_emb.0.bias"]  # (n, E)
    e = np.maximum(a0, 0) @ w["sigma_emb.2.weight"].T + w["sigma_emb.2.bias"]  # (n, E)
    h = np.maximum(np.concatenate([x, e], axis=1) @ w["backbone.0.weight"].T
                   + w["backbone.0.bias"], 0)                               # (n, H)
    s = h @ w["backbone.2.weight"].T + w["backbone.2.bias"]                 # (n, D)
    if bool(_option(config, "model.scale_by_sigma", False)):
        s = s / sig[:, None]
    return s


class Mixture:
    """A Gaussian mixture sum_k w_k N(mu_k, std_k^2 I), and its noised versions q_sigma."""

    def __init__(self, weights, means, std):
        self.weights = np.asarray(weights, dtype=np.float64).reshape(-1)        # (K,)
        self.means = np.atleast_2d(np.asarray(means, dtype=np.float64))        # (K, D)
        K = self.means.shape[0]
        self.std = np.broadcast_to(np.asarray(std, dtype=np.float64).reshape(-1), (K,)).copy()
        if self.weights.shape[0] != K:
            raise ValueError("mixture: %d weights for %d means" % (self.weights.shape[0], K))

    @property
    def K(self):
        return self.means.shape[0]

    @property
    def D(self):
        return self.means.shape[1]

    @classmethod
    def from_config(cls, config):
        """The mixture of a run's /config, or None when the data is not a known mixture."""
        if config is None:
            return None
        if _option(config, "dataset.name", "gmm") != "gmm":
            return None
        try:
            return cls(config["dataset.weights"], config["dataset.means"], config["dataset.std"])
        except KeyError:
            return None

    def marginal(self, dims):
        """The mixture of coordinates dims only (still a mixture with the same weights)."""
        return Mixture(self.weights, self.means[:, list(dims)], self.std)

    def _log_components(self, x, sigma):
        """log(w_k N(x; mu_k, v_k I)) (n, K) and v (K,), v_k = std_k^2 + sigma^2."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        v = self.std ** 2 + float(sigma) ** 2
        d2 = ((x[:, None, :] - self.means[None, :, :]) ** 2).sum(axis=2)     # (n, K)
        with np.errstate(divide="ignore"):
            logw = np.log(self.weights)
        return logw - 0.5 * self.D * np.log(2 * np.pi * v) - 0.5 * d2 / v, v

    def log_density(self, x, sigma=0.0):
        """log q_sigma(x) (n,)."""
        lc, _ = self._log_components(x, sigma)
        m = lc.max(axis=1, keepdims=True)
        return (m + np.log(np.exp(lc - m).sum(axis=1, keepdims=True)))[:, 0]

    def density(self, x, sigma=0.0):
        """q_sigma(x) (n,)."""
        return np.exp(self.log_density(x, sigma))

    def score(self, x, sigma=0.0):
        """grad_x log q_sigma(x) (n, D) = sum_k r_k(x) (mu_k - x) / v_k."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        lc, v = self._log_components(x, sigma)
        r = np.exp(lc - lc.max(axis=1, keepdims=True))
        r /= r.sum(axis=1, keepdims=True)                                     # (n, K)
        return ((r / v)[:, :, None] * (self.means[None] - x[:, None, :])).sum(axis=1)

    def sample(self, n, rng, sigma=0.0):
        """n points of q_sigma, from a numpy Generator."""
        k = rng.choice(self.K, size=n, p=self.weights / self.weights.sum())
        sd = np.sqrt(self.std[k] ** 2 + float(sigma) ** 2)
        return self.means[k] + sd[:, None] * rng.standard_normal((n, self.D))


def score_error(model_weights, config, mixture, sigma, n=20000, rng=None):
    """The score error (docs/computation.md, Metrics) at one sigma, estimated with n points
    x ~ q_sigma:
    E sigma^2 |s_theta(x, sigma) - grad log q_sigma(x)|^2 / E sigma^2 |grad log q_sigma(x)|^2."""
    rng = np.random.default_rng(0) if rng is None else rng
    x = mixture.sample(n, rng, sigma)
    g = mixture.score(x, sigma)
    s = score(model_weights, config, x, sigma)
    return float(((s - g) ** 2).sum() / (g ** 2).sum())
