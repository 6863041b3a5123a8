"""Neural networks the chapters share: autoencoders with a k-dimensional bottleneck (plain and
variational) and a small CNN classifier. Every autoencoder has ``encode`` and ``decode``, so
``f(x) = decode(encode(x))`` reads as on the slides (the slides print ``e(d(x))``; the
composition is ``d(e(x))``).

The definitions are plain ``torch.nn`` so that a student can read each one in a minute; inputs of
the wrong shape are refused with a ``ValueError`` that says what was expected.
"""

from __future__ import annotations

from numbers import Integral
from typing import Sequence

import torch
from torch import nn

IMAGE_SHAPE = (1, 28, 28)


def _positive_int(name: str, value: int) -> int:
    """``value`` as an int, or a ValueError naming the parameter when it is not a positive integer."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_images(x: torch.Tensor, who: str) -> None:
    """Refuse anything but a batch of 1x28x28 images, with a message that names the shape."""
    if x.ndim != 4 or tuple(x.shape[1:]) != IMAGE_SHAPE:
        raise ValueError(
            f"{who} expects images of shape (n, 1, 28, 28), got {tuple(x.shape)}; "
            "add the channel axis with x.unsqueeze(1) or reshape rows with x.reshape(-1, 1, 28, 28)"
        )


def _check_codes(z: torch.Tensor, k: int, who: str) -> None:
    """Refuse codes that are not a batch of k-vectors."""
    if z.ndim != 2 or z.shape[1] != k:
        raise ValueError(f"{who} expects codes of shape (n, {k}), got {tuple(z.shape)}")


def _flatten(x: torch.Tensor, d: int, who: str) -> torch.Tensor:
    """A batch of shape (n, ...) as rows of length d, or a ValueError that names the shape."""
    flat = x.reshape(len(x), -1)
    if flat.shape[1] != d:
        raise ValueError(f"{who} expects {d} values per example, got input of shape "
                         f"{tuple(x.shape)} ({flat.shape[1]} per example)")
    return flat


def _mlp(widths: Sequence[int]) -> list[nn.Module]:
    """Linear layers between consecutive ``widths``, each followed by a ReLU."""
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return layers


class MLPAutoencoder(nn.Module):
    """A fully connected autoencoder ``d -> hidden... -> k -> ...hidden -> d``.

    The code layer is linear (no activation), so codes can take any real value; the decoder
    mirrors the encoder and ends with a sigmoid, so outputs are pixel values in [0, 1].

    Parameters
    ----------
    d : int
        Input dimension (784 for 28x28 digits). Inputs of any shape with ``d`` values per example
        are flattened; ``forward`` returns the input's shape.
    k : int
        Bottleneck (code) dimension.
    hidden : sequence of int
        Widths of the encoder's hidden layers (the decoder uses them in reverse); ``()`` gives a
        one-layer encoder and decoder.
    """

    def __init__(self, d: int = 784, k: int = 16, hidden: Sequence[int] = (512, 128)) -> None:
        super().__init__()
        self.d, self.k = _positive_int("d", d), _positive_int("k", k)
        down = [self.d, *(_positive_int("each hidden width", h) for h in hidden)]
        up = [self.k, *reversed(down[1:])]
        self.encoder = nn.Sequential(*_mlp(down), nn.Linear(down[-1], self.k))
        self.decoder = nn.Sequential(*_mlp(up), nn.Linear(up[-1], self.d), nn.Sigmoid())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """e: R^d -> R^k, for a batch of shape (n, ...) with d values per example."""
        return self.encoder(_flatten(x, self.d, f"MLPAutoencoder(d={self.d})"))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """d: R^k -> R^d (flat outputs of length d)."""
        _check_codes(z, self.k, f"MLPAutoencoder(k={self.k}).decode")
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """f(x) = d(e(x)), in the shape of x."""
        return self.decode(self.encode(x)).reshape(x.shape)


class VAE(nn.Module):
    """A fully connected variational autoencoder ``d -> hidden... -> (mu, logvar) in R^k x R^k``.

    The layers are those of :class:`MLPAutoencoder`, with two changes: the encoder's last layer
    outputs ``2k`` numbers, the mean and log-variance of a Gaussian q(z | x) over codes, and the
    decoder returns Bernoulli logits per pixel (:meth:`decode` turns them into pixel values in
    [0, 1]).

    Parameters
    ----------
    d : int
        Input dimension (784 for 28x28 digits); inputs with ``d`` values per example are flattened.
    k : int
        Code dimension.
    hidden : sequence of int
        Widths of the encoder's hidden layers (the decoder uses them in reverse).
    """

    def __init__(self, d: int = 784, k: int = 16, hidden: Sequence[int] = (512, 256)) -> None:
        super().__init__()
        self.d, self.k = _positive_int("d", d), _positive_int("k", k)
        down = [self.d, *(_positive_int("each hidden width", h) for h in hidden)]
        up = [self.k, *reversed(down[1:])]
        self.encoder = nn.Sequential(*_mlp(down), nn.Linear(down[-1], 2 * self.k))
        self.decoder = nn.Sequential(*_mlp(up), nn.Linear(up[-1], self.d))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | x): the mean and log-variance, each of shape (n, k), of a diagonal Gaussian."""
        mu, logvar = self.encoder(_flatten(x, self.d, f"VAE(d={self.d})")).chunk(2, dim=1)
        return mu, logvar

    @staticmethod
    def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        """Draw z ~ N(mu, diag(exp(logvar))) as ``mu + exp(logvar / 2) * eps`` with eps ~ N(0, I).

        Written this way, z is a differentiable function of ``mu`` and ``logvar`` (the randomness
        sits in ``eps``), so gradients of the ELBO reach the encoder.
        """
        if eps is None:
            eps = torch.randn_like(mu)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's Bernoulli logits, shape (n, d)."""
        _check_codes(z, self.k, f"VAE(k={self.k}).decode")
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """d: R^k -> [0, 1]^d, the decoder's mean image for each code (flat, shape (n, d))."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct x from the mean code, ``d(mu(x))``, in the shape of x."""
        mu, _ = self.encode(x)
        return self.decode(mu).reshape(x.shape)


class ConvAutoencoder(nn.Module):
    """A convolutional autoencoder for 1x28x28 images with a k-dimensional bottleneck.

    Two stride-2 convolutions (28 -> 14 -> 7) and a linear layer to k; the decoder mirrors it with
    transposed convolutions and ends with a sigmoid.

    Parameters
    ----------
    k : int
        Bottleneck (code) dimension.
    channels : int
        Channels of the first convolution (the second has twice as many).
    """

    def __init__(self, k: int = 16, channels: int = 32) -> None:
        super().__init__()
        self.k = _positive_int("k", k)
        c = _positive_int("channels", channels)
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(2 * c * 7 * 7, k),
        )
        self.decoder = nn.Sequential(
            nn.Linear(k, 2 * c * 7 * 7), nn.ReLU(), nn.Unflatten(1, (2 * c, 7, 7)),
            nn.ConvTranspose2d(2 * c, c, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(c, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid(),
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """e: images (n, 1, 28, 28) -> codes (n, k)."""
        _check_images(x, "ConvAutoencoder.encode")
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """d: codes (n, k) -> images (n, 1, 28, 28)."""
        _check_codes(z, self.k, f"ConvAutoencoder(k={self.k}).decode")
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """f(x) = d(e(x))."""
        return self.decode(self.encode(x))


class SmallCNN(nn.Module):
    """A small CNN classifier for 1x28x28 digits whose intermediate features can be read out.

    ``blocks`` are two convolutional blocks (conv, ReLU, max-pool) and a penultimate fully
    connected layer; ``head`` maps the penultimate features to class scores. ``features(x)``
    returns the flattened output of every block, for linear probes and transfer learning.

    Parameters
    ----------
    n_classes : int
        Number of classes (outputs of ``head``).
    channels : (int, int)
        Channels of the two convolutional blocks.
    hidden : int
        Width of the penultimate layer.
    """

    def __init__(self, n_classes: int = 10, channels: Sequence[int] = (16, 32), hidden: int = 64) -> None:
        super().__init__()
        if len(channels) != 2:
            raise ValueError(f"channels must give the widths of the 2 convolutional blocks, got {tuple(channels)}")
        c1, c2 = (_positive_int("each channel count", c) for c in channels)
        n_classes, hidden = _positive_int("n_classes", n_classes), _positive_int("hidden", hidden)
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),   # 14x14
            nn.Sequential(nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),  # 7x7
            nn.Sequential(nn.Flatten(), nn.Linear(c2 * 7 * 7, hidden), nn.ReLU()),       # penultimate
        ])
        self.head = nn.Linear(hidden, n_classes)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The flattened activations after each block, from the first to the penultimate."""
        _check_images(x, "SmallCNN")
        out = []
        for block in self.blocks:
            x = block(x)
            out.append(x.flatten(1))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores (logits) of shape (n, n_classes)."""
        return self.head(self.features(x)[-1])
