"""Image-quality metrics: the textbook formulas, for tensors and arrays alike."""

import numpy as np
import pytest
import torch

import autoencoders as ae


def test_psnr_is_ten_log10_of_range_squared_over_mse():
    reference = np.zeros((4, 8, 8))
    estimate = reference + 0.1  # MSE = 0.01 -> 20 dB
    assert ae.metrics.psnr(reference, estimate) == pytest.approx(20.0)
    assert ae.metrics.psnr(torch.from_numpy(reference), torch.from_numpy(estimate)) == pytest.approx(20.0)
    per_image = ae.metrics.psnr_per_image(reference, estimate)
    assert per_image.shape == (4,) and np.allclose(per_image, 20.0)


def test_ssim_of_an_image_with_itself_is_one_and_noise_lowers_it():
    rng = np.random.default_rng(0)
    images = rng.random((3, 16, 16))
    assert ae.metrics.mean_ssim(images, images) == pytest.approx(1.0)
    noisy = np.clip(images + 0.3 * rng.standard_normal(images.shape), 0, 1)
    assert ae.metrics.mean_ssim(images, noisy) < 0.9


def test_ms_ssim_refuses_images_too_small_for_its_four_downsamplings():
    with pytest.raises(ValueError, match="larger than 160x160"):
        ae.metrics.ms_ssim(np.zeros((64, 64, 3)), np.zeros((64, 64, 3)))
    with pytest.raises(ValueError, match="differ in shape"):
        ae.metrics.ms_ssim(np.zeros((200, 200, 3)), np.zeros((200, 210, 3)))
