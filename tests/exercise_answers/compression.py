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


# --- correct answers written differently from the reference solutions ---------------------------


def _quantise_half_up(z, step):
    # ties broken upwards (round half up), not NumPy's round half to even
    return np.floor(np.asarray(z) / step + 0.5) * step


def _quantise_loop_half_away(z, step):
    # a loop over the entries; Python's math rounds ties away from zero here
    import math

    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    for index, value in np.ndenumerate(z):
        r = value / step
        out[index] = math.copysign(math.floor(abs(r) + 0.5), r) * step
    return out


def _quantise_torch_float32(z, step):
    # torch in float32, returned as a tensor
    return torch.round(torch.as_tensor(z, dtype=torch.float32) / step) * step


def _bits_scipy(symbols):
    from scipy import stats

    _, counts = np.unique(symbols, return_counts=True)
    return len(symbols) * stats.entropy(counts, base=2)


def _bits_bincount(symbols):
    # bincount after shifting the (possibly negative) values to start at 0; counts in the formula
    counts = np.bincount(np.asarray(symbols) - np.min(symbols))
    counts = counts[counts > 0]
    n = counts.sum()
    return float(-(counts * np.log2(counts / n)).sum())


def _bits_loop(symbols):
    # a dictionary of counts and a Python loop, natural log converted to bits
    import math
    from collections import Counter

    n = len(symbols)
    return sum(-c * math.log(c / n) / math.log(2) for c in Counter(symbols.tolist()).values())


def _laplace_scipy(q, b):
    from scipy import stats

    q = np.asarray(q, dtype=float)
    p = stats.laplace.cdf(q + 0.5, scale=b) - stats.laplace.cdf(q - 0.5, scale=b)
    return float(-np.log2(p).sum())


def _laplace_closed_form_loop(q, b):
    # P(0) = 1 - exp(-1/(2b)); P(q) = sinh(1/(2b)) exp(-|q|/b) otherwise; a loop over the latents
    import math

    bits = 0.0
    for value in np.asarray(q).tolist():
        if value == 0:
            p = -math.expm1(-0.5 / b)
        else:
            p = math.sinh(0.5 / b) * math.exp(-abs(value) / b)
        bits -= math.log2(p)
    return bits


def _laplace_torch(q, b):
    # torch.distributions.Laplace, in float64, returned as a 0-d tensor
    zero, scale = torch.tensor(0.0, dtype=torch.float64), torch.tensor(float(b), dtype=torch.float64)
    dist = torch.distributions.Laplace(zero, scale)
    q = torch.as_tensor(np.asarray(q), dtype=torch.float64)
    return -torch.log2(dist.cdf(q + 0.5) - dist.cdf(q - 0.5)).sum()


def _train_own_loop(model, x):
    # a hand-written Adam loop over shuffled batches instead of ae.training.fit, lambda = 5e-5
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(4):
        for idx in torch.randperm(len(x), generator=gen).split(64):
            loss = ae.compression.rd_loss(model, x[idx], 5e-5)[0]
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def _train_then_freeze(model, x):
    # ae.training.fit at lambda = 7e-5 for 5 epochs, then every parameter frozen and eval mode
    ae.training.fit(model, x, loss_fn=lambda m, b: ae.compression.rd_loss(m, b, 7e-5)[0], epochs=5,
                    batch_size=64, lr=1e-2, seed=0, device=torch.device("cpu"), progress=False)
    model.requires_grad_(False)
    model.eval()
    return model


CORRECT_ANSWERS = {
    "comp-quantise": [
        ("round half up: floor(z / step + 1/2) * step", _quantise_half_up),
        ("a loop with ties rounded away from zero", _quantise_loop_half_away),
        ("torch in float32, returned as a tensor", _quantise_torch_float32),
    ],
    "comp-entropy": [
        ("scipy.stats.entropy of the counts, base 2", _bits_scipy),
        ("np.bincount of the shifted values, the sum of -count log2(count / n)", _bits_bincount),
        ("a Counter and a Python loop with natural logs converted to bits", _bits_loop),
    ],
    "comp-laplace-rate": [
        ("scipy.stats.laplace.cdf", _laplace_scipy),
        ("the closed form of P(q) (sinh and expm1) in a loop", _laplace_closed_form_loop),
        ("torch.distributions.Laplace, a 0-d tensor", _laplace_torch),
    ],
    "comp-target-rate": [
        ("a hand-written Adam loop at lambda = 5e-5", _train_own_loop),
        ("ae.training.fit at lambda = 7e-5 for 5 epochs, then frozen and in eval mode", _train_then_freeze),
    ],
}
