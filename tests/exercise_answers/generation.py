"""Plausible wrong answers to the exercises of chapter 05_generation."""

import math

import numpy as np
import torch
import torch.nn.functional as F


def _terms(model, x):
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    x = x.reshape(len(x), -1)
    distortion = F.binary_cross_entropy_with_logits(model.decode_logits(z), x, reduction="none").sum(1)
    return mu, logvar, z, x, distortion


def _kl(mu, logvar):
    return 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1)


def loss_kl_wrong_sign(model, x, beta=1.0):
    mu, logvar, _, _, distortion = _terms(model, x)
    return (distortion - beta * _kl(mu, logvar)).mean()


def loss_decodes_the_mean(model, x, beta=1.0):
    mu, logvar = model.encode(x)
    x = x.reshape(len(x), -1)
    distortion = F.binary_cross_entropy_with_logits(model.decode_logits(mu), x, reduction="none").sum(1)
    return (distortion + beta * _kl(mu, logvar)).mean()


def loss_kl_summed_over_batch(model, x, beta=1.0):
    mu, logvar, _, _, distortion = _terms(model, x)
    return distortion.mean() + beta * _kl(mu, logvar).sum()


def loss_draw_without_gradient(model, x, beta=1.0):
    mu, logvar = model.encode(x)
    z = torch.normal(mu, torch.exp(0.5 * logvar))
    x = x.reshape(len(x), -1)
    distortion = F.binary_cross_entropy_with_logits(model.decode_logits(z), x, reduction="none").sum(1)
    return (distortion + beta * _kl(mu, logvar)).mean()


def loss_pixel_mean(model, x, beta=1.0):
    mu, logvar, z, x, _ = _terms(model, x)
    distortion = F.binary_cross_entropy_with_logits(model.decode_logits(z), x, reduction="none").mean(1)
    return (distortion + beta * _kl(mu, logvar)).mean()


def loss_kl_without_half(model, x, beta=1.0):
    mu, logvar, _, _, distortion = _terms(model, x)
    return (distortion + beta * 2 * _kl(mu, logvar)).mean()


def loss_beta_on_distortion(model, x, beta=1.0):
    mu, logvar, _, _, distortion = _terms(model, x)
    return (beta * distortion + _kl(mu, logvar)).mean()


def loss_per_image(model, x, beta=1.0):
    mu, logvar, _, _, distortion = _terms(model, x)
    return distortion + beta * _kl(mu, logvar)


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


def _log_weights(log_joint, mu, logvar, m, with_q=True):
    z = mu + torch.exp(0.5 * logvar) * torch.randn(m, len(mu), dtype=mu.dtype)
    log_q = -0.5 * (math.log(2 * math.pi) + logvar + (z - mu) ** 2 / logvar.exp()).sum(1)
    return log_joint(z) - (log_q if with_q else 0)


def bound_mean_of_logs(log_joint, mu, logvar, m):
    return _log_weights(log_joint, mu, logvar, m).mean()


def bound_sum_of_weights(log_joint, mu, logvar, m):
    return torch.logsumexp(_log_weights(log_joint, mu, logvar, m), 0)


def bound_without_q(log_joint, mu, logvar, m):
    return torch.logsumexp(_log_weights(log_joint, mu, logvar, m, with_q=False), 0) - math.log(m)


def bound_std_as_variance(log_joint, mu, logvar, m):
    z = mu + torch.exp(0.5 * logvar) * torch.randn(m, len(mu), dtype=mu.dtype)
    log_q = -0.5 * (math.log(2 * math.pi) + logvar + (z - mu) ** 2 / torch.exp(0.5 * logvar)).sum(1)
    return torch.logsumexp(log_joint(z) - log_q, 0) - math.log(m)


def closest_start_codes(decode, x, z0):
    return z0


def closest_without_zero_grad(decode, x, z0, steps=500):
    z = z0.detach().clone().requires_grad_(True)
    optimiser = torch.optim.Adam([z], lr=0.05)
    for _ in range(steps):
        ((decode(z) - x) ** 2).sum().backward()
        optimiser.step()
    return z.detach()


def closest_small_steps_on_mean(decode, x, z0, steps=500):
    z = z0.detach().clone().requires_grad_(True)
    for _ in range(steps):
        (grad,) = torch.autograd.grad(F.mse_loss(decode(z), x), z)
        with torch.no_grad():
            z -= 0.01 * grad
    return z.detach()


def closest_uphill(decode, x, z0, steps=500):
    z = z0.detach().clone().requires_grad_(True)
    for _ in range(steps):
        (grad,) = torch.autograd.grad(((decode(z) - x) ** 2).sum(), z)
        with torch.no_grad():
            z += 0.01 * grad
    return z.detach()


def closest_returns_images(decode, x, z0, steps=500):
    z = z0.detach().clone().requires_grad_(True)
    optimiser = torch.optim.Adam([z], lr=0.05)
    for _ in range(steps):
        optimiser.zero_grad()
        ((decode(z) - x) ** 2).sum().backward()
        optimiser.step()
    return decode(z).detach()


WRONG_ANSWERS = {
    "gen-vae-loss": [
        ("KL with the wrong sign", loss_kl_wrong_sign),
        ("decodes the mean code: no reparameterisation", loss_decodes_the_mean),
        ("KL summed over the batch, distortion averaged", loss_kl_summed_over_batch),
        ("draws z with torch.normal: no gradient through the draw", loss_draw_without_gradient),
        ("distortion averaged over pixels", loss_pixel_mean),
        ("KL without the factor 1/2", loss_kl_without_half),
        ("beta on the distortion", loss_beta_on_distortion),
        ("one loss per image, not a scalar", loss_per_image),
    ],
    "gen-fitted-gaussian": [
        ("forgot to add the mean", codes_without_mean),
        ("standard deviations only, ignoring correlations", codes_independent_dimensions),
        ("multiplied by the covariance instead of its square root", codes_times_covariance),
        ("eps @ L instead of eps @ L.T", codes_cholesky_not_transposed),
        ("returned the noise unchanged", codes_standard_normal),
    ],
    "gen-iw-bound": [
        ("mean of the log-weights (the ELBO)", bound_mean_of_logs),
        ("sum of the weights, not their mean", bound_sum_of_weights),
        ("forgot log q(z)", bound_without_q),
        ("divided by the standard deviation in log q", bound_std_as_variance),
    ],
    "gen-closest-code": [
        ("returns the encoder's codes: f(x) taken for the nearest point of S", closest_start_codes),
        ("Adam without zero_grad: gradients add up", closest_without_zero_grad),
        ("plain steps of 0.01 on the mean squared error: hardly moves", closest_small_steps_on_mean),
        ("steps uphill: z + lr * grad", closest_uphill),
        ("returns the decoded images, not the codes", closest_returns_images),
    ],
}


# --- correct answers written differently from the reference -----------------------------------

def loss_sampled_kl(model, x, beta=1.0):
    """Kingma and Welling's one-sample rate: log q(z | x) - log p(z) at the drawn z."""
    mu, logvar = model.encode(x)
    eps = torch.randn_like(mu)
    z = mu + torch.exp(0.5 * logvar) * eps
    log_q = -0.5 * (math.log(2 * math.pi) + logvar + eps**2).sum(1)
    log_p = -0.5 * (math.log(2 * math.pi) + z**2).sum(1)
    targets = x.reshape(len(x), -1)
    distortion = F.binary_cross_entropy_with_logits(model.decode_logits(z), targets, reduction="none").sum(1)
    return (distortion + beta * (log_q - log_p)).mean()


def loss_with_distributions(model, x, beta=1.0):
    """torch.distributions: rsample, a Bernoulli log-likelihood and the library's closed-form KL."""
    D = torch.distributions
    mu, logvar = model.encode(x)
    q = D.Normal(mu, torch.exp(0.5 * logvar))
    z = q.rsample()
    log_lik = -F.binary_cross_entropy_with_logits(model.decode_logits(z), x.flatten(1), reduction="none")
    rate = D.kl_divergence(q, D.Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    return torch.mean(-log_lik.sum(-1) + beta * rate)


def loss_sampled_log_prob(model, x, beta=1.0):
    """One-sample rate from an Independent Normal's log_prob; the loss summed, then divided by n."""
    D = torch.distributions
    mu, logvar = model.encode(x)
    q = D.Independent(D.Normal(mu, torch.exp(0.5 * logvar)), 1)
    prior = D.Independent(D.Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    z = q.rsample()
    bce = F.binary_cross_entropy_with_logits(model.decode_logits(z), x.reshape(len(x), -1), reduction="sum")
    return (bce + beta * (q.log_prob(z) - prior.log_prob(z)).sum()) / len(x)


def codes_symmetric_square_root(codes, eps):
    """The symmetric square root of the covariance (eigendecomposition) instead of Cholesky."""
    mean = codes.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(codes, rowvar=False))
    root = vectors @ np.diag(np.sqrt(values)) @ vectors.T
    return mean + eps @ root


def codes_loop_biased_covariance(codes, eps):
    """The covariance written out with 1/n (ddof 0), one code at a time, with torch's Cholesky."""
    centred = codes - codes.mean(axis=0)
    cov = centred.T @ centred / len(codes)
    L = torch.linalg.cholesky(torch.as_tensor(cov)).numpy()
    return np.stack([codes.mean(axis=0) + L @ e for e in eps])


def bound_with_distributions(log_joint, mu, logvar, m):
    """torch.distributions.Normal's rsample and log_prob."""
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    z = q.rsample((m,))
    log_w = log_joint(z) - q.log_prob(z).sum(-1)
    return torch.logsumexp(log_w, 0) - math.log(m)


def bound_max_shift(log_joint, mu, logvar, m):
    """A log-mean-exp by hand (shift by the largest log-weight), log q from the standard normal
    eps, returned as a float."""
    sigma = torch.exp(0.5 * logvar)
    eps = torch.randn(m, len(mu), dtype=mu.dtype)
    z = mu + sigma * eps
    log_q = (-0.5 * math.log(2 * math.pi) - torch.log(sigma) - 0.5 * eps**2).sum(1)
    log_w = log_joint(z) - log_q
    top = log_w.max()
    return float(top + torch.log(torch.exp(log_w - top).mean()))


def closest_lbfgs(decode, x, z0):
    """L-BFGS on the summed squared error."""
    z = z0.detach().clone().requires_grad_(True)
    optimiser = torch.optim.LBFGS([z], lr=1, max_iter=500, line_search_fn="strong_wolfe",
                                  tolerance_grad=1e-9, tolerance_change=1e-12)

    def closure():
        optimiser.zero_grad()
        loss = ((decode(z) - x) ** 2).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    return z.detach()


def closest_plain_steps(decode, x, z0, steps=1000, lr=0.02):
    """Plain gradient steps on the summed squared error, by torch.autograd.grad, as NumPy."""
    z = z0.detach().clone().requires_grad_(True)
    for _ in range(steps):
        (grad,) = torch.autograd.grad(((decode(z) - x) ** 2).sum(), z)
        with torch.no_grad():
            z -= lr * grad
    return z.detach().numpy()


CORRECT_ANSWERS = {
    "gen-vae-loss": [
        ("a one-sample rate log q(z|x) - log p(z) at the drawn z (Kingma and Welling)", loss_sampled_kl),
        ("torch.distributions: rsample and kl_divergence", loss_with_distributions),
        ("a one-sample rate from log_prob, in a loop over images", loss_sampled_log_prob),
    ],
    "gen-fitted-gaussian": [
        ("the symmetric square root of the covariance", codes_symmetric_square_root),
        ("covariance with 1/n, torch's Cholesky, a loop over the codes", codes_loop_biased_covariance),
    ],
    "gen-iw-bound": [
        ("torch.distributions.Normal rsample and log_prob", bound_with_distributions),
        ("a log-mean-exp by hand, log q from eps, a float", bound_max_shift),
    ],
    "gen-closest-code": [
        ("L-BFGS with a line search", closest_lbfgs),
        ("plain gradient steps on the summed error, codes as NumPy", closest_plain_steps),
    ],
}
