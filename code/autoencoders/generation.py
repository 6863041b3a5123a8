"""Generative modelling with autoencoders: the two terms of the VAE's loss, images that are not
digits, and sample-quality measures.

The VAE itself is ``ae.models.VAE``. Its loss, the negative evidence lower bound (ELBO), is a
distortion, the expected negative log-likelihood of the image under the decoder
(:func:`bernoulli_nll`), plus a rate, the KL divergence of the code distribution from the prior
N(0, I) (:func:`gaussian_kl`). The chapter assembles the loss from them, so the
reparameterisation stays visible there.

:func:`handwritten_strokes` cuts 28x28 patches of handwriting (not digits) from a photograph that
ships with scikit-image, to ask which images an autoencoder trained on digits can output.

Generated images are judged without downloading anything, in the feature space of a small digit
classifier trained in the chapter: a Fréchet distance between real and generated features (the
recipe of FID, Heusel et al. 2017, with our own network), an Inception-score-like number
(Salimans et al. 2016), the entropy of the predicted-class histogram and the distance of each
sample to its nearest training image.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import linalg
from skimage import data, morphology, transform
from sklearn.neighbors import NearestNeighbors
from torch import nn
from torch.nn import functional as F

from autoencoders.runtime import to_numpy
from autoencoders.training import predict


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, diag(exp(logvar))) || N(0, I) ) in nats, one value per row (the ELBO's rate term).

    Closed form: ``0.5 * sum(mu**2 + exp(logvar) - 1 - logvar)`` over the k code dimensions.
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and "
                         f"{tuple(logvar.shape)}")
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=-1)


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x | z) in nats under independent Bernoulli pixels, one value per image.

    Grey levels in [0, 1] are used as targets (the usual convention for MNIST VAEs), so this is
    the binary cross-entropy summed over the pixels of each image.
    """
    x = x.reshape(len(x), -1)
    if logits.shape != x.shape:
        raise ValueError(f"logits of shape {tuple(logits.shape)} do not match images with "
                         f"{x.shape[1]} pixels")
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)


def handwritten_strokes(n: int, size: int = 40, seed: int = 0, min_ink: float = 0.1) -> torch.Tensor:
    """``n`` 28x28 patches of handwritten mathematics (not digits), bright ink on black.

    The patches come from scikit-image's ``data.text()``, a photograph of handwriting on paper:
    the paper's shading is removed (a morphological closing estimates it), the ink is stretched
    to [0, 1] like MNIST's strokes, and random ``size`` x ``size`` windows whose mean is at least
    ``min_ink`` (an MNIST digit's mean is 0.13) are resized to 28x28. Returns a tensor of shape
    (n, 1, 28, 28).
    """
    page = data.text().astype(np.float64) / 255
    ink = np.clip((morphology.closing(page, morphology.disk(7)) - page - 0.12) / 0.15, 0.0, 1.0)
    rng = np.random.default_rng(seed)
    patches: list[np.ndarray] = []
    while len(patches) < n:
        i = rng.integers(0, ink.shape[0] - size + 1)
        j = rng.integers(0, ink.shape[1] - size + 1)
        window = transform.resize(ink[i:i + size, j:j + size], (28, 28), anti_aliasing=True)
        if window.mean() >= min_ink:  # about as much ink as a digit, not blank paper
            patches.append(window)
    return torch.tensor(np.stack(patches), dtype=torch.float32)[:, None]


# --- sample quality, measured with a classifier trained on real digits --------------------------

def _as_digit_batch(images: torch.Tensor) -> torch.Tensor:
    """Digits as a float tensor of shape (n, 1, 28, 28), from that shape or rows of 784 pixels."""
    images = torch.as_tensor(images, dtype=torch.float32)
    if images.ndim == 2 and images.shape[1] == 784:
        images = images.reshape(-1, 1, 28, 28)
    if images.ndim != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"expected digits of shape (n, 1, 28, 28) or (n, 784), got {tuple(images.shape)}")
    return images


def _features_and_probs(classifier: nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    h = classifier.features(batch)[-1]
    return h, torch.softmax(classifier.head(h), dim=1)


def classifier_outputs(classifier: nn.Module, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Penultimate features and softmax probabilities of a ``ae.models.SmallCNN`` for a batch of digits.

    Returns
    -------
    features : ndarray of shape (n, hidden)
        The penultimate layer, the space in which the Fréchet distance is measured.
    probs : ndarray of shape (n, n_classes)
        The predicted class probabilities.
    """
    features, probs = predict(classifier, _as_digit_batch(images), fn=_features_and_probs)
    return to_numpy(features, np.float64), to_numpy(probs, np.float64)


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
        raise ValueError("probs must be an (n, classes) array whose rows are probability vectors, "
                         f"got shape {p.shape}")
    return p


def class_histogram_entropy(probs: np.ndarray) -> float:
    """Entropy in bits of the histogram of predicted classes (log2(10) = 3.32 when all ten digits
    are equally common)."""
    p = _check_probs(probs)
    counts = np.bincount(p.argmax(axis=1), minlength=p.shape[1])
    freq = counts[counts > 0] / counts.sum()
    return float(-(freq * np.log2(freq)).sum())


def inception_score(probs: np.ndarray) -> float:
    """``exp(E_x KL(p(y|x) || p(y)))``: high when each sample is confidently one class and all
    classes occur. Ranges from 1 to the number of classes.
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


#: The measures of :func:`sample_quality`, with the column titles the chapter's table uses.
QUALITY_MEASURES = {
    "frechet": "Fréchet distance",
    "inception": "IS-like",
    "class_entropy": "class entropy (bits)",
    "max_softmax": "confidence",
    "nn_distance": "distance to nearest training image",
}


def sample_quality(
    classifier: nn.Module, images: torch.Tensor, reference_features: np.ndarray, train: torch.Tensor
) -> dict[str, float]:
    """Every measure of this module for one set of digits, keyed as in :data:`QUALITY_MEASURES`.

    ``reference_features`` are the classifier's penultimate features of real digits;
    ``train`` are the training images for the nearest-neighbour distance.
    """
    images = _as_digit_batch(images)
    features, probs = classifier_outputs(classifier, images)
    return {
        "frechet": frechet_distance(reference_features, features),
        "inception": inception_score(probs),
        "class_entropy": class_histogram_entropy(probs),
        "max_softmax": float(probs.max(axis=1).mean()),
        "nn_distance": float(nearest_neighbour_distance(images, train).mean()),
    }
