"""Plausible wrong answers to the exercises of chapter 04_restoration."""

import numpy as np
import torch
import torch.nn.functional as F


def threshold_mask(images, fraction, seed):
    images = np.asarray(images, dtype=float)
    mask = np.random.default_rng(seed).random(images.shape) < fraction
    return np.where(mask, 0.0, images), mask


def same_pixels_in_every_image(images, fraction, seed):
    images = np.asarray(images, dtype=float)
    n, h, w = images.shape
    chosen = np.random.default_rng(seed).permutation(h * w)[: int(round(fraction * h * w))]
    mask = np.zeros(h * w, dtype=bool)
    mask[chosen] = True
    mask = np.broadcast_to(mask.reshape(h, w), images.shape).copy()
    return np.where(mask, 0.0, images), mask


def _exact_mask(shape, fraction, rng):
    n, h, w = shape
    mask = np.zeros((n, h * w), dtype=bool)
    for i in range(n):
        mask[i, rng.permutation(h * w)[: int(round(fraction * h * w))]] = True
    return mask.reshape(shape)


def mask_of_kept_pixels(images, fraction, seed):
    images = np.asarray(images, dtype=float)
    mask = _exact_mask(images.shape, fraction, np.random.default_rng(seed))
    return np.where(mask, 0.0, images), ~mask


def seed_ignored(images, fraction, seed):
    images = np.asarray(images, dtype=float)
    mask = _exact_mask(images.shape, fraction, np.random.default_rng())
    return np.where(mask, 0.0, images), mask


def filled_with_grey(images, fraction, seed):
    images = np.asarray(images, dtype=float)
    mask = _exact_mask(images.shape, fraction, np.random.default_rng(seed))
    return np.where(mask, 0.5, images), mask


def _step(model, optimizer, loss):
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def target_is_noisy(model, optimizer, clean, sigma):
    noisy = (clean + sigma * torch.randn_like(clean)).clamp(0, 1)
    return _step(model, optimizer, F.mse_loss(model(noisy), noisy))


def no_noise(model, optimizer, clean, sigma):
    return _step(model, optimizer, F.mse_loss(model(clean), clean))


def not_clamped(model, optimizer, clean, sigma):
    noisy = clean + sigma * torch.randn_like(clean)
    return _step(model, optimizer, F.mse_loss(model(noisy), clean))


def gradients_not_zeroed(model, optimizer, clean, sigma):
    noisy = (clean + sigma * torch.randn_like(clean)).clamp(0, 1)
    loss = F.mse_loss(model(noisy), clean)
    loss.backward()
    optimizer.step()
    return loss.item()


def returns_the_tensor(model, optimizer, clean, sigma):
    noisy = (clean + sigma * torch.randn_like(clean)).clamp(0, 1)
    loss = F.mse_loss(model(noisy), clean)
    _step(model, optimizer, loss)
    return loss


def _mse(clean, estimate):
    return np.mean((np.asarray(clean, dtype=float) - np.asarray(estimate, dtype=float)) ** 2)


WRONG_ANSWERS = {
    "restoration-missing-pixels": [
        ("a threshold on random numbers: about, not exactly, the fraction", threshold_mask),
        ("the same pixels removed from every image", same_pixels_in_every_image),
        ("the mask marks the kept pixels", mask_of_kept_pixels),
        ("the seed is not used", seed_ignored),
        ("missing pixels set to 0.5 instead of 0", filled_with_grey),
    ],
    "restoration-dae-step": [
        ("the target is the noisy input", target_is_noisy),
        ("no noise added", no_noise),
        ("the noisy input is not clamped to [0, 1]", not_clamped),
        ("the gradients are never zeroed", gradients_not_zeroed),
        ("returns the loss tensor", returns_the_tensor),
    ],
    "restoration-psnr": [
        ("20 log10 of 1 / MSE", lambda clean, estimate: 20 * np.log10(1 / _mse(clean, estimate))),
        ("10 log10 of 1 / RMSE", lambda clean, estimate: 10 * np.log10(1 / np.sqrt(_mse(clean, estimate)))),
        ("natural logarithm", lambda clean, estimate: 10 * np.log(1 / _mse(clean, estimate))),
        ("the sign flipped: 10 log10(MSE)", lambda clean, estimate: 10 * np.log10(_mse(clean, estimate))),
        ("the mean of the PSNRs of the rows", lambda clean, estimate: np.mean(
            [10 * np.log10(1 / _mse(c, e)) for c, e in zip(clean, estimate)])),
    ],
}
