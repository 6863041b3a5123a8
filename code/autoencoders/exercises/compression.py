"""Checks of the exercises in chapters/03_compression.ipynb."""

from __future__ import annotations

import numpy as np

from autoencoders.exercises.core import WrongAnswer, call, exercise, expect_array, expect_close, expect_number

CHAPTER = "03_compression"


#: The example of the statement: ``quantise(QUANTISE_EXAMPLE_Z, QUANTISE_EXAMPLE_STEP)`` returns
#: ``QUANTISE_EXAMPLE_OUT``.
QUANTISE_EXAMPLE_Z = (0.3, -0.8, 1.1)
QUANTISE_EXAMPLE_STEP = 0.5
QUANTISE_EXAMPLE_OUT = (0.5, -1.0, 1.0)


def _check_quantised(got, z: np.ndarray, step: float, name: str) -> None:
    """``got`` holds a nearest multiple of ``step`` for each entry of ``z``; at an exact tie either one."""
    ratio = z / step
    expected = np.round(ratio) * step
    tie = ratio - np.floor(ratio) == 0.5  # exactly halfway: both neighbours are nearest
    got = np.asarray(expect_array(got, z.shape, name), dtype=np.float64)
    for neighbour in (np.floor(ratio) * step, np.ceil(ratio) * step):
        expected = np.where(tie & np.isclose(got, neighbour, rtol=1e-6, atol=1e-8), got, expected)
    expect_close(
        got, expected, name=name,
        hint="round z / step to the nearest integer, then multiply by step again (negative values "
             "round too; at an exact tie either neighbour is accepted)",
    )


@exercise("comp-quantise", title="Uniform quantisation of a code", chapter=CHAPTER)
def _check_quantise(quantise) -> None:
    example = np.array(QUANTISE_EXAMPLE_Z)
    _check_quantised(call(quantise, example.copy(), QUANTISE_EXAMPLE_STEP), example,
                     QUANTISE_EXAMPLE_STEP, f"quantise({list(QUANTISE_EXAMPLE_Z)}, {QUANTISE_EXAMPLE_STEP})")
    rng = np.random.default_rng(0)
    for step in (1.0, 0.25, 3.0):
        z = rng.normal(scale=4.0, size=(5, 7))
        z[0, :5] = [-1.5 * step, -0.49 * step, 0.51 * step, 2.5 * step, -0.5 * step]  # ties and near-ties
        _check_quantised(call(quantise, z.copy(), step), z, step, f"quantise(z, step={step})")


#: The example of the statement: ``code_bits(ENTROPY_EXAMPLE)`` is ``ENTROPY_EXAMPLE_BITS``
#: (frequencies 1/4, 1/4, 1/2: 1.5 bits per value, 8 values).
ENTROPY_EXAMPLE = (0, 0, 1, 1, 2, 2, 2, 2)
ENTROPY_EXAMPLE_BITS = 12.0


@exercise("comp-entropy", title="The rate of a quantised code from its empirical entropy", chapter=CHAPTER)
def _check_entropy(code_bits) -> None:
    hint = ("len(symbols) times the entropy -sum p log2 p of the empirical frequencies "
            "(log base 2, total not per symbol)")
    got = call(code_bits, np.array(ENTROPY_EXAMPLE, dtype=np.int64))
    expect_number(got, ENTROPY_EXAMPLE_BITS, name=f"code_bits({list(ENTROPY_EXAMPLE)})", rtol=1e-6, hint=hint)
    rng = np.random.default_rng(1)
    for n, alphabet in ((1000, 4), (257, 9)):
        symbols = rng.integers(-alphabet // 2, alphabet // 2 + 1, size=n) * rng.integers(0, 2, size=n)
        _, counts = np.unique(symbols, return_counts=True)
        p = counts / n
        expected = float(n * -(p * np.log2(p)).sum())
        got = call(code_bits, symbols.copy())
        expect_number(got, expected, name=f"code_bits of {n} symbols", rtol=1e-6, hint=hint)
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


#: The example of the statement: ``laplace_bits(np.array([0]), LAPLACE_EXAMPLE_SCALE)``, in bits.
LAPLACE_EXAMPLE_SCALE = 1.0
LAPLACE_EXAMPLE_BITS = float(-np.log2(1 - np.exp(-0.5 / LAPLACE_EXAMPLE_SCALE)))


@exercise("comp-laplace-rate", title="The rate of rounded latents under a Laplace density", chapter=CHAPTER)
def _check_laplace_rate(laplace_bits) -> None:
    single = call(laplace_bits, np.array([0]), LAPLACE_EXAMPLE_SCALE)
    expect_number(single, LAPLACE_EXAMPLE_BITS, name=f"laplace_bits([0], b={LAPLACE_EXAMPLE_SCALE:g})", rtol=1e-6,
                  hint="P(0) = F(1/2) - F(-1/2) = 1 - exp(-1/(2b)), the probability of the unit interval around 0 "
                       "(not the density at 0); the rate is -log2 of it, in bits")
    rng = np.random.default_rng(2)
    for scale in (0.3, 1.0, 4.0):
        q = np.round(rng.laplace(scale=scale, size=200)).astype(np.int64)
        q[:3] = [0, -1, 2]
        expect_number(
            call(laplace_bits, q.copy(), scale), laplace_bits_reference(q, scale),
            name=f"laplace_bits({len(q)} latents, b={scale})", rtol=1e-6,
            hint="the probability of the integer q is F(q + 1/2) - F(q - 1/2) with the Laplace CDF F "
                 "(not the density at q); the rate is -log2 of it, summed over all latents",
        )


#: The digit codec of the target-rate exercise, and the window its rate must land in.
TARGET_MODEL = {"side": 28, "k": 16, "hidden": 128}
TARGET_BITS = (24.0, 36.0)  # bits per test digit, from the model's probabilities of the rounded code
TARGET_PSNR = 14.5  # dB on the test digits: the codec must still reconstruct them
#: The check trains two fresh models: (seed, training digits) for each.
TARGET_RUNS = ((0, slice(0, 3000)), (1, slice(1000, 4000)))
TARGET_N_TRAIN = {part.stop - part.start for _, part in TARGET_RUNS}.pop()  # training digits per run
TARGET_N_TEST = 200  # test digits the bits and the PSNR are measured on


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
    test = test[:TARGET_N_TEST]
    bits = float(np.mean([codec.estimated_bits(d) for d in test]))
    decoded = np.stack([codec.reconstruct(d) for d in test])
    return bits, metrics.psnr(test, decoded, 255.0)


@exercise("comp-target-rate", title="Train the digit codec to a target rate", chapter=CHAPTER)
def _check_target_rate(train_codec) -> None:
    lo, hi = TARGET_BITS
    for seed, part in TARGET_RUNS:  # two starts, two subsets
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
