"""Codecs with real bitstreams: classical (Pillow), linear (PCA on blocks) and learned (Balle et al.).

Every codec has the same two methods, ``encode(image) -> bytes`` and ``decode(data) -> image``, on
uint8 arrays of shape (h, w) or (h, w, c). Rates are computed from ``len(encode(image))`` and nothing
else (:func:`bits_per_pixel`), so every header and container byte is counted. Damaged bytes make
``decode`` raise ``ValueError``.

The learned codec follows Balle, Laparra and Simoncelli (2017): an analysis transform (encoder) with
GDN, uniform quantisation (additive uniform noise while training), a learned factorised density of
the quantised latents, a synthesis transform (decoder), trained on rate + lambda * distortion. The
latents become bytes through ``constriction``'s range coder with the learned probabilities
quantised to integers; as in CompressAI, the transforms and the entropy model are separate parts.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from dataclasses import dataclass
from typing import Callable, Protocol

import constriction
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

# --------------------------------------------------------------------------------------------------
# The interface and the rate
# --------------------------------------------------------------------------------------------------


class Codec(Protocol):
    """What every codec of this module provides."""

    def encode(self, image: np.ndarray) -> bytes: ...

    def decode(self, data: bytes) -> np.ndarray: ...


def check_image(image: np.ndarray) -> np.ndarray:
    """Return ``image`` if it is a uint8 array of shape (h, w) or (h, w, 1|3), else raise ValueError."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"codecs take uint8 images, got dtype {image.dtype}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3)):
        raise ValueError(f"codecs take images of shape (h, w) or (h, w, 1|3), got {image.shape}")
    if min(image.shape[:2]) < 1:
        raise ValueError(f"image has no pixels: shape {image.shape}")
    return image


def bits_per_pixel(n_bytes: int, shape: tuple[int, ...]) -> float:
    """Bits per pixel of a bitstream of ``n_bytes`` bytes for an image of ``shape``: 8 bytes / (h w).

    Colour channels are not counted as extra pixels (the convention of the image-compression
    literature, and of the slides' 0.17 bit/px).
    """
    if n_bytes < 0:
        raise ValueError(f"n_bytes must be non-negative, got {n_bytes}")
    return 8.0 * n_bytes / (shape[0] * shape[1])


def rate(codec: Codec, image: np.ndarray) -> tuple[bytes, float]:
    """Encode ``image`` and return the bytes and their rate in bits per pixel."""
    data = codec.encode(image)
    return data, bits_per_pixel(len(data), np.asarray(image).shape)


# --------------------------------------------------------------------------------------------------
# Classical codecs through Pillow
# --------------------------------------------------------------------------------------------------


class PillowCodec:
    """A classical image codec of Pillow at a fixed ``quality``: JPEG, JPEG 2000, WebP or PNG.

    Parameters
    ----------
    format : {"JPEG", "JPEG2000", "WEBP", "PNG"}
        The file format; JPEG 2000 is written as a raw J2K codestream (no JP2 box), the smallest
        container Pillow offers.
    quality : float
        JPEG and WebP: Pillow's quality, 1 (worst) to 95 (JPEG) or 0 to 100 (WebP). JPEG 2000: the
        target PSNR in dB of OpenJPEG's fixed-quality mode (higher is better), with the irreversible
        9/7 wavelet of lossy JPEG 2000 (Pillow's default is the lossless 5/3 one). Ignored for PNG.
    mode : str, optional
        Pillow mode that decoded images are converted to; WebP always stores colour, so grey
        images come back as grey only with ``mode="L"``.
    """

    FORMATS = ("JPEG", "JPEG2000", "WEBP", "PNG")
    QUALITY_RANGE = {"JPEG": (1.0, 95.0), "JPEG2000": (15.0, 60.0), "WEBP": (0.0, 100.0), "PNG": (0.0, 0.0)}

    def __init__(self, format: str = "JPEG", quality: float = 75.0, mode: str | None = None) -> None:
        if format not in self.FORMATS:
            raise ValueError(f"format must be one of {self.FORMATS}, got {format!r}")
        lo, hi = self.QUALITY_RANGE[format]
        if format != "PNG" and not lo <= quality <= hi:
            raise ValueError(f"{format} quality must lie in [{lo}, {hi}], got {quality}")
        if mode not in (None, "L", "RGB"):
            raise ValueError(f"mode must be None, 'L' or 'RGB', got {mode!r}")
        self.format, self.quality, self.mode = format, float(quality), mode

    def __repr__(self) -> str:
        return f"PillowCodec({self.format!r}, quality={self.quality:g})"

    def _options(self) -> dict:
        if self.format == "JPEG":
            return {"quality": int(round(self.quality)), "optimize": True}
        if self.format == "WEBP":
            return {"quality": self.quality, "method": 6}
        if self.format == "JPEG2000":
            return {"quality_mode": "dB", "quality_layers": [self.quality], "no_jp2": True, "irreversible": True}
        return {"optimize": True}

    def encode(self, image: np.ndarray) -> bytes:
        """The image file's bytes, container and header included."""
        image = check_image(image)
        buffer = io.BytesIO()
        Image.fromarray(image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image).save(
            buffer, format=self.format, **self._options()
        )
        return buffer.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        """The image from its bytes; damaged or foreign bytes raise ValueError."""
        data = bytes(data)
        _check_complete(self.format, data)
        try:
            with Image.open(io.BytesIO(data)) as img:
                if img.format != self.format:
                    raise ValueError(f"expected {self.format} data, got {img.format}")
                if img.size[0] * img.size[1] > MAX_PIXELS:
                    raise ValueError(f"image of {img.size} pixels exceeds the {MAX_PIXELS}-pixel limit")
                img.load()
                return np.asarray(img.convert(self.mode) if self.mode else img).copy()
        except ValueError:
            raise
        except Exception as exc:  # Pillow raises OSError, SyntaxError, struct.error... on damage
            raise ValueError(f"could not decode {self.format} data ({len(data)} bytes): {exc}") from exc


def _check_complete(format: str, data: bytes) -> None:
    """Refuse a truncated file by its format's own end mark or length field.

    Decoders of JPEG and JPEG 2000 otherwise fill a cut-off image with grey without complaint.
    """
    ends = {"JPEG": b"\xff\xd9", "JPEG2000": b"\xff\xd9", "PNG": b"IEND\xaeB`\x82"}
    if format in ends and not data.endswith(ends[format]):
        raise ValueError(f"damaged {format} data: it does not end with the format's end marker (truncated?)")
    if format == "WEBP" and (len(data) < 12 or struct.unpack_from("<I", data, 4)[0] + 8 != len(data)):
        raise ValueError("damaged WEBP data: its RIFF size field does not match its length (truncated?)")


def header_bytes(codec: Codec, shape: tuple[int, ...]) -> int:
    """The fixed bytes a codec writes for an image of ``shape``, whatever the image.

    Our codecs declare theirs (``header_size``: 10 bytes). For a Pillow format it is measured as the
    size of a uniform mid-grey image: the container (markers, tables, sizes) plus the least payload
    the format can write, so subtracting it slightly flatters the classical codec.
    """
    declared = getattr(codec, "header_size", None)
    return int(declared) if declared is not None else len(codec.encode(np.full(shape, 128, dtype=np.uint8)))


def match_rate(
    make_codec: Callable[[float], Codec], image: np.ndarray, target_bpp: float, lo: float, hi: float, steps: int = 12
) -> tuple[Codec, float]:
    """The codec ``make_codec(q)`` whose rate on ``image`` is closest to ``target_bpp`` from below.

    Bisects the quality ``q`` in [lo, hi] (rate grows with ``q``); returns the codec and its rate.
    If even ``lo`` is above the target, returns the codec at ``lo`` (JPEG cannot go below about
    0.1 bpp on photographs, for example).
    """
    best = make_codec(lo)
    best_bpp = rate(best, image)[1]
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        codec = make_codec(mid)
        bpp = rate(codec, image)[1]
        if bpp <= target_bpp:
            lo, best, best_bpp = mid, codec, bpp
        else:
            hi = mid
    return best, best_bpp


# --------------------------------------------------------------------------------------------------
# Entropy coding of integer symbols with per-symbol categorical models (constriction)
# --------------------------------------------------------------------------------------------------

MAX_PIXELS = 1 << 24  # refuse headers that announce more pixels than this (nothing hangs)
_MAGIC = {"pca": 0xA1, "learned": 0xA2}
_HEADER = struct.Struct(">BHHBI")  # magic, height, width, channels, CRC-32 of all that precedes and follows


def _pack(kind: str, shape: tuple[int, ...], payload: bytes) -> bytes:
    """Our 10-byte header (magic, h, w, c, CRC-32 of the fields and the payload), then the payload."""
    h, w = shape[:2]
    c = shape[2] if len(shape) == 3 else 0
    if h > 0xFFFF or w > 0xFFFF:
        raise ValueError(f"image of shape {shape} is too large for this codec's header")
    fields = struct.pack(">BHHB", _MAGIC[kind], h, w, c)
    return _HEADER.pack(_MAGIC[kind], h, w, c, zlib.crc32(fields + payload)) + payload


def _unpack(kind: str, data: bytes) -> tuple[tuple[int, ...], bytes]:
    """Check header and checksum; return the image shape and the payload, or raise ValueError."""
    data = bytes(data)
    if len(data) < _HEADER.size:
        raise ValueError(f"data too short: {len(data)} bytes, a header alone has {_HEADER.size}")
    magic, h, w, c, crc = _HEADER.unpack_from(data)
    if magic != _MAGIC[kind]:
        raise ValueError(f"not {kind} codec data (magic byte {magic:#x}, expected {_MAGIC[kind]:#x})")
    if h == 0 or w == 0 or c not in (0, 1, 3) or h * w > MAX_PIXELS:
        raise ValueError(f"corrupt header: shape ({h}, {w}, {c})")
    payload = data[_HEADER.size:]
    if zlib.crc32(data[: _HEADER.size - 4] + payload) != crc:
        raise ValueError("data damaged: the CRC-32 of header and payload does not match")
    return ((h, w) if c == 0 else (h, w, c)), payload


def _quantised_pmfs(pmfs: np.ndarray) -> np.ndarray:
    """Float64 rows that sum to one, as constriction's categorical model expects."""
    pmfs = np.clip(np.asarray(pmfs, dtype=np.float64), 1e-12, None)
    return pmfs / pmfs.sum(axis=1, keepdims=True)


def entropy_encode(symbols: np.ndarray, rows: np.ndarray, pmfs: np.ndarray) -> bytes:
    """Range-code integer ``symbols`` (indices into a pmf), symbol i with the model ``pmfs[rows[i]]``.

    The symbols that share a model are coded together, model after model in increasing row order;
    constriction quantises each pmf to integer probabilities (deterministically, so the decoder
    gets the same model). The result is padded to whole 32-bit words.
    """
    symbols, rows = np.asarray(symbols, dtype=np.int32), np.asarray(rows)
    encoder = constriction.stream.queue.RangeEncoder()
    for row in np.unique(rows):
        encoder.encode(symbols[rows == row], constriction.stream.model.Categorical(pmfs[row], perfect=False))
    return encoder.get_compressed().tobytes()


def entropy_decode(payload: bytes, rows: np.ndarray, pmfs: np.ndarray) -> np.ndarray:
    """Invert :func:`entropy_encode`: the symbol indices, given the same rows and pmfs."""
    if len(payload) % 4:
        raise ValueError(f"damaged data: the range-coded payload has {len(payload)} bytes, not whole 32-bit words")
    rows = np.asarray(rows)
    symbols = np.zeros(len(rows), dtype=np.int64)
    decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(payload, dtype=np.uint32).copy())
    try:
        for row in np.unique(rows):
            where = rows == row
            model = constriction.stream.model.Categorical(pmfs[row], perfect=False)
            symbols[where] = decoder.decode(model, int(where.sum()))
    except Exception as exc:  # constriction signals an exhausted or invalid stream
        raise ValueError(f"damaged data: range decoding failed ({exc})") from exc
    return symbols


# --------------------------------------------------------------------------------------------------
# The learned codec: transforms, factorised entropy model, training loss
# --------------------------------------------------------------------------------------------------


class GDN(nn.Module):
    """Generalised divisive normalisation, y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2).

    Balle et al.'s non-linearity: it Gaussianises natural-image responses better than a ReLU. With
    ``inverse=True`` it multiplies instead (IGDN, used in the synthesis transform).
    """

    def __init__(self, channels: int, inverse: bool = False) -> None:
        super().__init__()
        self.inverse = inverse
        # beta and gamma are stored as square roots (squared in forward, so they stay non-negative);
        # the off-diagonal start is small but not zero: an exact zero would get no gradient and the
        # normalisation would stay per-channel for ever.
        self.beta = nn.Parameter(torch.ones(channels))
        self.gamma = nn.Parameter(torch.sqrt(0.1 * torch.eye(channels) + 1e-4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gamma = (self.gamma**2)[:, :, None, None]
        norm = torch.sqrt(F.conv2d(x * x, gamma, self.beta**2 + 1e-6))
        return x * norm if self.inverse else x / norm


class FactorizedDensity(nn.Module):
    """A learned density per latent channel, convolved with a unit-width uniform (Balle et al. 2018).

    Each channel's cumulative distribution is a small monotone network c(y) (positive weights); the
    probability of an integer ``q`` is ``c(q + 1/2) - c(q - 1/2)``, which is also the density of
    ``q + u`` with uniform noise ``u`` that training uses in place of rounding.
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

    def likelihood(self, y: torch.Tensor) -> torch.Tensor:
        """P(y - 1/2 < Y < y + 1/2) for latents ``y`` of shape (n, channels, h, w)."""
        n, c, h, w = y.shape
        v = y.permute(1, 0, 2, 3).reshape(c, 1, -1)
        lower, upper = self.logits_cdf(v - 0.5), self.logits_cdf(v + 0.5)
        sign = -torch.sign(lower + upper).detach()  # subtract in the tail where it is accurate
        p = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()
        return p.clamp_min(1e-9).reshape(c, n, h, w).permute(1, 0, 2, 3)

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


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 5, stride=2, padding=2)


def _deconv(cin: int, cout: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, 5, stride=2, padding=2, output_padding=1)


class TransformCoder(nn.Module):
    """What every learned codec model has: ``analysis``, ``synthesis`` and a factorised ``density``.

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
        y = self.analysis(self.pad(x))
        y_hat = y + (torch.round(y) - y).detach()
        y_rate = y + torch.empty_like(y).uniform_(-0.5, 0.5) if self.training else y_hat
        bits = -torch.log2(self.density.likelihood(y_rate)).sum()
        return self.synthesis(y_hat)[..., :h, :w], bits


class CompressionModel(TransformCoder):
    """Convolutional analysis and synthesis transforms with GDN (Balle et al. 2017), any image size.

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
        self.in_channels, self.depth = in_channels, depth
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
        h, w = x.shape[-2:]
        ph, pw = -h % self.factor, -w % self.factor
        return F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x

    def latent_shape(self, shape: tuple[int, ...]) -> tuple[int, int, int]:
        f = self.factor
        return (self.density.channels, -(-shape[0] // f), -(-shape[1] // f))


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


# --------------------------------------------------------------------------------------------------
# Photographs that ship with scikit-image and scikit-learn, and random training crops
# --------------------------------------------------------------------------------------------------

#: Held out for evaluation: the learned codecs never see these during training.
HELD_OUT = ("china", "flower", "astronaut")
#: Training photographs: the colour ones only. With scikit-image's grey photographs (camera, brick,
#: grass, gravel, moon, coins, clock) in the mix, half the crops had no colour at all and the codec
#: learned to drop colour to save bits (decoded photographs came out nearly grey).
TRAINING = (
    "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "retina",
    "motorcycle_left", "motorcycle_right",
)
#: scikit-image's grey photographs: :func:`photograph` returns them (repeated over three channels)
#: for tests and examples, but the codecs are not trained on them.
GREY = ("camera", "brick", "grass", "gravel", "moon", "coins", "clock")


def photograph(name: str) -> np.ndarray:
    """One of the bundled photographs as a uint8 RGB array (h, w, 3); nothing is downloaded."""
    from skimage import data as skdata

    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(f"{name}.jpg")
    if name in ("motorcycle_left", "motorcycle_right"):
        left, right, _ = skdata.stereo_motorcycle()
        return left if name == "motorcycle_left" else right
    if name not in HELD_OUT + TRAINING + GREY:
        raise ValueError(f"unknown photograph {name!r}; known: {HELD_OUT + TRAINING + GREY}")
    image = getattr(skdata, name)()
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image


class CropSampler:
    """Random ``size`` x ``size`` crops of the training photographs, as float tensors in [0, 1].

    Each crop comes from a photograph chosen uniformly (not by area, which would let the large,
    partly black retina and Hubble images supply half the crops), gets a
    random horizontal flip and a random permutation of its RGB channels (more colour variety from
    few photographs). Seeded through ``generator``, so a run is reproducible and resumable.
    """

    def __init__(self, names: tuple[str, ...] = TRAINING, size: int = 64) -> None:
        overlap = set(names) & set(HELD_OUT)
        if overlap:
            raise ValueError(f"refusing to train on held-out photographs {sorted(overlap)}")
        self.images = [torch.from_numpy(photograph(n)).permute(2, 0, 1).float().div(255.0) for n in names]
        self.weights = torch.full((len(self.images),), 1.0 / len(self.images))
        self.size = size

    def sample(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        """A batch of crops of shape (batch, 3, size, size)."""
        which = torch.multinomial(self.weights, batch, replacement=True, generator=generator)
        crops = []
        for i in which.tolist():
            image = self.images[i]
            top = int(torch.randint(image.shape[1] - self.size + 1, (1,), generator=generator))
            left = int(torch.randint(image.shape[2] - self.size + 1, (1,), generator=generator))
            crop = image[torch.randperm(3, generator=generator), top:top + self.size, left:left + self.size]
            if torch.rand(1, generator=generator).item() < 0.5:
                crop = crop.flip(-1)
            crops.append(crop)
        return torch.stack(crops)


@dataclass(frozen=True)
class PretrainStage:
    """One run of ``scripts/pretrain_codec.py``: objective, length and starting point.

    The shipped weights ``data/codec_<name>.pt`` are what these stages produce, in this order.
    """

    name: str
    lam: float
    distortion: str
    steps: int
    lr: float
    init: str | None = None  # stage whose weights to start from
    crop: int = 64
    batch: int = 8
    seed: int = 0


PRETRAIN_STAGES = (
    PretrainStage("mse_mid", lam=0.0035, distortion="mse", steps=3500, lr=2e-3),
    PretrainStage("mse_low", lam=0.0015, distortion="mse", steps=300, lr=1e-3, init="mse_mid", seed=1),
    PretrainStage("mse_high", lam=0.0090, distortion="mse", steps=300, lr=1e-3, init="mse_mid", seed=2),
    PretrainStage("msssim_mid", lam=8.0, distortion="ms-ssim", steps=400, lr=1e-3, init="mse_mid", crop=128, batch=2, seed=3),
)

# --------------------------------------------------------------------------------------------------
# Codecs on top of the transforms: the learned codec and the linear (PCA) codec
# --------------------------------------------------------------------------------------------------


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 (h, w[, c]) -> float (1, c, h, w) in [0, 1]."""
    x = torch.from_numpy(np.array(image, dtype=np.float32)).div(255.0)
    return (x[None] if x.ndim == 2 else x.permute(2, 0, 1))[None]


def _to_image(x: torch.Tensor, shape: tuple[int, ...]) -> np.ndarray:
    """float (1, c, h, w) -> uint8 of ``shape``, rounded and clipped to 0..255."""
    out = x[0].clamp(0, 1).mul(255.0).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return np.ascontiguousarray(out.reshape(shape))


class LearnedCodec:
    """A trained :class:`TransformCoder` turned into a codec with a real bitstream.

    ``encode`` runs the analysis transform, rounds the latents, clamps them to
    [-radius, radius] and range-codes them with the model's factorised probabilities (constriction);
    ``decode`` inverts that and runs the synthesis transform. Every byte is counted: a 10-byte
    header (magic byte, height, width, channels, CRC-32 that turns damage into ``ValueError``) and
    the range coder's 32-bit words.

    Parameters
    ----------
    model : TransformCoder, optional
        The transforms and the entropy model; by default a fresh, untrained
        :class:`CompressionModel` for RGB images.
    radius : int
        Latents are clamped to [-radius, radius]; :meth:`clamped_fraction` says how often that bites.
    """

    header_size = _HEADER.size

    def __init__(self, model: TransformCoder | None = None, radius: int = 48) -> None:
        if radius < 1:
            raise ValueError(f"radius must be a positive integer, got {radius}")
        self.model = (model or CompressionModel()).eval()
        self.radius = radius

    def _check(self, image: np.ndarray) -> np.ndarray:
        image = check_image(image)
        channels = 1 if image.ndim == 2 else image.shape[2]
        if channels != self.model.in_channels:
            raise ValueError(f"this codec's model takes {self.model.in_channels}-channel images, got shape {image.shape}")
        return image

    @torch.no_grad()
    def latents(self, image: np.ndarray) -> np.ndarray:
        """The quantised latents of ``image``: round(analysis(x)) clamped, shape (channels, h', w')."""
        x = self.model.pad(_to_tensor(self._check(image)))
        y = torch.round(self.model.analysis(x))[0]
        return y.clamp(-self.radius, self.radius).to(torch.int64).numpy()

    @torch.no_grad()
    def synthesise(self, latents: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """The decoder: the image of ``shape`` that the quantised ``latents`` describe."""
        h, w = shape[:2]
        x = self.model.synthesis(torch.from_numpy(latents).float()[None])[..., :h, :w]
        return _to_image(x, shape)

    def _pmfs(self) -> np.ndarray:
        return _quantised_pmfs(self.model.density.pmfs(self.radius))

    def _rows(self, latent_shape: tuple[int, int, int]) -> np.ndarray:
        c, h, w = latent_shape
        return np.repeat(np.arange(c), h * w)

    def encode(self, image: np.ndarray) -> bytes:
        """Header + range-coded quantised latents."""
        y = self.latents(image)
        payload = entropy_encode((y + self.radius).ravel(), self._rows(y.shape), self._pmfs())
        return _pack("learned", image.shape, payload)

    def decode(self, data: bytes) -> np.ndarray:
        """The image from the bytes of :meth:`encode`; damaged bytes raise ValueError."""
        shape, payload = _unpack("learned", data)
        if (1 if len(shape) == 2 else shape[2]) != self.model.in_channels:
            raise ValueError(f"data holds a {shape} image; this codec's model takes {self.model.in_channels} channels")
        latent_shape = self.model.latent_shape(shape)
        symbols = entropy_decode(payload, self._rows(latent_shape), self._pmfs())
        return self.synthesise((symbols - self.radius).reshape(latent_shape), shape)

    def reconstruct(self, image: np.ndarray) -> np.ndarray:
        """What :meth:`decode` returns for ``encode(image)``, computed without the bitstream."""
        return self.synthesise(self.latents(image), np.asarray(image).shape)

    def estimated_bits(self, image: np.ndarray) -> float:
        """Ideal code length of the latents under the model, -sum log2 p(y), in bits (no header)."""
        y = self.latents(image)
        pmfs = self._pmfs()
        return float(-np.log2(pmfs[self._rows(y.shape), (y + self.radius).ravel()]).sum())

    def clamped_fraction(self, image: np.ndarray) -> float:
        """Fraction of latents that reach the clamp at +-radius (should be 0 for a trained model)."""
        return float(np.mean(np.abs(self.latents(image)) >= self.radius))


def load_codec_model(name: str, **kwargs) -> CompressionModel:
    """A pretrained :class:`CompressionModel` from ``data/codec_<name>.pt`` (checksum verified)."""
    from autoencoders.data import data_path

    model = CompressionModel(**kwargs)
    state = torch.load(data_path(f"codec_{name}.pt"), map_location="cpu", weights_only=True)
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()


class PCACodec:
    """The linear transform codec: PCA on b x b blocks, uniform quantisation, entropy coding.

    The encoder is the linear autoencoder of the PCA chapter (project each block on the top ``k``
    principal components), then each coefficient is rounded to a multiple of ``step`` and range-coded
    with a per-component histogram learned by :meth:`fit`. With ``block`` equal to the image size
    it is a whole-image PCA codec.

    Parameters
    ----------
    block : int
        Side of the square blocks (images are edge-padded to a multiple of it).
    k : int, optional
        Components kept; all of them by default.
    step : float
        Quantisation step of the coefficients, in grey levels (0..255): larger means fewer bits.
    radius : int
        Quantised coefficients are clamped to [-radius, radius].
    """

    header_size = _HEADER.size

    def __init__(self, block: int = 8, k: int | None = None, step: float = 16.0, radius: int = 64) -> None:
        if block < 1 or step <= 0 or radius < 1 or (k is not None and k < 1):
            raise ValueError(f"need block >= 1, step > 0, radius >= 1, k >= 1; got {block}, {step}, {radius}, {k}")
        self.block, self.k, self.step, self.radius = block, k, float(step), radius
        self.pca_ = None

    def _blocks(self, image: np.ndarray) -> np.ndarray:
        """Edge-padded image -> rows of b*b*c values in 0..255."""
        b = self.block
        img = image if image.ndim == 3 else image[..., None]
        h, w, c = img.shape
        img = np.pad(img, ((0, -h % b), (0, -w % b), (0, 0)), mode="edge").astype(np.float64)
        hb, wb = img.shape[0] // b, img.shape[1] // b
        return img.reshape(hb, b, wb, b, c).transpose(0, 2, 1, 3, 4).reshape(hb * wb, b * b * c)

    def fit(self, images) -> "PCACodec":
        """Learn the components from training images and the coefficient histograms at ``step``."""
        from sklearn.decomposition import PCA

        images = [check_image(im) for im in images]
        if not images:
            raise ValueError("fit needs at least one training image")
        self.channels_ = 1 if images[0].ndim == 2 else images[0].shape[2]
        blocks = np.concatenate([self._blocks(im) for im in images])
        k = min(self.k or blocks.shape[1], *blocks.shape)
        self.pca_ = PCA(n_components=k, random_state=0).fit(blocks)  # sklearn picks the SVD solver
        q = self._quantise(self.pca_.transform(blocks))
        counts = np.stack([np.bincount(col, minlength=2 * self.radius + 1) for col in q.T]).astype(np.float64)
        self.pmfs_ = _quantised_pmfs(counts + 0.5)  # add-1/2 so unseen values stay codable
        return self

    def _quantise(self, coefficients: np.ndarray) -> np.ndarray:
        """Coefficient indices in 0..2 radius (rounded to the step, clamped, shifted)."""
        return np.clip(np.round(coefficients / self.step), -self.radius, self.radius).astype(np.int64) + self.radius

    def _check(self, image: np.ndarray) -> np.ndarray:
        if self.pca_ is None:
            raise ValueError("this PCACodec is not fitted yet: call fit(training_images) first")
        image = check_image(image)
        if (1 if image.ndim == 2 else image.shape[2]) != self.channels_:
            raise ValueError(f"codec fitted on {self.channels_}-channel images, got shape {image.shape}")
        return image

    def _n_blocks(self, shape: tuple[int, ...]) -> int:
        return -(-shape[0] // self.block) * -(-shape[1] // self.block)

    def encode(self, image: np.ndarray) -> bytes:
        """Header + range-coded quantised PCA coefficients of every block."""
        image = self._check(image)
        q = self._quantise(self.pca_.transform(self._blocks(image)))
        rows = np.tile(np.arange(q.shape[1]), q.shape[0])
        return _pack("pca", image.shape, entropy_encode(q.ravel(), rows, self.pmfs_))

    def decode(self, data: bytes) -> np.ndarray:
        """The image from the bytes of :meth:`encode`; damaged bytes raise ValueError."""
        shape, payload = _unpack("pca", data)
        if self.pca_ is None:
            raise ValueError("this PCACodec is not fitted yet: call fit(training_images) first")
        k, n = self.pca_.n_components_, self._n_blocks(shape)
        q = entropy_decode(payload, np.tile(np.arange(k), n), self.pmfs_).reshape(n, k)
        blocks = self.pca_.inverse_transform((q - self.radius) * self.step)
        b, c = self.block, self.channels_
        hb, wb = -(-shape[0] // b), -(-shape[1] // b)
        img = blocks.reshape(hb, wb, b, b, c).transpose(0, 2, 1, 3, 4).reshape(hb * b, wb * b, c)
        out = np.clip(np.round(img[: shape[0], : shape[1]]), 0, 255).astype(np.uint8)
        return out.reshape(shape)


# --------------------------------------------------------------------------------------------------
# Measuring rate and distortion
# --------------------------------------------------------------------------------------------------


def measure(codec: Codec, images, ms_ssim: bool = True) -> dict[str, float]:
    """Mean bits per pixel, bytes, PSNR (dB) and MS-SSIM of ``codec`` over ``images``.

    Every number comes from the bytes: the rate from ``len(encode(image))`` and the quality from
    ``decode`` of those bytes. MS-SSIM needs images larger than 160 pixels (skip it for digits).
    """
    from autoencoders import metrics

    rows = []
    for image in images:
        data = codec.encode(image)
        decoded = codec.decode(data)
        row = [bits_per_pixel(len(data), image.shape), len(data), metrics.psnr(image, decoded, 255.0)]
        if ms_ssim:
            row.append(metrics.ms_ssim(image, decoded))
        rows.append(row)
    mean = np.mean(rows, axis=0)
    keys = ["bpp", "bytes", "psnr", "ms_ssim"][: len(mean)]
    return dict(zip(keys, (float(v) for v in mean)))


def at_rate(bpp: np.ndarray, values: np.ndarray, target: float) -> float:
    """A rate-distortion curve's value at ``target`` bits per pixel, interpolated in log-rate.

    Returns NaN when ``target`` lies outside the measured rates: no extrapolation.
    """
    bpp, values = np.asarray(bpp, dtype=float), np.asarray(values, dtype=float)
    order = np.argsort(bpp)
    bpp, values = bpp[order], values[order]
    if not bpp[0] <= target <= bpp[-1]:
        return float("nan")
    return float(np.interp(np.log(target), np.log(bpp), values))
