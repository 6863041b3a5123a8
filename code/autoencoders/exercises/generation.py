"""Checks of the exercises of chapter ``05_generation``: counting images with logarithms, drawing
codes from a Gaussian fitted to training codes, the reparameterisation trick and the KL term of
the ELBO."""

from __future__ import annotations

import numpy as np
import torch

from autoencoders.exercises.core import WrongAnswer, call, exercise, expect_array, expect_close, expect_number

CHAPTER = "05_generation"


@exercise("gen-count", title="Counting images with logarithms", chapter=CHAPTER)
def _check_count(n_digits):
    # (10, 3) is an exact power of ten: 1000 has 4 digits, the case where ceil() is wrong.
    for base, exponent, expected in [(2, 10, 4), (10, 3, 4), (11, 1024, 1067), (256, 49152, 118370), (7, 1, 1)]:
        got = call(n_digits, base, exponent)
        expect_number(
            got, expected, name=f"n_digits({base}, {exponent}), the number of decimal digits of {base}**{exponent}",
            hint="a positive integer N has floor(log10(N)) + 1 digits, and log10(b**n) = n * log10(b)", rtol=0,
        )


def _fitted_covariances(codes: np.ndarray) -> list[np.ndarray]:
    return [np.cov(codes, rowvar=False, ddof=ddof) for ddof in (1, 0)]


@exercise("gen-fitted-gaussian", title="Codes from a fitted Gaussian", chapter=CHAPTER)
def _check_fitted_gaussian(fitted_gaussian_codes):
    rng = np.random.default_rng(0)
    for n, k in [(200, 3), (50, 2)]:
        mixing = rng.normal(size=(k, k)) + 2 * np.eye(k)  # correlated codes with nonzero mean
        codes = rng.normal(size=(n, k)) @ mixing + rng.normal(scale=3.0, size=k)
        mean = codes.mean(axis=0)
        at_zero = expect_array(call(fitted_gaussian_codes, codes, np.zeros((4, k))), (4, k),
                               name=f"fitted_gaussian_codes(codes, eps) for eps of zeros, shape (4, {k})")
        expect_close(at_zero, np.tile(mean, (4, 1)), name="the codes for eps = 0",
                     hint="with eps = 0 every code is the mean of the training codes")
        # With eps = I the rows are mean + the rows of B, and codes mean + eps @ B have covariance B^T B.
        B = expect_array(call(fitted_gaussian_codes, codes, np.eye(k)), (k, k),
                         name=f"fitted_gaussian_codes(codes, eps) for eps = np.eye({k})") - mean
        covariance = B.T @ B
        if not any(np.allclose(covariance, c, rtol=1e-6, atol=1e-8) for c in _fitted_covariances(codes)):
            target = _fitted_covariances(codes)[0]
            if np.allclose(np.diag(covariance), np.diag(target), rtol=1e-6):
                raise WrongAnswer("your codes have the right variance in each dimension but not the right "
                                  "correlations between dimensions. Hint: use a matrix square root of the covariance "
                                  "(np.linalg.cholesky), not the standard deviations alone")
            raise WrongAnswer("the codes you draw do not have the covariance of the training codes. Hint: with "
                              "L = np.linalg.cholesky(C), mean + eps @ L.T has covariance L L^T = C")
        eps = rng.normal(size=(6, k))
        expect_close(call(fitted_gaussian_codes, codes, eps), mean + eps @ B, name=f"the codes for eps of shape (6, {k})",
                     hint="each code should be the mean plus a fixed linear map of its row of eps")


@exercise("gen-reparam", title="The reparameterisation trick", chapter=CHAPTER)
def _check_reparam(reparameterise):
    gen = torch.Generator().manual_seed(0)
    for shape in [(5, 3), (2, 16)]:
        mu = torch.randn(shape, generator=gen, dtype=torch.float64).requires_grad_()
        logvar = torch.randn(shape, generator=gen, dtype=torch.float64).requires_grad_()
        eps = torch.randn(shape, generator=gen, dtype=torch.float64)
        std = torch.exp(0.5 * logvar.detach())
        z = call(reparameterise, mu, logvar, eps)
        expect_close(z, mu.detach() + std * eps, name=f"reparameterise(mu, logvar, eps) for shape {shape}",
                     hint="logvar is the log of the variance; the standard deviation is exp(logvar / 2)")
        if not isinstance(z, torch.Tensor) or not z.requires_grad:
            raise WrongAnswer("z carries no gradient back to mu and logvar, so the encoder could not learn. "
                              "Hint: compute z from mu and logvar with torch operations, without .detach() or numpy")
        z.sum().backward()
        if mu.grad is None or logvar.grad is None:
            raise WrongAnswer("z depends on only one of mu and logvar; the gradient must reach both")
        expect_close(mu.grad, torch.ones(shape), name="dz/dmu", hint="z = mu + sigma * eps, so dz/dmu = 1")
        expect_close(logvar.grad, 0.5 * std * eps, name="dz/dlogvar", hint="sigma = exp(logvar / 2)")


@exercise("gen-kl", title="The KL term of the ELBO", chapter=CHAPTER)
def _check_kl(kl_to_standard_normal):
    gen = torch.Generator().manual_seed(1)
    zero = call(kl_to_standard_normal, torch.zeros(3, 4), torch.zeros(3, 4))
    expect_close(zero, np.zeros(3), name="kl_to_standard_normal for mu = 0, logvar = 0 (three rows)",
                 hint="N(0, I) does not differ from itself: the KL is 0 for each row", atol=1e-7)
    for n, k in [(4, 2), (3, 16)]:
        mu = torch.randn(n, k, generator=gen, dtype=torch.float64)
        logvar = torch.randn(n, k, generator=gen, dtype=torch.float64)
        expected = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(dim=1)
        expect_close(call(kl_to_standard_normal, mu, logvar), expected,
                     name=f"kl_to_standard_normal(mu, logvar) for shape ({n}, {k})",
                     hint="one KL per row, summed over the k dimensions: 0.5 * sum(mu^2 + sigma^2 - 1 - log sigma^2)")
