"""Checks of the exercises in chapters/03_compression.ipynb."""

from __future__ import annotations

import numpy as np

from autoencoders.exercises.core import WrongAnswer, call, exercise, expect_close, expect_number

CHAPTER = "03_compression"


@exercise("comp-bpp", title="Bits per pixel from bytes", chapter=CHAPTER)
def _check_bpp(bits_per_pixel) -> None:
    cases = [(b"\x00" * 100, (28, 28)), (b"\x01" * 5908, (512, 768, 3)), (b"", (10, 20)), (b"ab", (1, 1))]
    for data, shape in cases:
        got = call(bits_per_pixel, data, shape)
        expect_number(
            got, 8.0 * len(data) / (shape[0] * shape[1]), name=f"bits_per_pixel({len(data)} bytes, {shape})",
            hint="a byte has 8 bits, and a pixel is one position (h, w): colour channels are not extra pixels",
        )


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
