"""Checks of the exercises of chapter ``04_restoration``: the missing-pixels corruption, one
training step of a denoising autoencoder, and PSNR computed by hand."""

from __future__ import annotations

import copy

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio
from torch import nn

from autoencoders.exercises.core import WrongAnswer, call, exercise, expect_array, expect_close, expect_number

CHAPTER = "04_restoration"


@exercise("restoration-missing-pixels", title="Missing pixels", chapter=CHAPTER)
def _check_missing_pixels(drop_pixels):
    rng = np.random.default_rng(0)
    for shape, fraction, seed in [((6, 28, 28), 0.5, 0), ((4, 5, 7), 0.2, 3), ((3, 8, 8), 0.75, 11)]:
        images = rng.uniform(0.1, 1.0, size=shape)  # no zeros, so removed pixels are recognisable
        what = f"drop_pixels(images of shape {shape}, {fraction}, seed={seed})"
        result = call(drop_pixels, images.copy(), fraction, seed)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise WrongAnswer(f"{what} should return a pair (corrupted, mask), got {type(result).__name__}")
        corrupted = expect_array(result[0], shape, name=f"the corrupted images of {what}")
        mask = np.asarray(result[1])
        if mask.shape != shape or mask.dtype != bool:
            raise WrongAnswer(f"the mask of {what} should be a boolean array of shape {shape}, got {mask.dtype} {mask.shape}")
        n_missing = int(round(fraction * shape[1] * shape[2]))
        counts = mask.reshape(shape[0], -1).sum(axis=1)
        if not np.all(counts == n_missing):
            raise WrongAnswer(
                f"{what}: every image should lose exactly round({fraction} * {shape[1]} * {shape[2]}) = {n_missing} "
                f"pixels, but the masks have {sorted(set(counts.tolist()))} True entries per image. Hint: choose "
                "the pixels of each image with a permutation, not with a threshold on random numbers"
            )
        expect_close(corrupted[mask], np.zeros(int(mask.sum())), name=f"the removed pixels of {what}",
                     hint="set the pixels where the mask is True to 0")
        expect_close(corrupted[~mask], images[~mask], name=f"the kept pixels of {what}",
                     hint="the pixels where the mask is False must keep their values")
        flat = mask.reshape(shape[0], -1)
        if any(np.array_equal(flat[0], flat[i]) for i in range(1, shape[0])):
            raise WrongAnswer(f"{what}: two images lost the same pixels; draw a new random choice for each image")
        again = call(drop_pixels, images.copy(), fraction, seed)
        if not np.array_equal(np.asarray(again[1]), mask):
            raise WrongAnswer(f"{what} gave a different mask when called again with the same seed: use np.random.default_rng(seed)")
    other = call(drop_pixels, np.full((2, 6, 6), 0.5), 0.5, 1)
    if np.array_equal(np.asarray(other[1]), np.asarray(call(drop_pixels, np.full((2, 6, 6), 0.5), 0.5, 2)[1])):
        raise WrongAnswer("seeds 1 and 2 gave the same mask: the seed should choose the pixels")


def _tiny_autoencoder(d: int) -> nn.Module:
    return nn.Sequential(nn.Linear(d, 4), nn.ReLU(), nn.Linear(4, d), nn.Sigmoid())


def _reference_step(model: nn.Module, optimizer: torch.optim.Optimizer, clean: torch.Tensor, sigma: float) -> float:
    noisy = (clean + sigma * torch.randn_like(clean)).clamp(0, 1)
    loss = nn.functional.mse_loss(model(noisy), clean)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


@exercise("restoration-dae-step", title="One step of a denoising autoencoder", chapter=CHAPTER)
def _check_dae_step(dae_step):
    for d, n, sigma, seed in [(12, 16, 0.5, 0), (20, 8, 0.3, 1)]:
        with torch.random.fork_rng():  # leave the student's random state alone
            torch.manual_seed(100 + seed)
            model = _tiny_autoencoder(d)
            clean = torch.rand(n, d)
            reference = copy.deepcopy(model)
            opt_student = torch.optim.SGD(model.parameters(), lr=0.5)
            opt_reference = torch.optim.SGD(reference.parameters(), lr=0.5)
            for step in range(2):  # two steps: forgetting to zero the gradients shows on the second
                torch.manual_seed(seed * 10 + step)
                got = call(dae_step, model, opt_student, clean, sigma)
                torch.manual_seed(seed * 10 + step)
                expected = _reference_step(reference, opt_reference, clean, sigma)
                what = f"step {step + 1} on a batch of shape {(n, d)} with sigma={sigma}"
                if isinstance(got, torch.Tensor):
                    raise WrongAnswer(f"{what}: return the loss as a Python float (loss.item()), not a tensor")
                expect_number(got, expected, name=f"the loss returned at {what}", rtol=1e-5,
                              hint="the loss compares model(noisy) with the clean batch; noisy = (clean + sigma * "
                                   "torch.randn_like(clean)).clamp(0, 1), drawn once per step")
                for (name, p), q in zip(model.named_parameters(), reference.parameters()):
                    expect_close(p.detach(), q.detach(), name=f"parameter {name} after {what}", rtol=1e-5, atol=1e-7,
                                 hint="zero the gradients, call loss.backward(), then optimizer.step(), once per call")


@exercise("restoration-psnr", title="PSNR by hand", chapter=CHAPTER)
def _check_psnr(psnr_by_hand):
    rng = np.random.default_rng(0)
    for shape, noise in [((28, 28), 0.1), ((5, 8, 8), 0.3), ((3, 28, 28), 0.02)]:
        clean = rng.uniform(0, 1, size=shape)
        estimate = np.clip(clean + rng.normal(0, noise, size=shape), 0, 1)
        expected = peak_signal_noise_ratio(clean, estimate, data_range=1.0)
        expect_number(
            call(psnr_by_hand, clean.copy(), estimate.copy()), expected,
            name=f"psnr_by_hand for images of shape {shape}", rtol=1e-6,
            hint="10 * log10(1 / MSE), with the MSE averaged over all pixels of all images",
        )
