"""The learned codec: a trained transform coder with a real bitstream, and the shipped weights."""

from __future__ import annotations

import numpy as np
import torch

from autoencoders.compression.bitstream import (
    HEADER_SIZE, check_codec_image, entropy_decode, entropy_encode, normalised_pmfs, pack, unpack,
)
from autoencoders.compression.learned import CompressionModel, TransformCoder

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

    header_size = HEADER_SIZE

    def __init__(self, model: TransformCoder | None = None, radius: int = 48) -> None:
        if radius < 1:
            raise ValueError(f"radius must be a positive integer, got {radius}")
        self.model = (model or CompressionModel()).eval()
        self.radius = radius

    def _check(self, image: np.ndarray) -> np.ndarray:
        image = check_codec_image(image)
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
        return normalised_pmfs(self.model.density.pmfs(self.radius))

    def _rows(self, latent_shape: tuple[int, int, int]) -> np.ndarray:
        c, h, w = latent_shape
        return np.repeat(np.arange(c), h * w)

    def encode(self, image: np.ndarray) -> bytes:
        """Header + range-coded quantised latents."""
        y = self.latents(image)
        payload = entropy_encode((y + self.radius).ravel(), self._rows(y.shape), self._pmfs())
        return pack("learned", image.shape, payload)

    def decode(self, data: bytes) -> np.ndarray:
        """The image from the bytes of :meth:`encode`; damaged bytes raise ValueError."""
        shape, payload = unpack("learned", data)
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


#: The shipped codecs (``data/codec_<name>.pt``): MSE models at four rates, lowest first, and an
#: MS-SSIM model. ``scripts/pretrain_codec.py`` writes them (see ``PRETRAIN_STAGES``).
SHIPPED = ("mse_1", "mse_2", "mse_3", "mse_4", "msssim_2")


def load_codec_model(name: str) -> CompressionModel:
    """The pretrained :class:`CompressionModel` ``name`` (one of :data:`SHIPPED`), in eval mode.

    The file's SHA-256 is checked (:func:`autoencoders.data.data_path`) and its weights are read
    with ``torch.load(..., weights_only=True)`` (:func:`autoencoders.training.load`).
    """
    from autoencoders import data, training

    if name not in SHIPPED:
        raise ValueError(f"unknown codec {name!r}; the shipped ones are {SHIPPED}")
    model = CompressionModel()
    return training.load(model, data.data_path(f"codec_{name}.pt"), device=torch.device("cpu"))


def load_codec(name: str, radius: int = 48) -> LearnedCodec:
    """The ready-to-use learned codec ``name`` (one of :data:`SHIPPED`): ``encode`` and ``decode``.

    ``LearnedCodec()`` gives an untrained one; ``LearnedCodec(model)`` wraps a model of your own.
    """
    return LearnedCodec(load_codec_model(name), radius=radius)
