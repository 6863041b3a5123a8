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
    return mean + (rows - mean) @ components @ components.T


def project_whole_image(images, mask, mean, components):
    return np.where(mask, _project(images, mean, components), images)


def known_pixels_not_kept(images, mask, mean, components):
    out = np.empty_like(images)
    for i, (x, m) in enumerate(zip(images, mask)):
        z = np.linalg.lstsq(components[~m], x[~m] - mean[~m], rcond=None)[0]
        out[i] = mean + components @ z
    return out


def mask_inverted(images, mask, mean, components):
    out = images.copy()
    for i, (x, m) in enumerate(zip(images, mask)):
        z = np.linalg.lstsq(components[m], x[m] - mean[m], rcond=None)[0]
        out[i, ~m] = (mean + components @ z)[~m]
    return out


def directions_as_rows(images, mask, mean, components):
    """Reads components as (k, d), directions as rows, the way chapter 04 once wrote V."""
    out = images.copy()
    for i, (x, m) in enumerate(zip(images, mask)):
        z = np.linalg.lstsq(components[:, ~m].T, x[~m] - mean[~m], rcond=None)[0]
        out[i, m] = (mean + z @ components)[m]
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
        ("the directions read as rows of a (k, d) matrix", directions_as_rows),
    ],
}


# --- correct answers written differently from the reference -----------------------------------

def drop_pixels_choice(images, fraction, seed):
    """rng.choice without replacement, image by image, on a flat copy."""
    images = np.array(images, dtype=float)
    n, h, w = images.shape
    rng = np.random.default_rng(seed)
    flat, mask = images.reshape(n, -1), np.zeros((n, h * w), dtype=bool)
    for i in range(n):
        chosen = rng.choice(h * w, size=int(round(fraction * h * w)), replace=False)
        mask[i, chosen] = True
        flat[i, chosen] = HOLE
    return flat.reshape(n, h, w), mask.reshape(n, h, w)


def drop_pixels_argsort(images, fraction, seed):
    """Vectorised: the smallest random keys of each image mark its missing pixels (torch output
    converted back)."""
    images = np.asarray(images, dtype=float)
    n, h, w = images.shape
    keys = np.random.default_rng(seed).random((n, h * w))
    ranks = keys.argsort(axis=1).argsort(axis=1)
    mask = (ranks < round(fraction * h * w)).reshape(n, h, w)
    corrupted = images.copy()
    corrupted[mask] = HOLE
    return corrupted, mask


def train_denoiser_dataloader(model, clean, sigma, epochs):
    """A DataLoader with shuffle, noise from torch.normal, summed squared error (Adam does not
    care about the loss's scale), and the model frozen and in eval mode afterwards."""
    loader = torch.utils.data.DataLoader(clean, batch_size=50, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        for batch in loader:
            noisy = torch.clamp(batch + torch.normal(0.0, sigma, size=batch.shape), 0.0, 1.0)
            loss = ((model(noisy) - batch) ** 2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model.eval()


def train_denoiser_indices(model, clean, sigma, epochs):
    """Batches from a NumPy permutation of indices, noise via randn and a mask-free clip."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(epochs):
        order = np.random.default_rng(epoch).permutation(len(clean))
        for start in range(0, len(clean), 50):
            batch = clean[torch.from_numpy(order[start:start + 50])]
            noisy = torch.minimum(torch.maximum(batch + sigma * torch.randn(batch.shape),
                                                torch.tensor(0.0)), torch.tensor(1.0))
            optimizer.zero_grad()
            F.mse_loss(model(noisy), batch, reduction="mean").backward()
            optimizer.step()
    return model


def add_noise_uniform_(batch, max_sigma):
    """Levels from Tensor.uniform_, noise from torch.normal."""
    level = torch.empty(len(batch), 1).uniform_(0, max_sigma)
    return torch.clamp(batch + level * torch.normal(0.0, 1.0, size=batch.shape), 0, 1)


def add_noise_row_loop(batch, max_sigma):
    """One row at a time, the level from torch.distributions.Uniform."""
    level = torch.distributions.Uniform(0.0, max_sigma)
    rows = [(row + level.sample() * torch.randn(row.shape)).clamp(0, 1) for row in batch]
    return torch.stack(rows)


def fill_normal_equations(images, mask, mean, components):
    """The normal equations (V_K^T V_K) z = V_K^T (x - mu)_K, solved per image."""
    filled = np.array(images, dtype=float)
    for x, m in zip(filled, mask):
        known = components[~m]
        z = np.linalg.solve(known.T @ known, known.T @ (x[~m] - mean[~m]))
        x[m] = mean[m] + components[m] @ z
    return filled


def fill_pinv_torch(images, mask, mean, components):
    """torch.linalg.pinv on the known rows, the result assembled with np.where."""
    out = []
    for x, m in zip(images, mask):
        known = torch.as_tensor(components[~m])
        z = torch.linalg.pinv(known) @ torch.as_tensor(x[~m] - mean[~m])
        out.append(mean + components @ z.numpy())
    return np.where(mask, np.array(out), images)


CORRECT_ANSWERS = {
    "restoration-missing-pixels": [
        ("rng.choice without replacement, image by image", drop_pixels_choice),
        ("vectorised: ranks of random keys per image", drop_pixels_argsort),
    ],
    "restoration-denoising-loop": [
        ("a DataLoader, torch.normal noise, summed loss, model frozen after training", train_denoiser_dataloader),
        ("a NumPy permutation of indices, clipping by minimum/maximum", train_denoiser_indices),
    ],
    "restoration-any-level": [
        ("levels from Tensor.uniform_, noise from torch.normal", add_noise_uniform_),
        ("a loop over the rows with torch.distributions.Uniform", add_noise_row_loop),
    ],
    "restoration-inpaint-pca": [
        ("the normal equations, np.linalg.solve", fill_normal_equations),
        ("torch.linalg.pinv, assembled with np.where", fill_pinv_torch),
    ],
}
