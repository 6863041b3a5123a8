"""Plausible wrong answers, and correct answers written differently from the reference, to the
exercises of chapter 02_autoencoders."""

import numpy as np
import torch
from torch import nn

# --- ae-sgd-step -------------------------------------------------------------------------------


def _mse(encoder, decoder, x, reduction="mean"):
    return nn.functional.mse_loss(decoder(encoder(x)), x, reduction=reduction)


def _params(encoder, decoder):
    return [*encoder.parameters(), *decoder.parameters()]


def _descend(encoder, decoder, x, lr):
    """One gradient step on the mean squared error that never clears the gradients; the loss before it."""
    loss = _mse(encoder, decoder, x)
    loss.backward()
    with torch.no_grad():
        for p in _params(encoder, decoder):
            p -= lr * p.grad
    return loss


def step_without_zero_grad(encoder, decoder, x, lr):
    return _descend(encoder, decoder, x, lr).item()


def step_returns_loss_after(encoder, decoder, x, lr):
    _descend(encoder, decoder, x, lr)
    for p in _params(encoder, decoder):
        p.grad = None
    with torch.no_grad():
        return _mse(encoder, decoder, x).item()


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


def too_few_epochs(X, k):
    return _train(nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, k)),
                  nn.Sequential(nn.Linear(k, 128), nn.ReLU(), nn.Linear(128, 64), nn.Sigmoid()),
                  X, epochs=2)


def _decoder_biases_as_encoder(d, k, hidden):
    widths = [d, *hidden, k]
    return 2 * _with_biases(widths), d / k  # the decoder's biases counted with the encoder's sizes


WRONG_ANSWERS = {
    "ae-sgd-step": [
        ("never resets the gradients", step_without_zero_grad),
        ("adds the gradient (uphill)", step_uphill),
        ("steps on the summed instead of the mean squared error", step_on_the_summed_error),
        ("rebinds p instead of changing it in place", step_that_rebinds),
        ("changes the weights outside torch.no_grad()", step_outside_no_grad),
        ("uses a fresh Adam optimizer", step_with_adam),
        ("returns the loss after the update", step_returns_loss_after),
    ],
    "ae-beat-pca": [
        ("no non-linearity (an affine autoencoder)", affine_autoencoder),
        ("a sigmoid on the output as the only non-linearity", only_a_final_sigmoid),
        ("untrained networks", untrained),
        ("a bottleneck of 8 whatever k is", bottleneck_ignores_k),
        ("forgot optimizer.zero_grad()", forgot_zero_grad),
        ("trained for 2 epochs only (with the ReLUs)", too_few_epochs),
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
        ("gave the decoder the encoder's bias sizes", _decoder_biases_as_encoder),
    ],
    "ae-tied": [
        ("the decoder has weight matrices of its own (untied)", _tied(untied=True)),
        ("the decoder's layers have no biases", _tied(decoder_biases=False)),
        ("the decoder uses the encoder's weights detached", _tied(detach=True)),
        ("the decoder uses a copy of the weights taken at construction", _tied(copy=True)),
        ("no ReLU: a tied affine autoencoder with a sigmoid", _tied(relu=False)),
    ],
}


# --- correct answers written differently from the reference ------------------------------------


def step_with_autograd_grad(encoder, decoder, x, lr):
    params = _params(encoder, decoder)
    loss = nn.functional.mse_loss(decoder(encoder(x)), x)
    grads = torch.autograd.grad(loss, params)  # p.grad is never touched
    with torch.no_grad():
        for p, g in zip(params, grads):
            p.sub_(lr * g)
    return float(loss.detach())


def step_zero_before(encoder, decoder, x, lr):
    params = _params(encoder, decoder)
    for p in params:  # clear the gradients first, as optimizer.zero_grad() would
        if p.grad is not None:
            p.grad.zero_()
    loss = ((x - decoder(encoder(x))) ** 2).sum() / x.numel()
    loss.backward()
    for p in params:
        p.data.add_(p.grad, alpha=-lr)
    return loss.detach().item()


def _tanh_autoencoder(X, k):
    torch.manual_seed(1)
    encoder = nn.Sequential(nn.Linear(64, 128), nn.Tanh(), nn.Linear(128, k))
    decoder = nn.Sequential(nn.Linear(k, 128), nn.Tanh(), nn.Linear(128, 64))
    optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=3e-3)
    for _ in range(60):  # no sigmoid at the end: outputs are not kept in [0, 1]
        for x in X[torch.randperm(len(X))].split(50):
            loss = nn.functional.mse_loss(decoder(encoder(x)), x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return encoder, decoder


class _Autoencoder(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(64, 256), nn.ELU(), nn.Linear(256, k))
        self.dec = nn.Sequential(nn.Linear(k, 256), nn.ELU(), nn.Linear(256, 64), nn.Sigmoid())

    def forward(self, x):
        return self.dec(self.enc(x))


def _module_with_bound_methods(X, k):
    model = _Autoencoder(k)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    for epoch in range(60):
        for start in range(0, len(X), 25):  # in order, no shuffling
            x = X[start:start + 25]
            loss = ((model(x) - x) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.enc, lambda z: model.dec(z)  # any callables will do


def _identity_by_loops(d, k):
    if d > k:
        raise ValueError("k must be at least d: a rank-k product cannot be the d x d identity")
    W1, W2 = np.zeros((d, k)), np.zeros((k, d))
    for i in range(d):
        W1[i, k - d + i] = 1.0  # the last d code values, not the first
        W2[k - d + i, i] = 1.0
    return W1, W2


def _identity_by_pseudo_inverse(d, k):
    if k < d:
        raise ValueError(f"no identity through a bottleneck of {k} < {d}")
    W1 = np.random.default_rng(0).normal(size=(d, k))  # full row rank
    return W1, np.linalg.pinv(W1)


def _count_by_layers(d, k, hidden):
    widths = [d, *hidden, k]
    total = 0
    for a, b in zip(widths[:-1], widths[1:]):
        total += a * b + b  # encoder Linear(a, b)
    for b, a in zip(widths[::-1][:-1], widths[::-1][1:]):
        total += b * a + a  # decoder Linear(b, a)
    return total, float(d) / float(k)


def _count_on_the_meta_device(d, k, hidden):
    import autoencoders as ae

    with torch.device("meta"):  # shapes only, no memory for the weights
        model = ae.models.MLPAutoencoder(d=d, k=k, hidden=tuple(hidden))
    return sum(p.numel() for p in model.parameters()), np.float64(d) / k


class _TiedWithFunctionalLinear(nn.Module):
    def __init__(self, d, k, hidden=(128,)):
        super().__init__()
        widths = [d, *hidden, k]
        self.encoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        for i, a in enumerate(widths[:-1]):
            self.register_parameter(f"back_bias_{i}", nn.Parameter(torch.zeros(a)))

    def encode(self, x):
        *hidden, last = self.encoder
        for layer in hidden:
            x = nn.functional.relu(layer(x))
        return last(x)

    def decode(self, z):
        for i in range(len(self.encoder) - 1, -1, -1):
            z = nn.functional.linear(z, self.encoder[i].weight.t(), getattr(self, f"back_bias_{i}"))
            z = nn.functional.relu(z) if i else torch.sigmoid(z)
        return z

    def forward(self, x):
        return self.decode(self.encode(x))


class _TiedWithMatmul(nn.Module):
    def __init__(self, d, k, hidden=(128,)):
        super().__init__()
        widths = [d, *hidden, k]
        self.down = nn.ModuleList()
        self.up_bias = nn.ParameterList()
        for a, b in zip(widths[:-1], widths[1:]):
            self.down.append(nn.Linear(a, b))
            self.up_bias.append(nn.Parameter(torch.zeros(a)))

    def encode(self, x):
        for i, layer in enumerate(self.down):
            x = layer(x)
            x = torch.relu(x) if i + 1 < len(self.down) else x
        return x

    def decode(self, z):
        layers = list(zip(self.down, self.up_bias))
        for j, (layer, bias) in enumerate(reversed(layers)):
            z = torch.matmul(z, layer.weight) + bias
            z = torch.sigmoid(z) if j == len(layers) - 1 else torch.relu(z)
        return z

    def forward(self, x):
        return self.decode(self.encode(x))


CORRECT_ANSWERS = {
    "ae-sgd-step": [
        ("torch.autograd.grad, p.grad never used", step_with_autograd_grad),
        ("gradients cleared before backward, update through p.data", step_zero_before),
    ],
    "ae-beat-pca": [
        ("tanh instead of ReLU, no final sigmoid, F.mse_loss", _tanh_autoencoder),
        ("one nn.Module with ELUs and AdamW, unshuffled batches; a lambda as decoder", _module_with_bound_methods),
    ],
    "ae-identity": [
        ("loops, the last d code values used", _identity_by_loops),
        ("a random full-rank W1 and its pseudo-inverse", _identity_by_pseudo_inverse),
    ],
    "ae-count": [
        ("counted layer by layer, decoder walked backwards", _count_by_layers),
        ("built on PyTorch's meta device and counted", _count_on_the_meta_device),
    ],
    "ae-tied": [
        ("F.linear with the transposed weight, biases registered by name", _TiedWithFunctionalLinear),
        ("torch.matmul, encoder layers and decoder biases in pairs", _TiedWithMatmul),
    ],
}
