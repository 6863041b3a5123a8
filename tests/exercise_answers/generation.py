"""Plausible wrong answers to the exercises of chapter 05_generation."""

import math

import numpy as np
import torch


def digits_with_ceil(base, exponent):
    return math.ceil(exponent * math.log10(base))


def digits_without_plus_one(base, exponent):
    return int(exponent * math.log10(base))


def digits_natural_log(base, exponent):
    return math.floor(exponent * math.log(base)) + 1


def digits_rounded(base, exponent):
    return round(exponent * math.log10(base))


def codes_without_mean(codes, eps):
    return eps @ np.linalg.cholesky(np.cov(codes, rowvar=False)).T


def codes_independent_dimensions(codes, eps):
    return codes.mean(axis=0) + eps * codes.std(axis=0, ddof=1)


def codes_times_covariance(codes, eps):
    return codes.mean(axis=0) + eps @ np.cov(codes, rowvar=False)


def codes_cholesky_not_transposed(codes, eps):
    return codes.mean(axis=0) + eps @ np.linalg.cholesky(np.cov(codes, rowvar=False))


def codes_standard_normal(codes, eps):
    return eps


def reparam_variance_not_std(mu, logvar, eps):
    return mu + torch.exp(logvar) * eps


def reparam_logvar_as_std(mu, logvar, eps):
    return mu + logvar * eps


def reparam_detached(mu, logvar, eps):
    return (mu + torch.exp(0.5 * logvar) * eps).detach()


def reparam_through_numpy(mu, logvar, eps):
    return torch.as_tensor(mu.detach().numpy() + np.exp(0.5 * logvar.detach().numpy()) * eps.numpy())


def reparam_ignores_eps(mu, logvar, eps):
    return torch.normal(mu, torch.exp(0.5 * logvar))


def kl_without_half(mu, logvar):
    return (mu**2 + logvar.exp() - 1 - logvar).sum(dim=1)


def kl_logvar_as_variance(mu, logvar):
    return 0.5 * (mu**2 + logvar - 1 - torch.log(logvar)).sum(dim=1)


def kl_mean_over_dimensions(mu, logvar):
    return 0.5 * (mu**2 + logvar.exp() - 1 - logvar).mean(dim=1)


def kl_not_summed(mu, logvar):
    return 0.5 * (mu**2 + logvar.exp() - 1 - logvar)


def kl_sign_of_log_term(mu, logvar):
    return 0.5 * (mu**2 + logvar.exp() - 1 + logvar).sum(dim=1)


WRONG_ANSWERS = {
    "gen-count": [
        ("ceil(log10) instead of floor(log10) + 1 (wrong for powers of ten)", digits_with_ceil),
        ("forgot the + 1", digits_without_plus_one),
        ("natural logarithm instead of log10", digits_natural_log),
        ("rounded the logarithm", digits_rounded),
    ],
    "gen-fitted-gaussian": [
        ("forgot to add the mean", codes_without_mean),
        ("standard deviations only, ignoring correlations", codes_independent_dimensions),
        ("multiplied by the covariance instead of its square root", codes_times_covariance),
        ("eps @ L instead of eps @ L.T", codes_cholesky_not_transposed),
        ("returned the noise unchanged", codes_standard_normal),
    ],
    "gen-reparam": [
        ("multiplied by the variance instead of the standard deviation", reparam_variance_not_std),
        ("used logvar as the standard deviation", reparam_logvar_as_std),
        ("detached z, so no gradient flows", reparam_detached),
        ("computed z in numpy", reparam_through_numpy),
        ("drew fresh noise instead of using eps", reparam_ignores_eps),
    ],
    "gen-kl": [
        ("forgot the factor 1/2", kl_without_half),
        ("treated logvar as the variance", kl_logvar_as_variance),
        ("averaged over the k dimensions instead of summing", kl_mean_over_dimensions),
        ("did not sum over the dimensions", kl_not_summed),
        ("wrong sign of the log-variance term", kl_sign_of_log_term),
    ],
}
