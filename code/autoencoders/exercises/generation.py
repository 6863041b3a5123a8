"""Checks of the exercises of chapter ``05_generation``: the nearest point of S, found by
optimising a code; the VAE's loss, trained to a bound; drawing codes from a Gaussian fitted to
training codes; and the importance-weighted bound, which tightens the ELBO as Jensen's inequality
says it should."""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch import nn

from autoencoders import data as _data
from autoencoders.exercises.core import WrongAnswer, call, expect_array, expect_close, exercise
from autoencoders.generation import bernoulli_nll, gaussian_kl
from autoencoders.models import VAE, MLPAutoencoder
from autoencoders.training import fit

CHAPTER = "05_generation"


# --- gen-vae-loss ----------------------------------------------------------------------------------

class _Probe(nn.Module):
    """A VAE-shaped model whose answer is known: q(z | x) = N(mu, diag(exp(logvar))) for every
    image, and a linear decoder ``logits = z W + c`` on images of 2x2 pixels."""

    def __init__(self, mu, logvar, weight, bias) -> None:
        super().__init__()
        self.mu = nn.Parameter(torch.tensor(mu, dtype=torch.float64))
        self.logvar = nn.Parameter(torch.tensor(logvar, dtype=torch.float64))
        self.register_buffer("weight", torch.tensor(weight, dtype=torch.float64))
        self.register_buffer("bias", torch.tensor(bias, dtype=torch.float64))
        self.k, self.d = self.weight.shape

    def encode(self, x):
        n = len(x)
        return self.mu.expand(n, -1), self.logvar.expand(n, -1)

    reparameterise = staticmethod(VAE.reparameterise)

    def decode_logits(self, z):
        return z @ self.weight + self.bias

    def decode(self, z):
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x):
        return self.decode(self.encode(x)[0]).reshape(x.shape)


_PIXELS = torch.tensor([1.0, 0.0, 0.75, 0.25], dtype=torch.float64)
_MU, _LOGVAR = [0.8, -0.5], [-0.7, 0.4]
_WEIGHT = [[2.0, -1.5, 1.0, 0.0], [-1.0, 2.0, 0.5, 1.5]]
_BIAS = [0.3, -0.2, 0.1, 0.0]


def _images(n):
    return _PIXELS.repeat(n, 1).reshape(n, 1, 2, 2)


def _loss(vae_loss, model, n, beta, seed, name):
    torch.manual_seed(seed)
    value = call(vae_loss, model, _images(n), beta)
    if not isinstance(value, torch.Tensor):
        raise WrongAnswer(f"{name} returned {type(value).__name__}, expected a torch scalar that "
                          "carries gradients. Hint: compute the loss with torch operations only")
    if value.numel() != 1:
        raise WrongAnswer(f"{name} returned a tensor of shape {tuple(value.shape)}, expected a scalar. "
                          "Hint: average the per-image losses over the batch with .mean()")
    return value.reshape(())


def _true_kl(mu, logvar):
    return float(gaussian_kl(torch.tensor(mu), torch.tensor(logvar)))


VAE_LOSS_MARGIN = 25  # nats below the code-free model that the trained VAE must reach
VAE_LOSS_TYPICAL = 44  # nats below it that a correct loss reaches (measured 43.4 to 43.9, either rate)
VAE_N_TRAIN, VAE_N_TEST = 1000, 500  # digits the check trains the small VAE on, and tests it on
_COPIES = 4000  # copies of one image in a probe: the mean over them averages out the drawn codes


def code_free_nelbo() -> float:
    """The test -ELBO (nats per image) of the best model that ignores its code, on the check's 500
    test digits: Bernoulli pixels with the training digits' mean as probabilities."""
    x_train = _data.mnist_tensors("train")[0][:VAE_N_TRAIN]
    x_test = _data.mnist_tensors("test")[0][:VAE_N_TEST]
    p = x_train.reshape(len(x_train), -1).mean(0).clamp(1e-3, 1 - 1e-3)
    return float(bernoulli_nll(torch.logit(p).expand(len(x_test), -1), x_test).mean())


def _per_image_terms(model, draws=200_000):
    """Per-draw distortion, the closed-form rate, and the one-sample rate log q(z) - log p(z), with
    the gradients of both losses (closed-form and one-sample rate) per draw, for the probe."""
    gen = torch.Generator().manual_seed(0)
    eps = torch.randn(draws, model.k, generator=gen, dtype=torch.float64)
    out = {}
    for form in ("closed", "sampled"):
        mu = model.mu.detach().repeat(draws, 1).requires_grad_(True)
        logvar = model.logvar.detach().repeat(draws, 1).requires_grad_(True)
        z = mu + torch.exp(0.5 * logvar) * eps
        distortion = bernoulli_nll(model.decode_logits(z), _PIXELS.repeat(draws, 1))
        if form == "closed":
            rate = gaussian_kl(mu, logvar)
        else:  # log q(z | x) - log p(z); the log(2 pi) terms cancel
            rate = (-0.5 * (logvar + eps**2) + 0.5 * z**2).sum(1)
        (distortion + rate).sum().backward()
        out[form] = (distortion.detach(), rate.detach(), torch.cat([mu.grad, logvar.grad], 1))
    return out


def _mismatch(got, expected, spread, n):
    """True when ``got`` is further from ``expected`` than the noise of a mean of n draws allows."""
    return abs(got - expected) > 6 * spread / math.sqrt(n) + 1e-6


@exercise("gen-vae-loss", title="The VAE loss, trained to a bound", chapter=CHAPTER)
def _check_vae_loss(vae_loss):
    zero = [0.0, 0.0]
    # 1. The distortion alone: q = prior (rate 0, closed-form and sampled alike) and a decoder
    # that ignores z.
    flat = _Probe(zero, zero, np.zeros((2, 4)), _BIAS)
    distortion = float(bernoulli_nll(flat.bias[None], _PIXELS[None]))
    got = _loss(vae_loss, flat, 8, 1.0, 0, "vae_loss(model, x, beta=1)").item()
    if abs(got - distortion) > 1e-6:
        if abs(got - distortion / 4) < 1e-6:
            raise WrongAnswer("the distortion is averaged over the pixels; -log p(x | z) of an image is the "
                              "binary cross-entropy SUMMED over its pixels (and then averaged over the batch)")
        raise WrongAnswer(f"with q equal to the prior (rate 0) and a decoder that ignores z, the loss is the "
                          f"distortion alone, {distortion:.4f} nats for this image; got {got:.4f}. Hint: "
                          "-log p(x | z) = sum over pixels of F.binary_cross_entropy_with_logits(logits, x) "
                          "with x flattened to rows like the logits")
    # 2. The rate: the same decoder, a q that differs from the prior. A one-sample rate is noisy,
    # so the loss is judged on many copies of one image, within the noise of their mean.
    rate = _true_kl(_MU, _LOGVAR)
    shifted = _Probe(_MU, _LOGVAR, np.zeros((2, 4)), _BIAS)
    rate_spread = float(_per_image_terms(shifted)["sampled"][1].std())
    small, large = (_loss(vae_loss, shifted, n, 1.0, 0, "vae_loss").item() for n in (_COPIES // 4, _COPIES))
    if abs(small - large) > 6 * rate_spread * math.sqrt(4 / _COPIES + 1 / _COPIES) + 1e-6:
        raise WrongAnswer(f"the loss changes with the batch size: {small:.4f} for {_COPIES // 4:,} copies of one "
                          f"image, {large:.4f} for {_COPIES:,}, more than the drawn codes explain; a mean over "
                          "the batch of one loss per image does not grow with the batch. Hint: compute both terms "
                          "per image, shape (n,), and take the mean of their sum")
    got_rate = large - distortion
    if _mismatch(got_rate, rate, rate_spread, _COPIES):
        wrong = {
            -rate: "the rate has the wrong sign: the loss is -ELBO = distortion + KL, and a KL is never negative",
            2 * rate: "the rate is twice the KL: keep the factor 1/2",
            rate / 2: "the rate is averaged over the k code dimensions; the KL of a diagonal Gaussian is "
                      "a SUM over them",
        }
        for value, message in wrong.items():
            if not _mismatch(got_rate, value, 2 * rate_spread, _COPIES):
                raise WrongAnswer(f"for mu = {_MU}, logvar = {_LOGVAR} your loss adds {got_rate:.4f} nats to the "
                                  f"distortion, the rate is {rate:.4f}: {message}")
        raise WrongAnswer(f"for mu = {_MU}, logvar = {_LOGVAR} the rate KL(q || N(0, I)) is {rate:.4f} nats, "
                          f"your loss adds {got_rate:.4f} on average over {_COPIES:,} copies of one image. Hint: "
                          "0.5 * sum(mu^2 + exp(logvar) - 1 - logvar), or log q(z | x) - log p(z) at the drawn z; "
                          "logvar is the log of the variance")
    weighted = _loss(vae_loss, shifted, _COPIES, 3.0, 0, "vae_loss(model, x, beta=3)").item()
    if _mismatch(weighted, distortion + 3 * rate, 3 * rate_spread, _COPIES):
        raise WrongAnswer(f"with beta = 3 the loss should be distortion + 3 * rate = {distortion + 3 * rate:.4f}, "
                          f"got {weighted:.4f}. Hint: beta weighs the rate, as lambda weighs one term of a "
                          "codec's loss; the distortion keeps weight 1")
    # 3. The distortion of a DRAWN code, and the gradients it sends to the encoder: a decoder that uses z.
    model = _Probe(_MU, _LOGVAR, _WEIGHT, _BIAS)
    first, second = (_loss(vae_loss, model, _COPIES, 1.0, seed, "vae_loss") for seed in (1, 2))
    if abs(first.item() - second.item()) < 1e-9:
        raise WrongAnswer("the loss is the same for every draw of the noise: you decode the mean mu. The "
                          "distortion is an expectation over codes drawn from q(z | x): decode "
                          "z = mu + exp(logvar / 2) * eps with eps ~ N(0, I)")
    terms = _per_image_terms(model)
    closed_d, _, closed_grad = terms["closed"]
    sampled_d, sampled_rate, sampled_grad = terms["sampled"]
    expected = float(closed_d.mean()) + rate
    spread = max(float(closed_d.std()), float((sampled_d + sampled_rate).std()))
    if _mismatch(first.item(), expected, spread, _COPIES):
        raise WrongAnswer(f"for a decoder that uses z, the loss averaged over {_COPIES:,} copies of one image "
                          f"should be about {expected:.3f} nats, got {first.item():.3f}. Hint: draw one code per "
                          "image, z = mu + sigma * eps, and decode that z")
    model.zero_grad()
    first.backward()
    if model.logvar.grad is None or model.mu.grad is None:
        raise WrongAnswer("no gradient reaches the encoder's outputs: compute z from mu and logvar with torch "
                          "operations (no .detach(), no numpy)")
    got_grad = torch.cat([model.mu.grad, model.logvar.grad])
    want_grad = closed_grad.mean(0)
    grad_spread = torch.maximum(closed_grad.std(0), sampled_grad.std(0))
    if ((got_grad - want_grad).abs() > 6 * grad_spread / math.sqrt(_COPIES) + 1e-4).any():
        kl_only = torch.tensor(_LOGVAR, dtype=torch.float64).exp().sub(1).mul(0.5)  # d rate / d logvar
        if torch.allclose(model.logvar.grad, kl_only, atol=1e-6):
            raise WrongAnswer("the distortion sends no gradient to logvar, so the encoder cannot learn how "
                              "uncertain to be. torch.normal(mu, sigma) and .sample() draw z without a gradient; "
                              "write the draw as z = mu + exp(logvar / 2) * eps (the reparameterisation trick)")
        got_text = ", ".join(f"{v:.3f}" for v in got_grad.tolist())
        want_text = ", ".join(f"{v:.3f}" for v in want_grad.tolist())
        raise WrongAnswer(f"your loss has the right value, but its gradient with respect to the encoder's (mu, "
                          f"logvar), averaged over {_COPIES:,} copies of one image, is ({got_text}); the -ELBO's "
                          f"gradient is about ({want_text}). Does the drawn z carry the gradient to mu and logvar "
                          "(z = mu + exp(logvar / 2) * eps, not torch.normal or .sample())?")
    # 4. Train a small VAE with the loss and measure the outcome.
    x_train = _data.mnist_tensors("train")[0][:VAE_N_TRAIN]
    x_test = _data.mnist_tensors("test")[0][:VAE_N_TEST]
    baseline = code_free_nelbo()
    torch.manual_seed(0)
    vae = VAE(k=4, hidden=(128,))
    fit(vae, x_train, loss_fn=lambda m, x: vae_loss(m, x, 1.0), epochs=8, batch_size=50, lr=3e-3,
        progress=False, device=torch.device("cpu"))
    with torch.no_grad():
        torch.manual_seed(1)
        mu, logvar = vae.encode(x_test)
        z = VAE.reparameterise(mu, logvar)
        nelbo = float((bernoulli_nll(vae.decode_logits(z), x_test) + gaussian_kl(mu, logvar)).mean())
    if not nelbo < baseline - VAE_LOSS_MARGIN:
        raise WrongAnswer(f"the VAE trained with your loss has a test -ELBO of {nelbo:.1f} nats, not "
                          f"{VAE_LOSS_MARGIN} nats below the {baseline:.1f} nats of the best model that ignores "
                          f"its code; a correct loss reaches about {baseline - VAE_LOSS_TYPICAL:.0f}")


# --- gen-fitted-gaussian ---------------------------------------------------------------------------

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
        # With eps = I the rows are mean + the rows of B; codes mean + eps @ B have covariance B^T B.
        B = expect_array(call(fitted_gaussian_codes, codes, np.eye(k)), (k, k),
                         name=f"fitted_gaussian_codes(codes, eps) for eps = np.eye({k})") - mean
        covariance = B.T @ B
        if not any(np.allclose(covariance, c, rtol=1e-6, atol=1e-8) for c in _fitted_covariances(codes)):
            target = _fitted_covariances(codes)[0]
            if np.allclose(np.diag(covariance), np.diag(target), rtol=1e-6):
                raise WrongAnswer("your codes have the right variance in each dimension but not the right "
                                  "correlations between dimensions. Hint: use a matrix square root of the "
                                  "covariance (np.linalg.cholesky), not the standard deviations alone")
            raise WrongAnswer("the codes you draw do not have the covariance of the training codes. Hint: with "
                              "L = np.linalg.cholesky(C), mean + eps @ L.T has covariance L L^T = C")
        eps = rng.normal(size=(6, k))
        expect_close(call(fitted_gaussian_codes, codes, eps), mean + eps @ B,
                     name=f"the codes for eps of shape (6, {k})",
                     hint="each code should be the mean plus a fixed linear map of its row of eps")


# --- gen-iw-bound ----------------------------------------------------------------------------------

# A model whose likelihood is known: z ~ N(0, I) in 2-D, x_j | z ~ N(w_j z_j, s_j^2) independently.
_W, _S, _X = np.array([2.0, -1.0]), np.array([0.5, 1.5]), np.array([1.2, 0.7])


def _log_normal(x, mean, var):
    return -0.5 * (math.log(2 * math.pi) + torch.log(var) + (x - mean) ** 2 / var)


def _log_joint(z):
    """log p(x, z) for the fixed x, one value per row of z (shape (m, 2))."""
    w, s, x = (torch.as_tensor(a, dtype=z.dtype) for a in (_W, _S, _X))
    one = torch.ones((), dtype=z.dtype)
    return (_log_normal(z, 0.0, one) + _log_normal(x, w * z, s**2)).sum(dim=-1)


def _exact():
    """log p(x), the posterior's mean and log-variance, and the ELBO of a given q in closed form."""
    var_x = _W**2 + _S**2
    log_px = float((-0.5 * (np.log(2 * np.pi * var_x) + _X**2 / var_x)).sum())
    post_mu, post_var = _W * _X / var_x, _S**2 / var_x

    def elbo(mu, var):
        prior = -0.5 * (np.log(2 * np.pi) + mu**2 + var)
        lik = -0.5 * (np.log(2 * np.pi * _S**2) + ((_X - _W * mu) ** 2 + _W**2 * var) / _S**2)
        entropy = 0.5 * np.log(2 * np.pi * np.e * var)
        return float((prior + lik + entropy).sum())

    return log_px, post_mu, np.log(post_var), elbo


def _bound(fn, mu, logvar, m, seed, name):
    torch.manual_seed(seed)
    mu, logvar = (torch.tensor(a, dtype=torch.float64) for a in (mu, logvar))
    got = call(fn, _log_joint, mu, logvar, m)
    return _as_float(got, name)


def _as_float(value, name):
    try:
        number = float(value.detach() if isinstance(value, torch.Tensor) else value)
    except (TypeError, ValueError, RuntimeError):
        raise WrongAnswer(f"{name} should be a single number (a float or a 0-d tensor), got "
                          f"{type(value).__name__}") from None
    if not math.isfinite(number):
        raise WrongAnswer(f"{name} is {number}: use torch.logsumexp rather than exp then log, and check log q(z)")
    return number


IW_MANY = 1000  # samples of the tight bound
IW_SHIFT, IW_SCALE = np.array([0.5, -0.3]), np.array([2.0, 1.5])  # q off the posterior: mean shift, variance factor


def iw_example() -> tuple[float, float]:
    """log p(x) of the check's model and the ELBO of the check's q off the posterior (nats)."""
    log_px, post_mu, post_logvar, elbo = _exact()
    return log_px, elbo(post_mu + IW_SHIFT, np.exp(post_logvar) * IW_SCALE)


@exercise("gen-iw-bound", title="Tightening the ELBO with more samples", chapter=CHAPTER)
def _check_iw_bound(importance_weighted_bound):
    log_px, post_mu, post_logvar, elbo = _exact()
    # q = the exact posterior: every weight p(x, z) / q(z) equals p(x), for every m.
    for m in (1, 5):
        got = _bound(importance_weighted_bound, post_mu, post_logvar, m, 0,
                     f"importance_weighted_bound(..., m={m}) with q the exact posterior")
        if abs(got - log_px) > 1e-6:
            if m > 1 and abs(got - log_px - math.log(m)) < 1e-6:
                raise WrongAnswer(f"with m = {m} your bound is log p(x) + log {m}: you summed the weights instead "
                                  "of averaging them. Hint: torch.logsumexp(log_w, 0) - math.log(m)")
            raise WrongAnswer(f"when q(z) is the exact posterior p(z | x), every weight p(x, z) / q(z) equals p(x), "
                              f"so the bound is log p(x) = {log_px:.4f} for every draw; got {got:.4f} with m = {m}. "
                              "Hint: log q(z) = -0.5 * sum(log(2 pi) + logvar + (z - mu)^2 / exp(logvar))")
    # q off the posterior: one sample gives the ELBO on average; many samples approach log p(x).
    mu, logvar = post_mu + IW_SHIFT, post_logvar + np.log(IW_SCALE)
    exact_elbo = elbo(mu, np.exp(logvar))
    singles = [_bound(importance_weighted_bound, mu, logvar, 1, seed, "the bound with m = 1")
               for seed in range(400)]
    single, single_se = np.mean(singles), np.std(singles) / math.sqrt(len(singles))
    if abs(single - exact_elbo) > 5 * single_se + 0.02:
        raise WrongAnswer(f"with one sample the bound should be the ELBO on average, {exact_elbo:.3f}; your "
                          f"average over 400 draws is {single:.3f}. Hint: log w = log p(x, z) - log q(z) with "
                          "z drawn from q by z = mu + exp(logvar / 2) * eps")
    manys = [_bound(importance_weighted_bound, mu, logvar, IW_MANY, seed, f"the bound with m = {IW_MANY}")
             for seed in range(20)]
    many, many_se = np.mean(manys), np.std(manys) / math.sqrt(len(manys))
    if many > log_px + 5 * many_se + 0.01:
        raise WrongAnswer(f"with m = {IW_MANY} your bound, {many:.3f}, exceeds log p(x) = {log_px:.3f}; a lower bound "
                          "cannot. Hint: average the weights (divide by m) before taking the log")
    if many < log_px - (log_px - exact_elbo) / 4:
        raise WrongAnswer(f"with m = {IW_MANY} samples your bound is {many:.3f}, hardly better than the ELBO "
                          f"{exact_elbo:.3f}, while log p(x) = {log_px:.3f}. You averaged the log-weights: by "
                          "Jensen's inequality that is the smaller quantity. Take the log of the AVERAGE weight")


# --- gen-closest-code ------------------------------------------------------------------------------

def _squared_errors(decode, codes, x, k, name):
    """||decode(z) - x||^2 per image and the codes as an array; the codes are decoded here, by the
    check, so only codes count, never images an answer might return instead."""
    z = expect_array(codes, (len(x), k), name=name,
                     hint="return the codes z, shape (n, k), not the decoded images")
    with torch.no_grad():
        return ((decode(torch.as_tensor(z, dtype=x.dtype)) - x) ** 2).sum(dim=1), z


class _LinearDecoder:
    """d(z) = z W + b: S is a k-dimensional plane, and the nearest point of S is a least-squares
    solution, known exactly."""

    def __init__(self, rng, d, k):
        self.k = k
        q, _ = np.linalg.qr(rng.normal(size=(d, k)))
        weight = q.T * np.linspace(2.0, 1.0, k)[:, None]     # singular values from 2 to 1
        self.weight = torch.tensor(weight, dtype=torch.float32)
        self.bias = torch.tensor(rng.normal(size=d), dtype=torch.float32)

    def __call__(self, z):
        return z @ self.weight + self.bias

    def nearest(self, x):
        z, *_ = np.linalg.lstsq(self.weight.numpy().T.astype(np.float64),
                                (x - self.bias).numpy().T.astype(np.float64), rcond=None)
        return torch.tensor(z.T, dtype=torch.float32)


def _closest(closest_codes, decode, x, z0, name):
    """Call the answer on copies (an answer may change its inputs in place) and score its codes."""
    codes = call(closest_codes, decode, x.clone(), z0.clone())
    return _squared_errors(decode, codes, x, z0.shape[1], name)


@functools.lru_cache(maxsize=1)
def _digit_autoencoder() -> MLPAutoencoder:
    """A small digit autoencoder (k = 8), trained once per Python process (cached) in about a second."""
    torch.manual_seed(0)
    model = MLPAutoencoder(d=784, k=8, hidden=(128,))
    fit(model, _data.mnist_tensors("train")[0][:2000], epochs=10, batch_size=50, lr=3e-3,
        progress=False, device=torch.device("cpu"))
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


_GAP = 0.02  # a correct answer closes at least 98% of the gap between start and optimum
CLOSEST_NOISE_MAX = 0.7  # on uniform noise, at most this share of f(x)'s squared error
CLOSEST_TYPICAL_DIGITS = 0.9  # share of f(x)'s squared error a correct answer reaches on test digits
CLOSEST_TYPICAL_NOISE = 0.5  # and on uniform noise (measured: see the exercise tests)


@exercise("gen-closest-code", title="The nearest point of S", chapter=CHAPTER)
def _check_closest_code(closest_codes):
    rng = np.random.default_rng(0)
    # 1. A linear decoder: the nearest point of S is known exactly (least squares).
    for n, d, k in [(6, 10, 3), (4, 15, 2)]:
        decode = _LinearDecoder(rng, d, k)
        z0 = torch.tensor(rng.normal(size=(n, k)), dtype=torch.float32)
        # images off the plane, whose nearest points have codes about 1.5 from z0 in each entry
        x = decode(z0 + torch.tensor(rng.normal(size=(n, k)), dtype=torch.float32))
        x = x + torch.tensor(rng.normal(size=(n, d)), dtype=torch.float32)
        name = f"closest_codes(decode, x, z0) for {n} images, d = {d}, k = {k}"
        got, codes = _closest(closest_codes, decode, x, z0, name)
        start, _ = _squared_errors(decode, z0, x, k, "z0")
        best, _ = _squared_errors(decode, decode.nearest(x), x, k, "the least-squares codes")
        if np.allclose(codes, z0.numpy(), atol=1e-6):
            raise WrongAnswer("your codes are the starting codes z0. The code an encoder gives is only a start: "
                              "d(e(x)) is a point of S, not the nearest one. Hint: make a copy of z0 that "
                              "requires gradients and take gradient steps on the squared error ||d(z) - x||^2")
        if got.mean() > start.mean():
            raise WrongAnswer(f"your codes decode FURTHER from x than the start: squared error {start.mean():.4g} "
                              f"at z0, {got.mean():.4g} at your codes. Hints: step against the gradient "
                              "(z - lr * grad), or let a torch optimiser minimise the error; reset the "
                              "gradients at every step (zero_grad), or they add up and push z past the minimum")
        excess = got - best
        if (excess > _GAP * (start - best) + 1e-4 * start).any():
            i = int(torch.argmax(excess / (start - best)))
            raise WrongAnswer(f"for a linear decoder S is a plane and the nearest point of S is known exactly; for "
                              f"image {i} it has squared error {best[i]:.4f}, your codes {got[i]:.4f} (the start "
                              f"z0: {start[i]:.4f}). Your search stops short of the minimum. Hints: reset the "
                              "gradients at every step (zero_grad); a loss averaged over images and pixels "
                              "makes plain gradient steps tiny (sum the squared errors, or use Adam, whose "
                              "steps do not depend on the loss's scale); take more steps or larger ones "
                              "(Adam moves each entry by about its learning rate per step)")
    # 2. A trained digit autoencoder: starting from the encoder's codes, find closer points of S.
    model = _digit_autoencoder()
    kinds = {"test digits": _data.mnist_tensors("test")[0][:20],
             "uniform noise": torch.rand(20, 1, 28, 28, generator=torch.Generator().manual_seed(0))}
    for kind, images in kinds.items():
        x = images.reshape(len(images), -1)
        with torch.no_grad():
            z0 = model.encode(x)
        name = f"closest_codes(model.decode, x, model.encode(x)) for {kind}"
        got, _ = _closest(closest_codes, model.decode, x, z0, name)
        # ||f(x) - x||^2, the distance the reconstruction error bounds
        reconstruction, _ = _squared_errors(model.decode, z0, x, model.k, "the encoder's codes")
        worse = got > reconstruction * (1 + 1e-3) + 1e-4
        if worse.any():
            i = int(torch.nonzero(worse)[0])
            raise WrongAnswer(f"on {kind}, image {i} decodes further from x from your code ({got[i]:.2f}) "
                              f"than from the encoder's ({reconstruction[i]:.2f}), where your search started. "
                              "Hint: with a learning rate that is too large the steps overshoot; "
                              "Adam with a learning rate of about 0.05 suits these codes")
        ratio = float(got.sum() / reconstruction.sum())
        if kind == "uniform noise" and ratio > CLOSEST_NOISE_MAX:
            raise WrongAnswer(f"on uniform noise your points of S have {100 * ratio:.0f}% of the squared error "
                              f"of f(x), more than {100 * CLOSEST_NOISE_MAX:.0f}%; a correct answer reaches about "
                              f"{100 * CLOSEST_TYPICAL_NOISE:.0f}%. The encoder never saw "
                              "noise, so its code is a poor start there: take more steps (a few hundred)")
