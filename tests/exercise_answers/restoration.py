"""Plausible wrong answers to the exercises of chapter 04_restoration."""

import numpy as np
import torch
import torch.nn.functional as F

HOLE = 0.5


# --- restoration-missing-pixels -----------------------------------------------------------------

def threshold_mask(images, fraction, seed):
    images = np.asarray(images, dtype=float)
    mask = np.random.default_rng(seed).random(images.shape) < fraction
    return np.where(mask, HOLE, images), mask


def same_pixels_in_every_image(images, fraction, seed):
    images = np.asarray(images, dtype=float)
    n, h, w = images.shape
    chosen = np.random.default_rng(seed).permutation(h * w)[: int(round(fraction * h * w))]
    mask = np.zeros(h * w, dtype=bool)
    mask[chosen] = True
    mask = np.broadcast_to(mask.reshape(h, w), images.shape).copy()
    return np.where(mask, HOLE, images), mask


def _exact_mask(shape, fraction, rng):
    n, h, w = shape
    mask = np.zeros((n, h * w), dtype=bool)
    for i in range(n):
        mask[i, rng.permutation(h * w)[: int(round(fraction * h * w))]] = True
    return mask.reshape(shape)


def mask_of_kept_pixels(images, fraction, seed):
    images = np.asarray(images, dtype=float)
    mask = _exact_mask(images.shape, fraction, np.random.default_rng(seed))
    return np.where(mask, HOLE, images), ~mask


def seed_ignored(images, fraction, seed):
    images = np.asarray(images, dtype=float)
    mask = _exact_mask(images.shape, fraction, np.random.default_rng())
    return np.where(mask, HOLE, images), mask


def filled_with_black(images, fraction, seed):
    images = np.asarray(images, dtype=float)
    mask = _exact_mask(images.shape, fraction, np.random.default_rng(seed))
    return np.where(mask, 0.0, images), mask


# --- restoration-denoising-loop -----------------------------------------------------------------

def _loop(model, clean, epochs, make_input, make_target, zero_grad=True, lr=1e-2):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        for batch in clean[torch.randperm(len(clean))].split(50):
            inputs = make_input(batch)
            loss = F.mse_loss(model(inputs), make_target(batch, inputs))
            if zero_grad:
                optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


def _noisy(batch, sigma):
    return (batch + sigma * torch.randn_like(batch)).clamp(0, 1)


def clean_inputs_clean_targets(model, clean, sigma, epochs):
    return _loop(model, clean, epochs, lambda b: b, lambda b, x: b)


def noisy_targets(model, clean, sigma, epochs):
    return _loop(model, clean, epochs, lambda b: _noisy(b, sigma), lambda b, x: x)


def gradients_never_zeroed(model, clean, sigma, epochs):
    return _loop(model, clean, epochs, lambda b: _noisy(b, sigma), lambda b, x: b, zero_grad=False)


def never_trains(model, clean, sigma, epochs):
    return model


def returns_the_losses(model, clean, sigma, epochs):
    _loop(model, clean, epochs, lambda b: _noisy(b, sigma), lambda b, x: b)
    return [0.0] * epochs


# --- restoration-any-level ---------------------------------------------------------------------

def one_level_for_all(batch, max_sigma):
    return (batch + max_sigma * torch.randn_like(batch)).clamp(0, 1)


def one_level_per_batch(batch, max_sigma):
    return (batch + max_sigma * torch.rand(()) * torch.randn_like(batch)).clamp(0, 1)


def one_level_per_pixel(batch, max_sigma):
    return (batch + max_sigma * torch.rand_like(batch) * torch.randn_like(batch)).clamp(0, 1)


def uniform_instead_of_normal_noise(batch, max_sigma):
    return (batch + max_sigma * torch.rand(len(batch), 1) * torch.rand_like(batch)).clamp(0, 1)


def not_clipped(batch, max_sigma):
    return batch + max_sigma * torch.rand(len(batch), 1) * torch.randn_like(batch)


def levels_above_max(batch, max_sigma):
    return (batch + max_sigma * (1 + torch.rand(len(batch), 1)) * torch.randn_like(batch)).clamp(0, 1)


def only_weak_levels(batch, max_sigma):
    return (batch + 0.3 * max_sigma * torch.rand(len(batch), 1) * torch.randn_like(batch)).clamp(0, 1)


def same_noise_every_call(batch, max_sigma):
    generator = torch.Generator().manual_seed(0)
    level = max_sigma * torch.rand(len(batch), 1, generator=generator)
    return (batch + level * torch.randn(batch.shape, generator=generator)).clamp(0, 1)


def no_noise(batch, max_sigma):
    return batch


# --- restoration-inpaint-pca --------------------------------------------------------------------

def _project(rows, mean, components):
    return mean + (rows - mean) @ components.T @ components


def project_whole_image(images, mask, mean, components):
    return np.where(mask, _project(images, mean, components), images)


def known_pixels_not_kept(images, mask, mean, components):
    out = np.empty_like(images)
    for i, (x, m) in enumerate(zip(images, mask)):
        z = np.linalg.lstsq(components[:, ~m].T, x[~m] - mean[~m], rcond=None)[0]
        out[i] = mean + z @ components
    return out


def mask_inverted(images, mask, mean, components):
    out = images.copy()
    for i, (x, m) in enumerate(zip(images, mask)):
        z = np.linalg.lstsq(components[:, m].T, x[m] - mean[m], rcond=None)[0]
        out[i, ~m] = (mean + z @ components)[~m]
    return out


def mean_fill(images, mask, mean, components):
    return np.where(mask, mean, images)


def few_passes(images, mask, mean, components):
    x = images
    for _ in range(2):
        x = np.where(mask, _project(x, mean, components), images)
    return x


WRONG_ANSWERS = {
    "restoration-missing-pixels": [
        ("a threshold on random numbers: about, not exactly, the fraction", threshold_mask),
        ("the same pixels removed from every image", same_pixels_in_every_image),
        ("the mask marks the kept pixels", mask_of_kept_pixels),
        ("the seed is not used", seed_ignored),
        ("missing pixels set to 0 (black) instead of 0.5", filled_with_black),
    ],
    "restoration-denoising-loop": [
        ("trained on clean inputs with clean targets (the slides' recipe)", clean_inputs_clean_targets),
        ("the target is the noisy input", noisy_targets),
        ("the gradients are never zeroed", gradients_never_zeroed),
        ("no training at all", never_trains),
        ("returns the losses instead of the model", returns_the_losses),
    ],
    "restoration-any-level": [
        ("every row at max_sigma: the chapter's denoiser, trained at one level", one_level_for_all),
        ("one level for the whole batch", one_level_per_batch),
        ("one level for every pixel", one_level_per_pixel),
        ("uniform noise in [0, level) instead of normal noise", uniform_instead_of_normal_noise),
        ("the noisy rows are not clipped to [0, 1]", not_clipped),
        ("levels between max_sigma and twice max_sigma", levels_above_max),
        ("levels only up to 0.3 max_sigma", only_weak_levels),
        ("the same noise at every call (a generator seeded inside)", same_noise_every_call),
        ("no noise at all", no_noise),
    ],
    "restoration-inpaint-pca": [
        ("projects the whole image, grey hole included, then keeps the known pixels", project_whole_image),
        ("fits the known pixels but returns the reconstruction everywhere", known_pixels_not_kept),
        ("the mask read the wrong way round: fits the hole, overwrites the known pixels", mask_inverted),
        ("fills the hole with the mean digit", mean_fill),
        ("two passes of the projection loop", few_passes),
    ],
}
