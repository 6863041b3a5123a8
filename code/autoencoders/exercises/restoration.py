"""Checks of the exercises of chapter ``04_restoration``: the missing-pixels corruption, the
training loop of a denoising autoencoder (measured against the same network trained on clean
digits), the noise of a denoiser for every noise level (measured against the network trained at
one level) and in-painting by fitting a PCA code to the known pixels (measured against filling the
hole with the mean digit)."""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from autoencoders.corruption import missing_pixels
from autoencoders.data import mnist_matrix, mnist_tensors
from autoencoders.exercises.core import WrongAnswer, call, exercise, expect_array, expect_close
from autoencoders.metrics import psnr

CHAPTER = "04_restoration"
HOLE = 0.5  # the value a missing pixel gets, as in the chapter (grey, so the holes are visible)

# The numbers the statements quote are the constants below; the chapter glues them into the
# statements, so a statement and its check cannot disagree. The "typical" values are what correct
# answers reach (measured on one core; the exercise tests run several correct answers).

MISSING_CASES = [((6, 28, 28), 0.5, 0), ((4, 5, 7), 0.2, 3), ((3, 8, 8), 0.75, 11)]  # shape, fraction, seed


@exercise("restoration-missing-pixels", title="Missing pixels", chapter=CHAPTER)
def _check_missing_pixels(drop_pixels):
    rng = np.random.default_rng(0)
    for shape, fraction, seed in MISSING_CASES:
        # values away from 0.5, so removed pixels are recognisable
        images = np.where(rng.random(shape) < 0.5, rng.uniform(0.0, 0.4, shape), rng.uniform(0.6, 1.0, shape))
        what = f"drop_pixels(images of shape {shape}, {fraction}, seed={seed})"
        result = call(drop_pixels, images.copy(), fraction, seed)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise WrongAnswer(f"{what} should return a pair (corrupted, mask), got {type(result).__name__}")
        corrupted = expect_array(result[0], shape, name=f"the corrupted images of {what}")
        mask = np.asarray(result[1])
        if mask.shape != shape or mask.dtype != bool:
            raise WrongAnswer(f"the mask of {what} should be a boolean array of shape {shape}, "
                              f"got {mask.dtype} {mask.shape}")
        n_missing = int(round(fraction * shape[1] * shape[2]))
        counts = mask.reshape(shape[0], -1).sum(axis=1)
        if not np.all(counts == n_missing):
            raise WrongAnswer(
                f"{what}: every image should lose exactly round({fraction} * {shape[1]} * {shape[2]}) = "
                f"{n_missing} pixels, but the masks have {sorted(set(counts.tolist()))} True entries per image. "
                "Hint: choose the pixels of each image with a permutation, not with a threshold on random numbers"
            )
        expect_close(corrupted[mask], np.full(int(mask.sum()), HOLE), name=f"the removed pixels of {what}",
                     hint=f"set the pixels where the mask is True to {HOLE} (grey, as in the chapter)")
        expect_close(corrupted[~mask], images[~mask], name=f"the kept pixels of {what}",
                     hint="the pixels where the mask is False must keep their values")
        flat = mask.reshape(shape[0], -1)
        if any(np.array_equal(flat[0], flat[i]) for i in range(1, shape[0])):
            raise WrongAnswer(f"{what}: two images lost the same pixels; draw a new random choice for each image")
        again = call(drop_pixels, images.copy(), fraction, seed)
        if not np.array_equal(np.asarray(again[1]), mask):
            raise WrongAnswer(f"{what} gave a different mask when called again with the same seed: "
                              "use np.random.default_rng(seed)")
    other = call(drop_pixels, np.full((2, 6, 6), 0.2), 0.5, 1)
    if np.array_equal(np.asarray(other[1]), np.asarray(call(drop_pixels, np.full((2, 6, 6), 0.2), 0.5, 2)[1])):
        raise WrongAnswer("seeds 1 and 2 gave the same mask: the seed should choose the pixels")


# --- the denoising training loop -----------------------------------------------------------------

DENOISE_EPOCHS = 20
DENOISE_LR, DENOISE_BATCH = 1e-2, 50  # Adam's learning rate and the batch size the statement asks for
DENOISE_N_TRAIN, DENOISE_N_TEST, DENOISE_SIDE = 1500, 500, 14  # digits, averaged down to 14 x 14
DENOISE_SIGMAS = [(0.5, 7), (0.4, 8)]  # noise level and seed of each trial
DENOISE_MIN_OVER_INPUT = 2.0  # dB over the noisy input, below which the model hardly denoises
DENOISE_MARGIN = 1.0  # dB over the clean-trained network that the check asks for
DENOISE_TYPICAL = 15  # dB a correct answer reaches at sigma = 0.5 (measured 15.4)
DENOISE_TYPICAL_GAIN = 2  # dB over the clean-trained network (measured 2.1 to 2.4)
DENOISE_TYPICAL_OVER_INPUT = 6  # dB over the noisy input at sigma = 0.5 (measured 6.1)


def _tiny_autoencoder(d: int) -> nn.Module:
    """A one-hidden-layer autoencoder small enough to train in a fraction of a second."""
    return nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Linear(32, d), nn.Sigmoid())


@functools.lru_cache(maxsize=1)
def _small_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """1,500 training and 500 test digits, averaged down to 14x14, as rows of 196 values in [0, 1]."""
    train, _ = mnist_tensors("train")
    test, _ = mnist_tensors("test")
    pool = nn.functional.avg_pool2d
    factor = 28 // DENOISE_SIDE
    return (pool(train[:DENOISE_N_TRAIN], factor).reshape(DENOISE_N_TRAIN, -1),
            pool(test[:DENOISE_N_TEST], factor).reshape(DENOISE_N_TEST, -1))


def _noisy(clean: torch.Tensor, sigma: float, seed: int) -> torch.Tensor:
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed))
    return (clean + sigma * noise).clamp(0, 1)


def _trained_on(corrupt) -> nn.Module:
    """The tiny autoencoder trained to map ``corrupt(batch)`` to the clean batch (Adam, lr 1e-2,
    batches of 50, seed 0); ``corrupt`` gets a copy of each batch, so it cannot spoil the target."""
    train, _ = _small_digits()
    with torch.random.fork_rng():  # leave the caller's random state alone
        torch.manual_seed(0)
        model = _tiny_autoencoder(train.shape[1])
        optimizer = torch.optim.Adam(model.parameters(), lr=DENOISE_LR)
        for _ in range(DENOISE_EPOCHS):
            for batch in train[torch.randperm(len(train))].split(DENOISE_BATCH):
                loss = nn.functional.mse_loss(model(corrupt(batch.clone())), batch)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    return model.eval()


@functools.lru_cache(maxsize=1)
def _clean_trained() -> nn.Module:
    """The tiny autoencoder trained on clean inputs with clean targets."""
    return _trained_on(lambda batch: batch)


def _restored_psnr(model: nn.Module, noisy: torch.Tensor, clean: torch.Tensor) -> float:
    with torch.no_grad():
        return psnr(clean, model(noisy).clamp(0, 1))


@exercise("restoration-denoising-loop", title="Train a denoising autoencoder", chapter=CHAPTER)
def _check_denoising_loop(train_denoiser):
    train, test = _small_digits()
    baseline = _clean_trained()
    for sigma, seed in DENOISE_SIGMAS:
        noisy_test = _noisy(test, sigma, seed)
        with torch.random.fork_rng():  # leave the student's random state alone
            torch.manual_seed(seed)
            model = _tiny_autoencoder(train.shape[1])
            trained = call(train_denoiser, model, train.clone(), sigma, DENOISE_EPOCHS)
        if not isinstance(trained, nn.Module):
            raise WrongAnswer(f"train_denoiser should return the trained model, got {type(trained).__name__}")
        what = f"after train_denoiser(model, 1,500 digits, sigma={sigma}, epochs={DENOISE_EPOCHS})"
        try:
            got = _restored_psnr(trained, noisy_test, test)
        except RuntimeError as err:
            raise WrongAnswer(f"{what}, the returned model could not restore rows of {train.shape[1]} "
                              f"pixels: {err}. Return the model you were given, trained") from None
        corrupted, clean_ae = psnr(test, noisy_test), _restored_psnr(baseline, noisy_test, test)
        numbers = (f"{what}, the model restores noisy held-out digits to {got:.2f} dB (the noisy input: "
                   f"{corrupted:.2f} dB; the same network trained on clean inputs: {clean_ae:.2f} dB)")
        if got < corrupted + DENOISE_MIN_OVER_INPUT:
            raise WrongAnswer(
                f"{numbers}: less than {DENOISE_MIN_OVER_INPUT:.0f} dB above the noisy input, where a correct "
                f"answer gains about {DENOISE_TYPICAL_OVER_INPUT} dB. Things to look at: does the loss fall "
                "(zero the gradients, backward, an optimizer step for every batch, Adam with "
                f"lr={DENOISE_LR:g})? Is the target the clean batch?"
            )
        if got < clean_ae + DENOISE_MARGIN:
            raise WrongAnswer(
                f"{numbers}. A denoising autoencoder beats the clean-trained one by at least "
                f"{DENOISE_MARGIN:.1f} dB (a correct answer: about {DENOISE_TYPICAL_GAIN} dB). Feed the model a noisy copy of each batch, "
                "(batch + sigma * torch.randn_like(batch)).clamp(0, 1), with fresh noise for every batch, "
                "and compare its output with the CLEAN batch"
            )


# --- one denoiser for every noise level ---------------------------------------------------------

ANY_MAX = 0.5  # the largest level of training, the level of the network trained at one level
ANY_LOW = 0.1  # a test level far below it, where the network trained at ANY_MAX alone breaks
ANY_LOW_MARGIN = 1.5  # dB over the network trained at ANY_MAX alone, at ANY_LOW (about 3 measured)
ANY_HIGH_MARGIN = 1.0  # dB over the clean-trained network, at ANY_MAX (about 2 measured)
ANY_TYPICAL_LOW_GAIN = 2.5  # dB a correct answer gains at ANY_LOW over one level (measured 2.5 to 4)
ANY_TYPICAL_HIGH_GAIN = 2  # dB it gains at ANY_MAX over the clean-trained network (measured 2.1)


@functools.lru_cache(maxsize=1)
def _one_level_trained() -> nn.Module:
    """The tiny autoencoder trained as a denoiser at the one level ``ANY_MAX``."""
    return _trained_on(lambda batch: (batch + ANY_MAX * torch.randn_like(batch)).clamp(0, 1))


def _noise_statistics(add_noise, max_sigma: float) -> None:
    """Check the noise ``add_noise`` puts on grey rows: zero mean, fresh, one level per row,
    levels spread over [0, max_sigma]."""
    grey = torch.full((1000, 784), 0.5)  # far from 0 and 1: clipping hardly touches the noise
    what = f"add_noise(1,000 grey rows of 784 pixels, max_sigma={max_sigma})"
    with torch.random.fork_rng():
        torch.manual_seed(1)
        first = call(add_noise, grey.clone(), max_sigma)
        second = call(add_noise, grey.clone(), max_sigma)
    for result in (first, second):
        if not isinstance(result, torch.Tensor) or result.shape != grey.shape:
            got = tuple(result.shape) if isinstance(result, torch.Tensor) else type(result).__name__
            raise WrongAnswer(f"{what} should return a tensor of shape (1000, 784), like the batch; got {got}")
    noise = (first - grey).double()
    level = noise.std(dim=1)
    if level.max() < 1e-6:
        raise WrongAnswer(f"{what} returned the rows unchanged: add noise to them")
    if torch.equal(first, second):
        raise WrongAnswer(f"{what} gave the same noise when called twice; draw fresh noise at every call "
                          "(torch.randn_like, without a generator of your own)")
    mean = noise.mean().item()
    if abs(mean) > 0.01:
        raise WrongAnswer(f"{what}: the noise has mean {mean:.3f} instead of 0, so it also brightens or darkens "
                          "the digits. Draw it from the standard normal distribution, torch.randn_like(batch)")
    low, high = np.quantile(level.numpy(), [0.1, 0.9])
    if high - low < 0.1 * max_sigma:
        raise WrongAnswer(
            f"{what}: every row has noise of about the same strength (standard deviation between {low:.3f} and "
            f"{high:.3f} in 80% of the rows). Draw one level for EACH ROW, uniformly between 0 and max_sigma "
            "(a tensor of shape (n, 1) that multiplies the noise), not one for the whole batch nor one per pixel"
        )
    if level.max() > 1.15 * max_sigma:
        raise WrongAnswer(f"{what}: some rows have noise of standard deviation {level.max():.3f}, more than "
                          f"max_sigma = {max_sigma}. The levels lie between 0 and max_sigma")
    if low > 0.3 * max_sigma or high < 0.7 * max_sigma:
        raise WrongAnswer(
            f"{what}: the rows' noise levels are not spread uniformly over [0, {max_sigma}]: 10% of the rows are "
            f"below {low:.3f} and 10% above {high:.3f} (a uniform level gives about {0.1 * max_sigma:.2f} and "
            f"{0.9 * max_sigma:.2f}). Draw each row's level as max_sigma * torch.rand(n, 1)"
        )


@exercise("restoration-any-level", title="One denoiser for every noise level", chapter=CHAPTER)
def _check_any_level(add_noise):
    train, test = _small_digits()
    _noise_statistics(add_noise, 0.2)
    digits = train[:50].clone()
    noisy = call(add_noise, digits.clone(), ANY_MAX)
    if not isinstance(noisy, torch.Tensor) or noisy.shape != digits.shape:
        raise WrongAnswer(f"add_noise(50 digits as rows of {train.shape[1]} pixels, max_sigma={ANY_MAX}) should "
                          "return a tensor of the batch's shape")
    if noisy.min() < 0 or noisy.max() > 1:
        raise WrongAnswer(f"add_noise(50 digits, max_sigma={ANY_MAX}) returned values in [{noisy.min():.2f}, "
                          f"{noisy.max():.2f}]; clip them to [0, 1] with .clamp(0, 1), like the noisy digits the "
                          "network will be tested on")
    model = _trained_on(lambda batch: call(add_noise, batch, ANY_MAX))
    low_noisy, high_noisy = _noisy(test, ANY_LOW, 9), _noisy(test, ANY_MAX, 7)
    got_low, got_high = _restored_psnr(model, low_noisy, test), _restored_psnr(model, high_noisy, test)
    one_level = _restored_psnr(_one_level_trained(), low_noisy, test)
    clean = _restored_psnr(_clean_trained(), high_noisy, test)
    trained = (f"the network trained with your noise (max_sigma={ANY_MAX}, {DENOISE_EPOCHS} epochs on 1,500 "
               "digits of 14 x 14)")
    if got_low < one_level + ANY_LOW_MARGIN:
        raise WrongAnswer(
            f"at sigma = {ANY_LOW}, {trained} restores 500 held-out digits to {got_low:.2f} dB, and the same network "
            f"trained at sigma = {ANY_MAX} alone to {one_level:.2f} dB; trained on every level up to {ANY_MAX} it "
            f"should do at least {ANY_LOW_MARGIN:.1f} dB better. Do most rows get a level well below max_sigma?"
        )
    if got_high < clean + ANY_HIGH_MARGIN:
        raise WrongAnswer(
            f"at sigma = {ANY_MAX}, {trained} restores 500 held-out digits to {got_high:.2f} dB, the same network "
            f"trained on clean digits to {clean:.2f} dB; a denoiser for every level up to {ANY_MAX} should do at "
            f"least {ANY_HIGH_MARGIN:.1f} dB better. Do some rows get a level close to max_sigma?"
        )


# --- in-painting by fitting the known pixels ---------------------------------------------------

INPAINT_MARGIN = 3.0  # dB over filling the hole with the mean digit, on the missing pixels
INPAINT_N = 200  # test digits
INPAINT_CASES = [(40, 0.5, 3), (20, 0.6, 4)]  # k, fraction missing, seed
INPAINT_TYPICAL = 17  # dB on the missing pixels with k = 40 (measured 16.6)
INPAINT_TYPICAL_GAIN = 5  # dB over the mean-digit fill with k = 40 (measured 5.0)


@functools.lru_cache(maxsize=1)
def _pca_basis() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mean and principal directions (the COLUMNS of a (d, 1000) matrix) of 1,000 training
    digits, and the test digits, as rows."""
    train, _ = mnist_matrix("train")
    test, _ = mnist_matrix("test")
    mean = train[:1000].mean(axis=0)
    _, _, vt = np.linalg.svd(train[:1000] - mean, full_matrices=False)
    return mean, vt.T, test[:INPAINT_N]


@exercise("restoration-inpaint-pca", title="In-painting by fitting the known pixels", chapter=CHAPTER)
def _check_inpaint_pca(fill_from_known):
    mean, axes, test = _pca_basis()
    for k, fraction, seed in INPAINT_CASES:
        images, mask = missing_pixels(test.reshape(-1, 28, 28), fraction, seed, fill=HOLE)
        images, mask = images.reshape(len(test), -1), mask.reshape(len(test), -1)
        what = f"fill_from_known({len(test)} digits with {fraction:.0%} of the pixels missing, k={k})"
        out = call(fill_from_known, images.copy(), mask.copy(), mean.copy(), axes[:, :k].copy())
        out = expect_array(out, images.shape, name=f"the result of {what}",
                           hint="return the images as rows, one per input row")
        changed = np.abs(out[~mask] - images[~mask]).max()
        if changed > 1e-6:
            raise WrongAnswer(
                f"{what} changed known pixels (by up to {changed:.3g}). In-painting keeps the observed "
                "pixels as they are and writes only into the missing ones (where the mask is True)"
            )
        got = psnr(test[mask], out[mask])
        mean_fill = psnr(test[mask], np.broadcast_to(mean, test.shape)[mask])
        if got < mean_fill + INPAINT_MARGIN:
            raise WrongAnswer(
                f"{what}: the missing pixels are restored to {got:.2f} dB; filling them with the mean digit "
                f"gives {mean_fill:.2f} dB, and a fit to the known pixels beats that by at least "
                f"{INPAINT_MARGIN:.0f} dB (a correct answer: about {INPAINT_TYPICAL_GAIN} dB). Find the code z "
                "that minimises the squared error between mean + components @ z and the image over the KNOWN "
                "pixels only (np.linalg.lstsq on the known rows of components, one image at a time), then fill "
                "the missing pixels from mean + components @ z. Projecting the whole image, hole included, "
                "fits the grey hole too"
            )
