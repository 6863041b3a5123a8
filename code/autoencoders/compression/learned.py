"""The learned codec's models: transforms with GDN, entropy models, and the training loss.

Balle, Laparra and Simoncelli (2017) and Balle et al. (2018): an analysis transform (encoder) with
GDN, uniform quantisation (replaced by additive uniform noise while training), a learned
factorised density of the quantised latents or a scale hyperprior, a synthesis transform
(decoder), trained on rate + lambda * distortion.
:class:`~autoencoders.compression.codec.LearnedCodec` and
:class:`~autoencoders.compression.codec.HyperpriorCodec` turn a trained model into bytes.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

class _LowerBound(torch.autograd.Function):
    """max(x, bound), with a gradient that may still push x up from the bound (as in CompressAI)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, bound: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.bound = bound
        return x.clamp_min(bound)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        return grad * ((x >= ctx.bound) | (grad < 0)).to(grad.dtype), None


class NonNegative(nn.Module):
    """The non-negative reparametrisation of GDN's weights (Balle et al.; CompressAI's parametrizer).

    A value v >= ``minimum`` is stored as p = sqrt(v + pedestal) and recovered as
    max(p, sqrt(minimum + pedestal))^2 - pedestal. The pedestal (2^-36) keeps p away from zero,
    where the square would have no gradient: a weight started at 0 still learns.
    """

    OFFSET = 2.0**-18

    def __init__(self, minimum: float = 0.0) -> None:
        super().__init__()
        self.pedestal = self.OFFSET**2
        self.bound = (minimum + self.pedestal) ** 0.5

    def stored(self, value: torch.Tensor) -> torch.Tensor:
        """The parameter that represents ``value``."""
        return torch.sqrt(torch.clamp_min(value + self.pedestal, self.pedestal))

    def forward(self, p: torch.Tensor) -> torch.Tensor:
        return _LowerBound.apply(p, self.bound) ** 2 - self.pedestal


class GDN(nn.Module):
    """Generalised divisive normalisation, y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2).

    Balle et al.'s non-linearity: it Gaussianises natural-image responses better than a ReLU. With
    ``inverse=True`` it multiplies instead (IGDN, used in the synthesis transform). beta and gamma
    are stored through :class:`NonNegative` and start at beta = 1, gamma = 0.1 I, as in CompressAI.
    """

    def __init__(self, channels: int, inverse: bool = False, beta_min: float = 1e-6, gamma_init: float = 0.1) -> None:
        super().__init__()
        self.inverse = inverse
        self.beta_reparam = NonNegative(minimum=beta_min)
        self.gamma_reparam = NonNegative()
        self.beta = nn.Parameter(self.beta_reparam.stored(torch.ones(channels)))
        self.gamma = nn.Parameter(self.gamma_reparam.stored(gamma_init * torch.eye(channels)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = self.beta_reparam(self.beta)
        gamma = self.gamma_reparam(self.gamma)[:, :, None, None]
        norm = F.conv2d(x * x, gamma, beta)
        return x * torch.sqrt(norm) if self.inverse else x * torch.rsqrt(norm)


class FactorizedDensity(nn.Module):
    """A learned density per latent channel, convolved with a unit-width uniform (Balle et al. 2018).

    Each channel's cumulative distribution is a small monotone network c(y) (positive weights). The
    probability of a rounded latent ``q`` (an integer) is ``c(q + 1/2) - c(q - 1/2)``. The noisy
    latent ``y + u`` that training uses in place of rounding (``u`` uniform on [-1/2, 1/2]) has the
    density ``c(t + 1/2) - c(t - 1/2)`` at any real ``t``: the same formula, which equals the
    probability of a rounded value only at integers ``t``.
    """

    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0) -> None:
        super().__init__()
        widths = (1, *filters, 1)
        scale = init_scale ** (1.0 / (len(widths) - 1))
        self.matrices, self.biases, self.factors = nn.ParameterList(), nn.ParameterList(), nn.ParameterList()
        gen = torch.Generator().manual_seed(0)
        for i in range(len(widths) - 1):
            init = math.log(math.expm1(1.0 / scale / widths[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, widths[i + 1], widths[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, widths[i + 1], 1, generator=gen) - 0.5))
            if i < len(widths) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, widths[i + 1], 1)))
        self.channels = channels

    def logits_cdf(self, v: torch.Tensor) -> torch.Tensor:
        """Logit of each channel's CDF at ``v`` of shape (channels, 1, n)."""
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
            v = torch.matmul(F.softplus(matrix), v) + bias
            if i < len(self.factors):
                v = v + torch.tanh(self.factors[i]) * torch.tanh(v)
        return v

    def _per_channel(self, y: torch.Tensor, fn) -> torch.Tensor:
        """Apply ``fn`` to each channel's values of ``y`` (n, channels, h, w), shaped (channels, 1, m)."""
        n, c, h, w = y.shape
        out = fn(y.permute(1, 0, 2, 3).reshape(c, 1, -1))
        return out.reshape(c, n, h, w).permute(1, 0, 2, 3)

    def cdf(self, y: torch.Tensor) -> torch.Tensor:
        """Each channel's cumulative distribution c(y) at latents ``y`` of shape (n, channels, h, w)."""
        return self._per_channel(y, lambda v: torch.sigmoid(self.logits_cdf(v)))

    def likelihood(self, y: torch.Tensor) -> torch.Tensor:
        """c(y + 1/2) - c(y - 1/2) for latents ``y`` of shape (n, channels, h, w), at least 1e-9.

        At an integer y this is the probability of the rounded value; at any y it is the density
        of y + u with uniform noise u. Computed in the tail where the difference is accurate.
        """
        return self._per_channel(y, self._likelihood).clamp_min(1e-9)

    def _likelihood(self, v: torch.Tensor) -> torch.Tensor:
        lower, upper = self.logits_cdf(v - 0.5), self.logits_cdf(v + 0.5)
        sign = -torch.sign(lower + upper).detach()  # subtract in the tail where it is accurate
        return (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()

    @torch.no_grad()
    def pmfs(self, radius: int) -> np.ndarray:
        """Each channel's probability of the integers -radius..radius, tails folded into the ends.

        Returns an array of shape (channels, 2 radius + 1). The coder clamps latents to this range,
        so the folded tails make each row the exact distribution of the clamped symbol.
        """
        edges = torch.arange(-radius - 0.5, radius + 1.0, 1.0, dtype=torch.float32)  # 2r+2 edges
        cdf = torch.sigmoid(self.logits_cdf(edges.expand(self.channels, 1, -1).contiguous()))[:, 0, :]
        cdf = cdf.double().numpy()
        pmf = np.diff(cdf, axis=1)
        pmf[:, 0] += cdf[:, 0]
        pmf[:, -1] += 1.0 - cdf[:, -1]
        return pmf


def _pad_to_multiple(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Replicate-pad (n, c, h, w) at the bottom and right so that h and w are multiples of ``factor``."""
    h, w = x.shape[-2:]
    ph, pw = -h % factor, -w % factor
    return F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 5, stride=2, padding=2)


def _deconv(cin: int, cout: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, 5, stride=2, padding=2, output_padding=1)


class TransformCoder(nn.Module):
    """What every learned codec model has: ``analysis``, ``synthesis`` and a factorised ``density``.

    The density is that of the latents, or, in a :class:`HyperpriorModel`, of the hyper-latents.

    Subclasses build the transforms and say how large the latent of an image is.
    """

    in_channels: int
    analysis: nn.Module
    synthesis: nn.Module
    density: FactorizedDensity

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """Bring images (n, c, h, w) to a size the analysis transform takes (default: unchanged)."""
        return x

    def latent_shape(self, shape: tuple[int, ...]) -> tuple[int, int, int]:
        """Shape (channels, h', w') of the latent of an image of ``shape`` (h, w[, c])."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training pass on images (n, c, h, w) in [0, 1]; returns the reconstruction and the bits.

        In training mode the bits are those of ``y + u`` with uniform noise ``u`` (a differentiable
        stand-in for rounding) while the decoder sees ``round(y)`` with a straight-through
        gradient; in eval mode both use ``round(y)``.
        """
        h, w = x.shape[-2:]
        y_hat, y_rate = self.quantise(self.analysis(self.pad(x)))
        bits = -torch.log2(self.density.likelihood(y_rate)).sum()
        return self.synthesis(y_hat)[..., :h, :w], bits

    def quantise(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``round(y)`` with a straight-through gradient, and the value whose bits training counts.

        The second is ``y + u`` (uniform noise ``u``) in training mode and ``round(y)`` in eval mode.
        """
        y_hat = y + (torch.round(y) - y).detach()
        return y_hat, (y + torch.empty_like(y).uniform_(-0.5, 0.5) if self.training else y_hat)


class CompressionModel(TransformCoder):
    """Convolutional transforms with GDN and a factorised prior, any image size.

    The architecture of the factorised-prior baseline of Balle et al. (2018): four strided 5x5
    convolutions with GDN between them in the analysis transform, their mirror image with inverse
    GDN in the synthesis transform (Balle et al. 2017 used three stages of a different design).

    Parameters
    ----------
    in_channels : int
        Image channels (3 for RGB, 1 for grey).
    channels : int
        Width of the hidden layers.
    latent_channels : int
        Channels of the latent ``y``; each of ``depth`` stride-2 convolutions halves the resolution.
    depth : int
        Number of stride-2 5x5 convolutions (with GDN between them) in each transform.
    """

    def __init__(self, in_channels: int = 3, channels: int = 48, latent_channels: int = 64, depth: int = 4) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self.in_channels, self.depth, self.latent_channels = in_channels, depth, latent_channels
        widths = [in_channels] + [channels] * (depth - 1) + [latent_channels]
        enc: list[nn.Module] = []
        dec: list[nn.Module] = []
        for i in range(depth):
            enc.append(_conv(widths[i], widths[i + 1]))
            dec.append(_deconv(widths[depth - i], widths[depth - i - 1]))
            if i < depth - 1:
                enc.append(GDN(widths[i + 1]))
                dec.append(GDN(widths[depth - i - 1], inverse=True))
        self.analysis = nn.Sequential(*enc)
        self.synthesis = nn.Sequential(*dec)
        self.density = FactorizedDensity(latent_channels)

    @property
    def factor(self) -> int:
        """Side lengths are padded to a multiple of this (2 ** depth)."""
        return 2 ** self.depth

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """Replicate-pad images (n, c, h, w) so that h and w are multiples of :attr:`factor`."""
        return _pad_to_multiple(x, self.factor)

    def latent_shape(self, shape: tuple[int, ...]) -> tuple[int, int, int]:
        f = self.factor
        return (self.latent_channels, -(-shape[0] // f), -(-shape[1] // f))


#: The smallest scale of the Gaussian model of a latent (CompressAI's bound): below it, a rounded
#: latent of 0 would cost almost nothing and one of 1 almost infinitely much.
SCALE_BOUND = 0.11


def gaussian_likelihood(y: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """P(y) under N(0, scale^2) convolved with a unit-width uniform: Phi((y+1/2)/s) - Phi((y-1/2)/s).

    At an integer y this is the probability of the rounded value; at any y it is the density of
    y + u with uniform noise u. Computed on -|y|, in the lower tail where the difference is
    accurate, and at least 1e-9 (as :meth:`FactorizedDensity.likelihood`).
    """
    scales = _LowerBound.apply(scales, SCALE_BOUND)
    v = y.abs()
    upper = 0.5 * torch.erfc((v - 0.5) / (scales * math.sqrt(2.0)))
    lower = 0.5 * torch.erfc((v + 0.5) / (scales * math.sqrt(2.0)))
    return (upper - lower).clamp_min(1e-9)


@torch.no_grad()
def gaussian_pmfs(scales: np.ndarray, radius: int) -> np.ndarray:
    """For each scale, the probability of the integers -radius..radius, tails folded into the ends.

    The coder's counterpart of :func:`gaussian_likelihood` (as :meth:`FactorizedDensity.pmfs`):
    an array of shape (len(scales), 2 radius + 1) in float64.
    """
    edges = torch.arange(-radius - 0.5, radius + 1.0, 1.0, dtype=torch.float64)
    s = torch.as_tensor(np.asarray(scales, dtype=np.float64))[:, None]
    cdf = (0.5 * torch.erfc(-edges / (s * math.sqrt(2.0)))).numpy()
    pmf = np.diff(cdf, axis=1)
    pmf[:, 0] += cdf[:, 0]
    pmf[:, -1] += 1.0 - cdf[:, -1]
    return pmf


class HyperpriorModel(CompressionModel):
    """:class:`CompressionModel` with a scale hyperprior (Balle et al. 2018).

    A hyper-analysis transform summarises ``|y|`` in a small second latent ``z`` (three more
    convolutions, two of them stride-2). ``z`` is rounded and coded first with a factorised
    density (``density``); the hyper-synthesis transform turns it into a scale per latent of
    ``y``, and each rounded latent of ``y`` is coded with a zero-mean Gaussian of that scale
    (:func:`gaussian_likelihood`). The bits of ``z`` are side information: they tell the decoder
    where the image is busy. The architecture is CompressAI's ``ScaleHyperprior``, with
    ``hyper_channels`` channels in ``z``.
    """

    hyper_factor = 4  # the two stride-2 convolutions of the hyper-analysis transform

    def __init__(self, in_channels: int = 3, channels: int = 48, latent_channels: int = 64, depth: int = 4,
                 hyper_channels: int = 48) -> None:
        super().__init__(in_channels, channels, latent_channels, depth)
        m, n = latent_channels, hyper_channels
        self.hyper_analysis = nn.Sequential(
            nn.Conv2d(m, n, 3, padding=1), nn.ReLU(), _conv(n, n), nn.ReLU(), _conv(n, n)
        )
        self.hyper_synthesis = nn.Sequential(
            _deconv(n, n), nn.ReLU(), _deconv(n, n), nn.ReLU(), nn.Conv2d(n, m, 3, padding=1), nn.ReLU()
        )
        self.density = FactorizedDensity(hyper_channels)  # the density of z

    def hyper_latent_shape(self, shape: tuple[int, ...]) -> tuple[int, int, int]:
        """Shape (channels, h'', w'') of ``z`` for an image of ``shape`` (h, w[, c])."""
        _, h, w = self.latent_shape(shape)
        f = self.hyper_factor
        return (self.density.channels, -(-h // f), -(-w // f))

    def hyper_analyse(self, y: torch.Tensor) -> torch.Tensor:
        """``z`` (unrounded) from latents ``y`` (n, channels, h', w')."""
        return self.hyper_analysis(_pad_to_multiple(y.abs(), self.hyper_factor))

    def scales(self, z_hat: torch.Tensor, latent_hw: tuple[int, int]) -> torch.Tensor:
        """The scale of each latent of ``y`` (shape (n, channels, *latent_hw)) from rounded ``z``."""
        return self.hyper_synthesis(z_hat)[..., : latent_hw[0], : latent_hw[1]]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training pass as :meth:`TransformCoder.forward`; the bits are those of ``y`` and ``z``."""
        h, w = x.shape[-2:]
        y = self.analysis(self.pad(x))
        z_hat, z_rate = self.quantise(self.hyper_analyse(y))
        y_hat, y_rate = self.quantise(y)
        scales = self.scales(z_hat, y.shape[-2:])
        bits = -torch.log2(self.density.likelihood(z_rate)).sum()
        bits = bits - torch.log2(gaussian_likelihood(y_rate, scales)).sum()
        return self.synthesis(y_hat)[..., :h, :w], bits


class DenseCompressionModel(TransformCoder):
    """A fully connected codec model for small grey images of one size (the digits' autoencoder).

    The analysis transform is the MLP encoder ``side^2 -> hidden -> k`` of the autoencoder
    chapter; its k outputs are the latent, quantised and entropy-coded; the decoder mirrors it.
    """

    def __init__(self, side: int = 28, k: int = 16, hidden: int = 256) -> None:
        super().__init__()
        self.in_channels, self.side, self.k = 1, side, k
        d = side * side
        self.analysis = nn.Sequential(
            nn.Flatten(), nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, k), nn.Unflatten(1, (k, 1, 1))
        )
        self.synthesis = nn.Sequential(
            nn.Flatten(), nn.Linear(k, hidden), nn.ReLU(), nn.Linear(hidden, d), nn.Sigmoid(), nn.Unflatten(1, (1, side, side))
        )
        self.density = FactorizedDensity(k)

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """Check that images are side x side (nothing to pad)."""
        if tuple(x.shape[-3:]) != (1, self.side, self.side):
            raise ValueError(f"this model takes 1 x {self.side} x {self.side} images, got {tuple(x.shape[1:])}")
        return x

    def latent_shape(self, shape: tuple[int, ...]) -> tuple[int, int, int]:
        if tuple(shape[:2]) != (self.side, self.side):
            raise ValueError(f"this model takes {self.side} x {self.side} images, got shape {shape}")
        return (self.k, 1, 1)


def rd_loss(
    model: TransformCoder, x: torch.Tensor, lam: float, distortion: str = "mse"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rate + lambda * distortion, Balle et al.'s objective; returns (loss, bpp, distortion).

    ``distortion="mse"`` uses 255^2 * MSE (so lambda matches CompressAI's values);
    ``"ms-ssim"`` uses 1 - MS-SSIM (pytorch-msssim with the first four of its five scales and a
    7-pixel window; crops must be larger than 96 pixels).
    """
    x_hat, bits = model(x)
    n, _, h, w = x.shape
    bpp = bits / (n * h * w)
    if distortion == "mse":
        dist = 255.0**2 * F.mse_loss(x_hat, x)
    elif distortion == "ms-ssim":
        from pytorch_msssim import ms_ssim

        weights = [w / 0.8668 for w in (0.0448, 0.2856, 0.3001, 0.2363)]  # Wang et al.'s, renormalised
        dist = 1.0 - ms_ssim(x_hat.clamp(0, 1), x, data_range=1.0, win_size=7, weights=weights)
    else:
        raise ValueError(f"distortion must be 'mse' or 'ms-ssim', got {distortion!r}")
    return bpp + lam * dist, bpp, dist

