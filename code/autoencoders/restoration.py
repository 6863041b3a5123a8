"""Restorers for the restoration chapter, all with one signature: images in, images out.

A restorer maps a batch of grey images ``(n, h, w)`` with values in [0, 1] to restored images of
the same shape. :func:`model_restorer` and :func:`pca_restorer` wrap an autoencoder and a PCA
projection this way; :func:`per_image` applies a one-image scikit-image function (a classical
denoiser or in-painter) to every image; and :func:`tune` picks a restorer's parameters by
grid search on validation images, so the test images are never used to choose them. The
in-painting loop that keeps the known pixels is short enough to be written in the chapter itself.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from sklearn.model_selection import ParameterGrid
from torch import nn

from autoencoders.metrics import psnr
from autoencoders.runtime import to_numpy
from autoencoders.training import predict

Restorer = Callable[[np.ndarray], np.ndarray]


def _grey_batch(images: Any, name: str = "images") -> np.ndarray:
    """A batch of grey images as a float64 array of shape (n, h, w), or a ValueError."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"{name} must be a batch of grey images of shape (n, h, w), got shape {x.shape}")
    return x


def model_restorer(model: nn.Module, batch_size: int = 1000) -> Restorer:
    """An autoencoder ``f`` as a restorer: x -> f(x), in eval mode, without gradients.

    The model receives images of shape (n, 1, h, w) on its own device.
    """

    def restore(images: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(_grey_batch(images)).float().unsqueeze(1)
        return to_numpy(predict(model, x, batch_size).squeeze(1), np.float64)

    return restore


def pca_restorer(pca: Any) -> Restorer:
    """A fitted PCA as a restorer: project each image onto the top-k components, clip to [0, 1].

    ``pca`` has scikit-learn's ``transform`` and ``inverse_transform`` (``ae.pca.PCA``).
    """

    def restore(images: np.ndarray) -> np.ndarray:
        x = _grey_batch(images)
        rows = x.reshape(len(x), -1)
        return np.clip(pca.inverse_transform(pca.transform(rows)), 0.0, 1.0).reshape(x.shape)

    return restore


def per_image(fn: Callable[..., np.ndarray], images: Any, *per_image_args: Any, **params: Any) -> np.ndarray:
    """Apply a one-image function to every image of a batch and clip the results to [0, 1].

    Parameters
    ----------
    fn : callable
        ``fn(image, *args_i, **params)`` for one image (h, w), e.g. a scikit-image denoiser.
    images : array of shape (n, h, w)
    *per_image_args : arrays with n entries
        Arguments that differ per image (for in-painting: the masks), passed after the image.
    **params
        Parameters shared by every image (e.g. ``weight=0.2``).
    """
    x = _grey_batch(images)
    extra = [np.asarray(a) for a in per_image_args]
    for a in extra:
        if len(a) != len(x):
            raise ValueError(f"per-image arguments need one entry per image: {len(a)} entries for {len(x)} images")
    out = [fn(x[i], *(a[i] for a in extra), **params) for i in range(len(x))]
    return np.clip(np.stack(out), 0.0, 1.0)


def tune(
    restore: Callable[..., np.ndarray], corrupted: Any, clean: Any, grid: Mapping[str, Sequence[Any]]
) -> tuple[dict[str, Any], float]:
    """Choose a restorer's parameters by grid search, for the best PSNR.

    Call it on validation images only: parameters chosen on the test images would flatter the
    method.

    Parameters
    ----------
    restore : callable
        ``restore(corrupted, **params)`` returns the restored batch, e.g.
        ``lambda x, **p: per_image(denoise_tv_chambolle, x, **p)``.
    corrupted, clean : arrays of shape (n, h, w)
        Validation images, corrupted and as they should be.
    grid : mapping
        Parameter name -> the values to try (every combination is tried).

    Returns
    -------
    params, score
        The best parameters and their PSNR in dB over all pixels of the given images.
    """
    clean = _grey_batch(clean, "clean")
    corrupted = _grey_batch(corrupted, "corrupted")
    if corrupted.shape != clean.shape:
        raise ValueError(f"corrupted and clean images differ in shape: {corrupted.shape} vs {clean.shape}")
    candidates = list(ParameterGrid(dict(grid)))
    scores = [psnr(clean, restore(corrupted, **params)) for params in candidates]
    best = int(np.argmax(scores))
    return candidates[best], float(scores[best])

