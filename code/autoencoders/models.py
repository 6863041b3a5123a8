"""Neural networks the chapters share: autoencoders with a k-dimensional bottleneck and a small
CNN classifier. Every autoencoder has ``encode`` and ``decode``, so ``f(x) = decode(encode(x))``
reads as on the slides (the slides print ``e(d(x))``; the composition is ``d(e(x))``)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class MLPAutoencoder(nn.Module):
    """A fully connected autoencoder ``d -> hidden... -> k -> ...hidden -> d``.

    The decoder mirrors the encoder and ends with a sigmoid, so outputs are pixel values in [0, 1].

    Parameters
    ----------
    d : int
        Input dimension (784 for 28x28 digits). Inputs of any shape with ``d`` values per example
        are flattened; ``forward`` returns the input's shape.
    k : int
        Bottleneck (code) dimension.
    hidden : sequence of int
        Widths of the encoder's hidden layers (the decoder uses them in reverse).
    """

    def __init__(self, d: int = 784, k: int = 16, hidden: Sequence[int] = (512, 128)) -> None:
        super().__init__()
        self.d, self.k = d, k
        widths = [d, *hidden]
        enc: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            enc += [nn.Linear(a, b), nn.ReLU()]
        self.encoder = nn.Sequential(*enc, nn.Linear(widths[-1], k))
        dec: list[nn.Module] = []
        back = [k, *reversed(hidden)]
        for a, b in zip(back[:-1], back[1:]):
            dec += [nn.Linear(a, b), nn.ReLU()]
        self.decoder = nn.Sequential(*dec, nn.Linear(back[-1], d), nn.Sigmoid())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """e: R^d -> R^k."""
        return self.encoder(x.reshape(len(x), -1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """d: R^k -> R^d (flat outputs of length d)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """f(x) = d(e(x)), in the shape of x."""
        return self.decode(self.encode(x)).reshape(x.shape)


class ConvAutoencoder(nn.Module):
    """A convolutional autoencoder for 1x28x28 images with a k-dimensional bottleneck.

    Two stride-2 convolutions (28 -> 14 -> 7) and a linear layer to k; the decoder mirrors it with
    transposed convolutions and ends with a sigmoid.
    """

    def __init__(self, k: int = 16, channels: int = 32) -> None:
        super().__init__()
        c = channels
        self.k = k
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
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """d: codes (n, k) -> images (n, 1, 28, 28)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """f(x) = d(e(x))."""
        return self.decode(self.encode(x))


class SmallCNN(nn.Module):
    """A small CNN classifier for 1x28x28 digits whose intermediate features can be read out.

    ``blocks`` are two convolutional blocks (conv, ReLU, max-pool) and a penultimate fully
    connected layer; ``head`` maps the penultimate features to class scores. ``features(x)``
    returns the flattened output of every block, for linear probes and transfer learning.
    """

    def __init__(self, n_classes: int = 10, channels: Sequence[int] = (16, 32), hidden: int = 64) -> None:
        super().__init__()
        c1, c2 = channels
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),   # 14x14
            nn.Sequential(nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),  # 7x7
            nn.Sequential(nn.Flatten(), nn.Linear(c2 * 7 * 7, hidden), nn.ReLU()),       # penultimate
        ])
        self.head = nn.Linear(hidden, n_classes)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The flattened activations after each block, from the first to the penultimate."""
        out = []
        for block in self.blocks:
            x = block(x)
            out.append(x.flatten(1))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores (logits) of shape (n, n_classes)."""
        for block in self.blocks:
            x = block(x)
        return self.head(x)
