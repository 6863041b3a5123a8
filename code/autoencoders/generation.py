"""Generative modelling with autoencoders: a variational autoencoder and sample-quality measures.

The VAE (Kingma and Welling 2014; Rezende et al. 2014) encodes an image to the mean and
log-variance of a Gaussian over codes and is trained on the negative evidence lower bound (ELBO),
whose two pieces are here: the expected negative log-likelihood of the image under the decoder
(:func:`bernoulli_nll`) and the KL divergence of the code distribution from the prior N(0, I)
(:func:`gaussian_kl`). The chapter assembles the ELBO from them, so the reparameterisation stays
visible there.

Generated images are judged without downloading anything, in the feature space of a small digit
classifier trained in the chapter: a Fréchet distance between real and generated features (the
recipe of FID, Heusel et al. 2017, with our own network), an Inception-score-like number
(Salimans et al. 2016), the entropy of the predicted-class histogram and the distance of each
sample to its nearest training image.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from scipy import linalg
from sklearn.neighbors import NearestNeighbors
from torch import nn
from torch.nn import functional as F

from autoencoders.runtime import to_numpy
from autoencoders.training import predict


class VAE(nn.Module):
    """A fully connected variational autoencoder ``d -> hidden... -> (mu, logvar) in R^k x R^k``.

    The decoder mirrors the encoder and returns Bernoulli logits per pixel; :meth:`decode` turns
    them into pixel values in [0, 1], like ``ae.models.MLPAutoencoder.decode``.

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
        if d < 1 or k < 1:
            raise ValueError(f"d and k must be positive integers, got d={d}, k={k}")
        self.d, self.k = d, k
        widths = [d, *hidden]
        enc: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            enc += [nn.Linear(a, b), nn.ReLU()]
        self.encoder = nn.Sequential(*enc, nn.Linear(widths[-1], 2 * k))
        back = [k, *reversed(hidden)]
        dec: list[nn.Module] = []
        for a, b in zip(back[:-1], back[1:]):
            dec += [nn.Linear(a, b), nn.ReLU()]
        self.decoder = nn.Sequential(*dec, nn.Linear(back[-1], d))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | x): the mean and log-variance, each of shape (n, k), of a diagonal Gaussian."""
        mu, logvar = self.encoder(x.reshape(len(x), -1)).chunk(2, dim=1)
        return mu, logvar

    @staticmethod
    def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        """Draw z ~ N(mu, diag(exp(logvar))) as ``mu + exp(logvar / 2) * eps`` with eps ~ N(0, I).

        Writing the draw this way keeps z a differentiable function of ``mu`` and ``logvar`` (the
        randomness sits in ``eps``), so gradients of the ELBO reach the encoder.
        """
        if eps is None:
            eps = torch.randn_like(mu)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's Bernoulli logits, shape (n, d)."""
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """d: R^k -> [0, 1]^d, the decoder's mean image for each code (flat, shape (n, d))."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct x from the mean code, ``d(mu(x))``, in the shape of x."""
        mu, _ = self.encode(x)
        return self.decode(mu).reshape(x.shape)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, diag(exp(logvar))) || N(0, I) ) in nats, one value per row (the ELBO's rate term).

    Closed form: ``0.5 * sum(mu**2 + exp(logvar) - 1 - logvar)`` over the k code dimensions.
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=-1)


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x | z) in nats under independent Bernoulli pixels, one value per image.

    Grey levels in [0, 1] are used as targets (the usual convention for MNIST VAEs), so this is
    the binary cross-entropy summed over the pixels of each image.
    """
    x = x.reshape(len(x), -1)
    if logits.shape != x.shape:
        raise ValueError(f"logits of shape {tuple(logits.shape)} do not match images with {x.shape[1]} pixels")
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)


# --- sample quality, measured with a classifier trained on real digits --------------------------

def _check_images(images: torch.Tensor) -> torch.Tensor:
    images = torch.as_tensor(images, dtype=torch.float32)
    if images.ndim == 2 and images.shape[1] == 784:
        images = images.reshape(-1, 1, 28, 28)
    if images.ndim != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"expected digits of shape (n, 1, 28, 28) or (n, 784), got {tuple(images.shape)}")
    return images


def classifier_outputs(classifier: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Penultimate features and softmax probabilities of a ``ae.models.SmallCNN`` for a batch of digits.

    Returns
    -------
    features : ndarray of shape (n, hidden)
        The penultimate layer, the space in which the Fréchet distance is measured.
    probs : ndarray of shape (n, n_classes)
        The predicted class probabilities.
    """
    def features_and_probs(model: nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = model.features(batch)[-1]
        return h, torch.softmax(model.head(h), dim=1)

    feats, probs = predict(classifier, _check_images(images), batch_size, fn=features_and_probs)
    return feats.double().numpy(), probs.double().numpy()


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two sets of features (FID's formula).

    ``|m_a - m_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2))``; zero when the means and covariances agree.
    """
    a, b = np.asarray(features_a, dtype=np.float64), np.asarray(features_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be (n, p) arrays with the same p, got {a.shape} and {b.shape}")
    if min(len(a), len(b)) < 2:
        raise ValueError("each feature set needs at least two rows to estimate a covariance")
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr (C_a C_b)^(1/2) = sum of the square roots of the eigenvalues of the symmetric PSD matrix
    # C_a^(1/2) C_b C_a^(1/2): eigen-decompositions stay accurate when a covariance is singular
    # (dead ReLU features), where a general matrix square root of C_a C_b warns and loses digits.
    values, vectors = linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    trace_covmean = np.sqrt(np.clip(linalg.eigvalsh(root_a @ cov_b @ root_a), 0.0, None)).sum()
    value = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_covmean
    return float(max(value, 0.0))


def _check_probs(probs: np.ndarray) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or not np.allclose(p.sum(axis=1), 1.0, atol=1e-6) or (p < 0).any():
        raise ValueError(f"probs must be an (n, classes) array whose rows are probability vectors, got shape {p.shape}")
    return p


def class_histogram_entropy(probs: np.ndarray) -> float:
    """Entropy in bits of the histogram of predicted classes (log2(10) = 3.32 when all ten digits are equally common)."""
    p = _check_probs(probs)
    counts = np.bincount(p.argmax(axis=1), minlength=p.shape[1])
    freq = counts[counts > 0] / counts.sum()
    return float(-(freq * np.log2(freq)).sum())


def inception_score(probs: np.ndarray) -> float:
    """``exp(E_x KL(p(y|x) || p(y)))``: high when each sample is confidently one class and all classes occur.

    Ranges from 1 to the number of classes.
    """
    p = _check_probs(probs)
    marginal = p.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * (np.log(p) - np.log(marginal)), 0.0).sum(axis=1)
    return float(np.exp(kl.mean()))


def nearest_neighbour_distance(samples: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Euclidean distance from each sample to its nearest training image (pixels in [0, 1]).

    A distance near zero means the sample is a copy of a training image.
    """
    s, t = to_numpy(samples, np.float64), to_numpy(train, np.float64)
    s, t = s.reshape(len(s), -1), t.reshape(len(t), -1)
    if s.shape[1] != t.shape[1]:
        raise ValueError(f"samples have {s.shape[1]} pixels, training images {t.shape[1]}")
    distances, _ = NearestNeighbors(n_neighbors=1).fit(t).kneighbors(s)
    return distances[:, 0]


def sample_quality(
    classifier: nn.Module, images: torch.Tensor, reference_features: np.ndarray, train: torch.Tensor
) -> dict[str, float]:
    """Every measure of this module for one set of digits, as a dict (one row of the chapter's table).

    ``reference_features`` are the classifier's penultimate features of real digits;
    ``train`` are the training images for the nearest-neighbour distance.
    """
    images = _check_images(images)
    features, probs = classifier_outputs(classifier, images)
    return {
        "frechet": frechet_distance(reference_features, features),
        "inception": inception_score(probs),
        "class_entropy": class_histogram_entropy(probs),
        "max_softmax": float(probs.max(axis=1).mean()),
        "nn_distance": float(nearest_neighbour_distance(images, train).mean()),
    }
