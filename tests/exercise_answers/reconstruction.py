"""Plausible wrong answers to the exercises of chapter 02_autoencoders."""

import numpy as np
import torch
from torch import nn

# --- ae-sgd-step -------------------------------------------------------------------------------


def _mse(encoder, decoder, x, reduction="mean"):
    return nn.functional.mse_loss(decoder(encoder(x)), x, reduction=reduction)


def _params(encoder, decoder):
    return [*encoder.parameters(), *decoder.parameters()]


def step_without_zero_grad(encoder, decoder, x, lr):
    loss = _mse(encoder, decoder, x)
    loss.backward()
    with torch.no_grad():
        for p in _params(encoder, decoder):
            p -= lr * p.grad
    return loss.item()


def step_uphill(encoder, decoder, x, lr):
    loss = _mse(encoder, decoder, x)
    loss.backward()
    with torch.no_grad():
        for p in _params(encoder, decoder):
            p += lr * p.grad
            p.grad = None
    return loss.item()


def step_on_the_summed_error(encoder, decoder, x, lr):
    loss = _mse(encoder, decoder, x, reduction="sum")
    loss.backward()
    with torch.no_grad():
        for p in _params(encoder, decoder):
            p -= lr * p.grad
            p.grad = None
    return loss.item() / x.numel()


def step_that_rebinds(encoder, decoder, x, lr):
    loss = _mse(encoder, decoder, x)
    loss.backward()
    with torch.no_grad():
        for p in _params(encoder, decoder):
            p = p - lr * p.grad  # noqa: PLW2901 - the mistake: a new tensor, the weight unchanged
    return loss.item()


def step_outside_no_grad(encoder, decoder, x, lr):
    loss = _mse(encoder, decoder, x)
    loss.backward()
    for p in _params(encoder, decoder):
        p -= lr * p.grad
    return loss.item()


def step_with_adam(encoder, decoder, x, lr):
    optimizer = torch.optim.Adam(_params(encoder, decoder), lr=lr)
    loss = _mse(encoder, decoder, x)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


# --- ae-beat-pca -------------------------------------------------------------------------------


def _train(encoder, decoder, X, epochs=60, lr=3e-3, zero_grad=True):
    optimizer = torch.optim.Adam(_params(encoder, decoder), lr=lr)
    for _ in range(epochs):
        order = torch.randperm(len(X))
        for start in range(0, len(X), 50):
            x = X[order[start:start + 50]]
            loss = _mse(encoder, decoder, x)
            if zero_grad:
                optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return encoder, decoder


def affine_autoencoder(X, k):
    return _train(nn.Sequential(nn.Linear(64, 128), nn.Linear(128, k)),
                  nn.Sequential(nn.Linear(k, 128), nn.Linear(128, 64)), X)


def only_a_final_sigmoid(X, k):
    return _train(nn.Sequential(nn.Linear(64, k)), nn.Sequential(nn.Linear(k, 64), nn.Sigmoid()), X)


def untrained(X, k):
    return (nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, k)),
            nn.Sequential(nn.Linear(k, 128), nn.ReLU(), nn.Linear(128, 64), nn.Sigmoid()))


def bottleneck_ignores_k(X, k):
    return _train(nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 8)),
                  nn.Sequential(nn.Linear(8, 128), nn.ReLU(), nn.Linear(128, 64), nn.Sigmoid()), X)


def forgot_zero_grad(X, k):
    return _train(nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, k)),
                  nn.Sequential(nn.Linear(k, 128), nn.ReLU(), nn.Linear(128, 64), nn.Sigmoid()),
                  X, zero_grad=False)


# --- ae-count ----------------------------------------------------------------------------------


def _weights(widths):
    return sum(a * b for a, b in zip(widths[:-1], widths[1:]))


def _with_biases(widths):
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))


def _both(d, k, hidden):
    return _with_biases([d, *hidden, k]) + _with_biases([k, *reversed(hidden), d])


WRONG_ANSWERS = {
    "ae-sgd-step": [
        ("never resets the gradients", step_without_zero_grad),
        ("adds the gradient (uphill)", step_uphill),
        ("steps on the summed instead of the mean squared error", step_on_the_summed_error),
        ("rebinds p instead of changing it in place", step_that_rebinds),
        ("changes the weights outside torch.no_grad()", step_outside_no_grad),
        ("uses a fresh Adam optimizer", step_with_adam),
    ],
    "ae-beat-pca": [
        ("no non-linearity (an affine autoencoder)", affine_autoencoder),
        ("a sigmoid on the output as the only non-linearity", only_a_final_sigmoid),
        ("untrained networks", untrained),
        ("a bottleneck of 8 whatever k is", bottleneck_ignores_k),
        ("forgot optimizer.zero_grad()", forgot_zero_grad),
    ],
    "ae-identity": [
        ("square identities that ignore k", lambda d, k: (np.eye(d), np.eye(d))),
        ("the same matrix twice, not transposed", lambda d, k: (np.eye(d, k), np.eye(d, k))),
        ("no ValueError for k < d", lambda d, k: (np.eye(d, k), np.eye(k, d))),
        ("random weights", lambda d, k: (np.random.default_rng(0).normal(size=(d, k)),
                                          np.random.default_rng(1).normal(size=(k, d)))),
    ],
    "ae-count": [
        ("forgot the biases", lambda d, k, hidden: (2 * _weights([d, *hidden, k]), d / k)),
        ("counted the encoder only", lambda d, k, hidden: (_with_biases([d, *hidden, k]), d / k)),
        ("the ratio upside down (k / d)", lambda d, k, hidden: (_both(d, k, hidden), k / d)),
        ("integer division for the ratio", lambda d, k, hidden: (_both(d, k, hidden), d // k)),
    ],
}
