"""Plausible wrong answers to the exercises of chapters/03_compression.ipynb; each check must reject them."""

import numpy as np
import torch

import autoencoders as ae


def _quantise_floor(z, step):
    return np.floor(z / step) * step


def _quantise_no_rescale(z, step):
    return np.round(z / step)


def _bits_natural_log(symbols):
    _, counts = np.unique(symbols, return_counts=True)
    p = counts / len(symbols)
    return len(symbols) * -(p * np.log(p)).sum()


def _bits_per_symbol(symbols):
    _, counts = np.unique(symbols, return_counts=True)
    p = counts / len(symbols)
    return -(p * np.log2(p)).sum()


def _bits_uniform(symbols):
    return len(symbols) * np.log2(len(np.unique(symbols)))


def _laplace_cdf(t, b):
    t = np.asarray(t, dtype=float)
    return np.where(t < 0, 0.5 * np.exp(np.minimum(t, 0) / b), 1 - 0.5 * np.exp(-np.maximum(t, 0) / b))


def _laplace_density_at_q(q, b):
    # the density at the integer instead of the probability of the unit interval around it
    return float(-np.log2(np.exp(-np.abs(q) / b) / (2 * b)).sum())


def _laplace_natural_log(q, b):
    return float(-np.log(_laplace_cdf(q + 0.5, b) - _laplace_cdf(q - 0.5, b)).sum())


def _laplace_one_sided(q, b):
    return float(-np.log2(_laplace_cdf(q + 1, b) - _laplace_cdf(q, b)).sum())


def _laplace_mean(q, b):
    return float(-np.log2(_laplace_cdf(q + 0.5, b) - _laplace_cdf(q - 0.5, b)).mean())


def _train_with(lam, epochs=4, train=True):
    """A training function for the target-rate exercise at distortion weight ``lam``."""
    def train_codec(model, x):
        if not train:
            return model
        ae.training.fit(model, x, loss_fn=lambda m, b: ae.compression.rd_loss(m, b, lam)[0], epochs=epochs,
                        batch_size=64, lr=1e-2, seed=0, device=torch.device("cpu"), progress=False)
        return model
    return train_codec


def _train_mse_only(model, x):
    def mse(m, b):
        x_hat, _ = m(b)
        return torch.nn.functional.mse_loss(x_hat, b)
    ae.training.fit(model, x, loss_fn=mse, epochs=4, batch_size=64, lr=1e-2, seed=0,
                    device=torch.device("cpu"), progress=False)
    return model


WRONG_ANSWERS = {
    "comp-quantise": [
        ("floor instead of round", _quantise_floor),
        ("forgot to multiply back by the step", _quantise_no_rescale),
    ],
    "comp-entropy": [
        ("natural log (nats, not bits)", _bits_natural_log),
        ("entropy per symbol instead of the total", _bits_per_symbol),
        ("log2 of the alphabet size (a uniform code)", _bits_uniform),
    ],
    "comp-laplace-rate": [
        ("the density at q instead of the probability of [q - 1/2, q + 1/2]", _laplace_density_at_q),
        ("natural log (nats, not bits)", _laplace_natural_log),
        ("the interval [q, q + 1] instead of the one centred on q", _laplace_one_sided),
        ("the mean instead of the total", _laplace_mean),
    ],
    "comp-target-rate": [
        ("did not train at all", _train_with(0.0, train=False)),
        ("lambda far too large (distortion dominates: too many bits)", _train_with(1e-3)),
        ("lambda far too small (rate dominates: too few bits)", _train_with(3e-6)),
        ("trained on the distortion only, no rate term", _train_mse_only),
    ],
}
