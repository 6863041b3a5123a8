"""Checks of the exercises in chapters/03_compression.ipynb."""

from __future__ import annotations

import numpy as np

from autoencoders.exercises.core import WrongAnswer, call, exercise, expect_close, expect_number

CHAPTER = "03_compression"


@exercise("comp-quantise", title="Uniform quantisation of a code", chapter=CHAPTER)
def _check_quantise(quantise) -> None:
    rng = np.random.default_rng(0)
    for step in (1.0, 0.25, 3.0):
        z = rng.normal(scale=4.0, size=(5, 7))
        z[0, :3] = [-1.5 * step, -0.49 * step, 0.51 * step]
        got = call(quantise, z.copy(), step)
        expect_close(
            got, np.round(z / step) * step, name=f"quantise(z, step={step})",
            hint="round z / step to the nearest integer, then multiply by step again (negative values round too)",
        )


@exercise("comp-entropy", title="The rate of a quantised code from its empirical entropy", chapter=CHAPTER)
def _check_entropy(code_bits) -> None:
    rng = np.random.default_rng(1)
    for n, alphabet in ((1000, 4), (257, 9)):
        symbols = rng.integers(-alphabet // 2, alphabet // 2 + 1, size=n) * rng.integers(0, 2, size=n)
        _, counts = np.unique(symbols, return_counts=True)
        p = counts / n
        expected = float(n * -(p * np.log2(p)).sum())
        got = call(code_bits, symbols.copy())
        expect_number(
            got, expected, name=f"code_bits of {n} symbols", rtol=1e-6,
            hint="n times the entropy -sum p log2 p of the empirical frequencies (log base 2, total not per symbol)",
        )
    constant = np.zeros(50, dtype=np.int64)
    got = call(code_bits, constant)
    if abs(float(got)) > 1e-9:
        raise WrongAnswer(f"a constant code needs 0 bits under its own empirical distribution, got {float(got):.4g}")


def laplace_cdf(t, scale: float) -> np.ndarray:
    """The CDF of the Laplace distribution with mean 0 and ``scale`` b at ``t``."""
    t = np.asarray(t, dtype=np.float64)
    return np.where(t < 0, 0.5 * np.exp(np.minimum(t, 0) / scale), 1 - 0.5 * np.exp(-np.maximum(t, 0) / scale))


def laplace_bits_reference(q, scale: float) -> float:
    """-sum log2 P(q) for integers ``q`` rounded from a Laplace(0, scale) latent."""
    q = np.asarray(q, dtype=np.float64)
    return float(-np.log2(laplace_cdf(q + 0.5, scale) - laplace_cdf(q - 0.5, scale)).sum())


@exercise("comp-laplace-rate", title="The rate of rounded latents under a Laplace density", chapter=CHAPTER)
def _check_laplace_rate(laplace_bits) -> None:
    rng = np.random.default_rng(2)
    for scale in (0.3, 1.0, 4.0):
        q = np.round(rng.laplace(scale=scale, size=200)).astype(np.int64)
        q[:3] = [0, -1, 2]
        expect_number(
            call(laplace_bits, q.copy(), scale), laplace_bits_reference(q, scale),
            name=f"laplace_bits({len(q)} latents, scale={scale})", rtol=1e-6,
            hint="the probability of the integer q is F(q + 1/2) - F(q - 1/2) with the Laplace CDF F "
                 "(not the density at q); the rate is -log2 of it, summed over all latents",
        )
    single = call(laplace_bits, np.array([0]), 1.0)
    expect_number(single, -np.log2(1 - np.exp(-0.5)), name="laplace_bits([0], scale=1)", rtol=1e-6,
                  hint="P(0) = F(1/2) - F(-1/2) = 1 - exp(-1/2) for scale 1, so the rate is -log2 of that")


#: The digit codec of the target-rate exercise, and the window its rate must land in.
TARGET_MODEL = {"side": 28, "k": 16, "hidden": 128}
TARGET_BITS = (24.0, 36.0)  # bits per test digit, from the model's probabilities of the rounded code
TARGET_PSNR = 14.5  # dB on the test digits: the codec must still reconstruct them


def _digit_codec_outcome(train_codec, seed: int, part: slice) -> tuple[float, float]:
    """Train a fresh digit codec with ``train_codec(model, x)``; its bits per test digit and PSNR."""
    import torch

    from autoencoders import compression, data, metrics

    torch.manual_seed(seed)
    model = compression.DenseCompressionModel(**TARGET_MODEL)
    x_train, _ = data.mnist_tensors("train")
    model.train()
    call(train_codec, model, x_train[part])
    codec = compression.LearnedCodec(model)
    test, _ = data.load_mnist("test")
    test = test[:200]
    bits = float(np.mean([codec.estimated_bits(d) for d in test]))
    decoded = np.stack([codec.reconstruct(d) for d in test])
    return bits, metrics.psnr(test, decoded, 255.0)


@exercise("comp-target-rate", title="Train the digit codec to a target rate", chapter=CHAPTER)
def _check_target_rate(train_codec) -> None:
    lo, hi = TARGET_BITS
    for seed, part in ((0, slice(0, 3000)), (1, slice(1000, 4000))):  # two starts, two subsets
        _check_one_codec(*_digit_codec_outcome(train_codec, seed, part), lo, hi)


def _check_one_codec(bits: float, psnr: float, lo: float, hi: float) -> None:
    if psnr < 10.0:
        raise WrongAnswer(
            f"the test digits come back at {psnr:.2f} dB, as from an untrained codec: train_codec must "
            "train the model it is given (in place) on the rate-distortion loss, e.g. with ae.training.fit"
        )
    if not lo <= bits <= hi:
        more = "fewer" if bits > hi else "more"
        raise WrongAnswer(
            f"the trained codec spends {bits:.1f} bits per test digit; the target is {lo:g} to {hi:g}. "
            f"To spend {more} bits, {'lower' if more == 'fewer' else 'raise'} lambda (the weight of the "
            "distortion): the sweep above shows how the rate moves with lambda"
        )
    if psnr < TARGET_PSNR:
        raise WrongAnswer(
            f"the rate is on target ({bits:.1f} bits per digit) but the test digits come back at only "
            f"{psnr:.2f} dB (at least {TARGET_PSNR} dB expected): train on the rate-distortion loss "
            "for a few epochs so the decoder learns to use the bits"
        )
