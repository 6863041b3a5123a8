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


# --- ae-tied -----------------------------------------------------------------------------------


def _tied(untied=False, decoder_biases=True, detach=False, copy=False, relu=True):
    """A TiedAutoencoder class with one of the mistakes switched on."""

    class TiedAutoencoder(nn.Module):
        def __init__(self, d, k, hidden=(128,)):
            super().__init__()
            widths = [d, *hidden, k]
            pairs = list(zip(widths[:-1], widths[1:]))
            self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in pairs)
            if untied:
                self.back = nn.ModuleList(nn.Linear(b, a) for a, b in pairs)
            if decoder_biases and not untied:
                self.biases = nn.ParameterList(nn.Parameter(torch.zeros(a)) for a, _ in pairs)
            if copy:  # a snapshot of the weights, taken once
                self.copies = [layer.weight.detach().clone() for layer in self.layers]

        def encode(self, x):
            for i, layer in enumerate(self.layers):
                x = layer(x)
                if relu and i < len(self.layers) - 1:
                    x = torch.relu(x)
            return x

        def decode(self, z):
            for i in reversed(range(len(self.layers))):
                if untied:
                    z = self.back[i](z)
                else:
                    W = self.layers[i].weight
                    W = self.copies[i] if copy else W.detach() if detach else W
                    z = z @ W + (self.biases[i] if decoder_biases else 0)
                if i > 0:
                    z = torch.relu(z) if relu else z
            return torch.sigmoid(z)

        def forward(self, x):
            return self.decode(self.encode(x))

    return TiedAutoencoder


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
    "ae-tied": [
        ("the decoder has weight matrices of its own (untied)", _tied(untied=True)),
        ("the decoder's layers have no biases", _tied(decoder_biases=False)),
        ("the decoder uses the encoder's weights detached", _tied(detach=True)),
        ("the decoder uses a copy of the weights taken at construction", _tied(copy=True)),
        ("no ReLU: a tied affine autoencoder with a sigmoid", _tied(relu=False)),
    ],
}
