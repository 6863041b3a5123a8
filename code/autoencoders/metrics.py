"""Image-quality metrics from the libraries made for them (scikit-image, pytorch-msssim).

Images are arrays with values in [0, data_range]; a batch is (n, h, w) or (n, h, w, c).
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from autoencoders.runtime import to_numpy


def psnr(reference, estimate, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB, 10 log10(data_range^2 / MSE), over all pixels given."""
    ref, est = to_numpy(reference, np.float64), to_numpy(estimate, np.float64)
    return float(peak_signal_noise_ratio(ref, est, data_range=data_range))


def psnr_per_image(reference, estimate, data_range: float = 1.0) -> np.ndarray:
    """PSNR of each image of a batch (first axis), in dB."""
    ref, est = to_numpy(reference, np.float64), to_numpy(estimate, np.float64)
    return np.array([psnr(r, e, data_range) for r, e in zip(ref, est)])


def ssim(reference, estimate, data_range: float = 1.0, channel_axis: int | None = None) -> float:
    """Structural similarity (Wang et al. 2004) of one image, via scikit-image."""
    ref, est = to_numpy(reference, np.float64), to_numpy(estimate, np.float64)
    return float(structural_similarity(ref, est, data_range=data_range, channel_axis=channel_axis))


def mean_ssim(reference, estimate, data_range: float = 1.0) -> float:
    """Mean SSIM over a batch of grey images of shape (n, h, w)."""
    ref, est = to_numpy(reference, np.float64), to_numpy(estimate, np.float64)
    return float(np.mean([ssim(r, e, data_range) for r, e in zip(ref, est)]))


def ms_ssim(reference, estimate, data_range: float = 255.0) -> float:
    """Multi-scale SSIM (Wang et al. 2003) of one RGB or grey image (h, w[, c]), via pytorch-msssim.

    MS-SSIM downsamples four times, so each side must be larger than 160 pixels.
    """
    ref, est = to_numpy(reference, np.float64), to_numpy(estimate, np.float64)
    if ref.shape != est.shape:
        raise ValueError(f"images differ in shape: {ref.shape} vs {est.shape}")
    if min(ref.shape[:2]) <= 160:
        raise ValueError(f"MS-SSIM needs images larger than 160x160 pixels, got {ref.shape[:2]}")
    from pytorch_msssim import ms_ssim as _ms_ssim

    def as_batch(a: np.ndarray) -> torch.Tensor:  # (h, w[, c]) -> (1, c, h, w)
        return torch.from_numpy(a if a.ndim == 3 else a[..., None]).permute(2, 0, 1)[None].float()

    return float(_ms_ssim(as_batch(ref), as_batch(est), data_range=data_range))
