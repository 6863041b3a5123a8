"""Measuring rate and distortion, and comparing codecs at equal rate image by image.

Every number comes from the bytes: the rate from ``len(encode(image))``, the quality from
``decode`` of those bytes. A codec's setting (a JPEG quality, a learned model) puts different
images at very different rates, so averaging the images' points at each setting gives a point
that lies on no image's curve. Codecs are therefore compared at equal rate per image: each
image's curve is interpolated in log-rate at common target rates (:func:`at_rates`), and only then
averaged over the images (:func:`mean_at_rates`). Nothing is extrapolated: a rate outside an
image's measured range gives NaN.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from autoencoders.compression.bitstream import Codec, bits_per_pixel

#: What :func:`measure_images` measures per image.
KEYS = ("bpp", "bytes", "psnr", "ms_ssim")


def measure_images(codec: Codec, images, ms_ssim: bool = True) -> dict[str, np.ndarray]:
    """Bits per pixel, bytes, PSNR (dB) and MS-SSIM of ``codec`` on each image: arrays of len(images).

    MS-SSIM needs images larger than 160 pixels (``ms_ssim=False`` for digits).
    """
    from autoencoders import metrics

    rows = []
    for image in images:
        data = codec.encode(image)
        decoded = codec.decode(data)
        row = [bits_per_pixel(len(data), image.shape), len(data), metrics.psnr(image, decoded, 255.0)]
        if ms_ssim:
            row.append(metrics.ms_ssim(image, decoded))
        rows.append(row)
    columns = np.asarray(rows, dtype=float).T
    return dict(zip(KEYS, columns))


def measure(codec: Codec, images, ms_ssim: bool = True) -> dict[str, float]:
    """The means over ``images`` of :func:`measure_images` (for images that share one size)."""
    return {key: float(values.mean()) for key, values in measure_images(codec, images, ms_ssim).items()}


def rd_curve(codecs: Sequence[Codec], images, ms_ssim: bool = True) -> dict[str, np.ndarray]:
    """One codec's rate-distortion curve on each image: ``codecs`` are its settings.

    Returns ``{key: array of shape (len(images), len(codecs))}`` for the keys of
    :func:`measure_images`: row i is image i's curve.
    """
    per_setting = [measure_images(codec, images, ms_ssim) for codec in codecs]
    return {key: np.stack([m[key] for m in per_setting], axis=1) for key in per_setting[0]}


def at_rate(bpp, values, target: float) -> float:
    """A rate-distortion curve's value at ``target`` bits per pixel, interpolated in log-rate.

    Returns NaN when ``target`` lies outside the measured rates: no extrapolation.
    """
    bpp, values = np.asarray(bpp, dtype=float), np.asarray(values, dtype=float)
    order = np.argsort(bpp)
    bpp, values = bpp[order], values[order]
    if not bpp[0] <= target <= bpp[-1]:
        return float("nan")
    return float(np.interp(np.log(target), np.log(bpp), values))


def at_rates(curve: dict[str, np.ndarray], targets: Sequence[float], key: str = "psnr") -> np.ndarray:
    """Each image's ``key`` at each target rate: shape (n_images, n_targets), NaN where out of range."""
    return np.array([[at_rate(b, v, t) for t in targets] for b, v in zip(curve["bpp"], curve[key])])


def mean_at_rates(curve: dict[str, np.ndarray], targets: Sequence[float], key: str = "psnr") -> np.ndarray:
    """The mean over images of :func:`at_rates`; NaN at a target that some image's curve misses.

    Equal rate first, then the average: every image is compared at the same rate.
    """
    return at_rates(curve, targets, key).mean(axis=0)  # a NaN (a missed rate) stays NaN


def mean_of_settings(curve: dict[str, np.ndarray], key: str = "psnr") -> tuple[np.ndarray, np.ndarray]:
    """The naive curve: at each setting, the mean rate and the mean ``key`` over the images.

    Shown only to say why it misleads: its points lie on no image's curve.
    """
    return curve["bpp"].mean(axis=0), curve[key].mean(axis=0)
