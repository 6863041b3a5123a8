"""Corruptions that a restorer has to undo: noise, salt and pepper, missing pixels, a missing block.

Every function takes images with values in [0, 1] whose last two axes are height and width (a
numpy array such as (n, 28, 28), or a torch tensor such as (n, 1, 28, 28)) and returns the same
type, shape and dtype, with values kept in [0, 1]. Randomness comes from ``rng``: a seed gives the
same corruption on every run; a ``numpy.random.Generator`` passed again and again draws fresh
corruption each call (as when corrupting every training batch anew), reproducibly. Where it
applies, a boolean mask says which pixels were corrupted or are missing; it is what a restorer
that "knows the mask" (in-painting) is given.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

from autoencoders.runtime import to_numpy

Images = TypeVar("Images", np.ndarray, torch.Tensor)
Seed = int | np.random.Generator


def _checked_images(images: Images) -> np.ndarray:
    """The images as a float64 numpy array, after checking their shape and range."""
    x = to_numpy(images)
    if x.ndim < 2:
        raise ValueError(f"images need at least two axes (height, width), got shape {x.shape}")
    if x.size and (np.nanmin(x) < 0.0 or np.nanmax(x) > 1.0 or np.isnan(x).any()):
        raise ValueError(f"image values must lie in [0, 1], got [{np.nanmin(x):.3g}, {np.nanmax(x):.3g}] (or NaN)")
    return x.astype(np.float64)


def _same_type_as(result: np.ndarray, images: Images) -> Images:
    """``result`` in the type, dtype and device of ``images``."""
    if isinstance(images, torch.Tensor):
        return torch.from_numpy(result).to(dtype=images.dtype, device=images.device)
    return result.astype(np.asarray(images).dtype if np.asarray(images).dtype.kind == "f" else np.float64)


def _mask_same_type_as(mask: np.ndarray, images: Images) -> Images:
    """A boolean mask as a tensor on the images' device when the images are a tensor."""
    return torch.from_numpy(mask).to(images.device) if isinstance(images, torch.Tensor) else mask


def _fraction(value: float, name: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return float(value)


def gaussian_noise(images: Images, sigma: float, rng: Seed = 0) -> Images:
    """Add N(0, sigma^2) noise to every pixel, then clip to [0, 1].

    Parameters
    ----------
    images : array or tensor with values in [0, 1], shape (..., h, w)
    sigma : float
        Standard deviation of the noise, in pixel-value units (0.5 is half the range).
    rng : int or numpy.random.Generator
        Seed or generator of the noise.
    """
    if not sigma >= 0.0:
        raise ValueError(f"sigma must be a non-negative number, got {sigma}")
    x = _checked_images(images)
    noise = np.random.default_rng(rng).normal(0.0, sigma, size=x.shape)
    return _same_type_as(np.clip(x + noise, 0.0, 1.0), images)


def salt_and_pepper(images: Images, amount: float, rng: Seed = 0) -> tuple[Images, Images]:
    """Set a fraction ``amount`` of the pixels to 0 or 1 (half each on average).

    Returns
    -------
    corrupted, mask
        The corrupted images and a boolean mask, True where a pixel was set.
    """
    amount = _fraction(amount, "amount")
    x = _checked_images(images)
    gen = np.random.default_rng(rng)
    mask = gen.random(x.shape) < amount
    salt = gen.random(x.shape) < 0.5
    corrupted = np.where(mask, salt.astype(np.float64), x)
    return _same_type_as(corrupted, images), _mask_same_type_as(mask, images)


def missing_pixels(images: Images, fraction: float, rng: Seed = 0, fill: float = 0.0) -> tuple[Images, Images]:
    """Remove exactly ``round(fraction * h * w)`` pixels of every image, chosen at random.

    Returns
    -------
    corrupted, mask
        The images with the missing pixels set to ``fill``, and a boolean mask, True where a
        pixel is missing.
    """
    fraction = _fraction(fraction, "fraction")
    fill = _fraction(fill, "fill")
    x = _checked_images(images)
    h, w = x.shape[-2:]
    flat = x.reshape(-1, h * w)
    n_missing = int(round(fraction * h * w))
    scores = np.random.default_rng(rng).random(flat.shape)
    order = np.argsort(scores, axis=1)[:, :n_missing]
    mask = np.zeros(flat.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=1)
    mask = mask.reshape(x.shape)
    return _same_type_as(np.where(mask, fill, x), images), _mask_same_type_as(mask, images)


def missing_block(
    images: Images, size: int, rng: Seed = 0, margin: int = 0, fill: float = 0.0
) -> tuple[Images, Images]:
    """Remove one ``size`` x ``size`` square of every image, at a random position (in-painting).

    Parameters
    ----------
    size : int
        Side of the missing square, in pixels.
    margin : int
        The square keeps at least this many pixels from every border, so that on centred
        digits it covers strokes rather than empty background.
    fill : float
        Value written into the hole.

    Returns
    -------
    corrupted, mask
        The images with the hole set to ``fill``, and a boolean mask, True inside the hole.
    """
    fill = _fraction(fill, "fill")
    x = _checked_images(images)
    h, w = x.shape[-2:]
    if size < 1 or margin < 0 or size + 2 * margin > min(h, w):
        raise ValueError(
            f"a {size}x{size} block with a margin of {margin} does not fit in {h}x{w} images "
            "(need size >= 1, margin >= 0 and size + 2 * margin <= the image side)"
        )
    lead = x.shape[:-2]
    gen = np.random.default_rng(rng)
    top = gen.integers(margin, h - size - margin + 1, size=lead)
    left = gen.integers(margin, w - size - margin + 1, size=lead)
    rows, cols = np.arange(h), np.arange(w)
    in_rows = (rows >= top[..., None]) & (rows < top[..., None] + size)
    in_cols = (cols >= left[..., None]) & (cols < left[..., None] + size)
    mask = in_rows[..., :, None] & in_cols[..., None, :]
    return _same_type_as(np.where(mask, fill, x), images), _mask_same_type_as(mask, images)
