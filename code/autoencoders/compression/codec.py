"""The learned codecs: trained transform coders with real bitstreams, and the shipped weights."""

from __future__ import annotations

import struct

import numpy as np
import torch

from autoencoders.compression.bitstream import (
    HEADER_SIZE, check_codec_image, entropy_decode, entropy_encode, normalised_pmfs, pack, unpack,
)
from autoencoders.compression.learned import (
    SCALE_BOUND, CompressionModel, HyperpriorModel, TransformCoder, gaussian_pmfs,
)

def _to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 (h, w[, c]) -> float (1, c, h, w) in [0, 1]."""
    x = torch.from_numpy(np.array(image, dtype=np.float32)).div(255.0)
    return (x[None] if x.ndim == 2 else x.permute(2, 0, 1))[None]


def _code_length(symbols: np.ndarray, rows: np.ndarray, pmfs: np.ndarray) -> float:
    """-sum log2 pmfs[rows[i], symbols[i]] in bits: the ideal length the range coder approaches."""
    return float(-np.log2(pmfs[rows, symbols.ravel()]).sum())


def _to_image(x: torch.Tensor, shape: tuple[int, ...]) -> np.ndarray:
    """float (1, c, h, w) -> uint8 of ``shape``, rounded and clipped to 0..255."""
    out = x[0].clamp(0, 1).mul(255.0).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return np.ascontiguousarray(out.reshape(shape))


#: Latents are clamped to [-RADIUS, RADIUS] before coding. Wide enough that no shipped codec
#: clamps a held-out photograph: at 48 the highest-rate codec lost up to 1.6 dB of PSNR there.
RADIUS = 128


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

    def __init__(self, model: TransformCoder | None = None, radius: int = RADIUS) -> None:
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
    def analyse(self, image: np.ndarray) -> torch.Tensor:
        """The encoder's output before rounding, shape (1, channels, h', w')."""
        return self.model.analysis(self.model.pad(_to_tensor(self._check(image))))

    def quantise(self, y: torch.Tensor) -> np.ndarray:
        """Round and clamp latents (1, channels, h', w') to integers, shape (channels, h', w')."""
        return torch.round(y)[0].clamp(-self.radius, self.radius).to(torch.int64).numpy()

    def latents(self, image: np.ndarray) -> np.ndarray:
        """The quantised latents of ``image``: round(analysis(x)) clamped, shape (channels, h', w')."""
        return self.quantise(self.analyse(image))

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

    def _unpack(self, kind: str, data: bytes) -> tuple[tuple[int, ...], bytes]:
        """:func:`unpack`, and a check that the image has the channels this codec's model takes."""
        shape, payload = unpack(kind, data)
        if (1 if len(shape) == 2 else shape[2]) != self.model.in_channels:
            raise ValueError(f"data holds a {shape} image; this codec's model takes {self.model.in_channels} channels")
        return shape, payload

    def decode(self, data: bytes) -> np.ndarray:
        """The image from the bytes of :meth:`encode`; damaged bytes raise ValueError."""
        shape, payload = self._unpack("learned", data)
        latent_shape = self.model.latent_shape(shape)
        symbols = entropy_decode(payload, self._rows(latent_shape), self._pmfs())
        return self.synthesise((symbols - self.radius).reshape(latent_shape), shape)

    def reconstruct(self, image: np.ndarray) -> np.ndarray:
        """What :meth:`decode` returns for ``encode(image)``, computed without the bitstream."""
        return self.synthesise(self.latents(image), np.asarray(image).shape)

    def estimated_bits(self, image: np.ndarray) -> float:
        """Ideal code length of the latents under the model, -sum log2 p(y), in bits (no header)."""
        y = self.latents(image)
        return _code_length(y + self.radius, self._rows(y.shape), self._pmfs())

    def clamped_fraction(self, image: np.ndarray) -> float:
        """Fraction of latents that reach the clamp at +-radius (should be 0 for a trained model)."""
        return float(np.mean(np.abs(self.latents(image)) >= self.radius))


#: The scales of the Gaussian models the coder uses (CompressAI's table): each predicted scale is
#: rounded up to the next of these 64 values, so the coder needs only 64 tables of probabilities.
SCALE_TABLE = np.exp(np.linspace(np.log(SCALE_BOUND), np.log(256.0), 64))


class HyperpriorCodec(LearnedCodec):
    """A trained :class:`HyperpriorModel` turned into a codec with a real bitstream.

    ``encode`` writes the header, the length of the side information (4 bytes), the range-coded
    hyper-latents ``z`` (factorised probabilities) and then the latents ``y``, each with the
    Gaussian of the scale that the decoder computes from ``z`` (rounded up to :data:`SCALE_TABLE`).
    """

    model: HyperpriorModel

    def __init__(self, model: HyperpriorModel | None = None, radius: int = RADIUS) -> None:
        super().__init__(model or HyperpriorModel(), radius)
        self._scale_pmfs = normalised_pmfs(gaussian_pmfs(SCALE_TABLE, radius))

    @torch.no_grad()
    def _symbols(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The quantised latents ``y`` and hyper-latents ``z`` of ``image``."""
        y = self.analyse(image)
        return self.quantise(y), self.quantise(self.model.hyper_analyse(y))

    @torch.no_grad()
    def _scale_rows(self, z: np.ndarray, latent_shape: tuple[int, int, int]) -> np.ndarray:
        """For each latent of ``y`` (in C order), the index of its scale in :data:`SCALE_TABLE`."""
        scales = self.model.scales(torch.from_numpy(z).float()[None], latent_shape[1:])[0].numpy()
        return np.minimum(np.searchsorted(SCALE_TABLE, scales.ravel()), len(SCALE_TABLE) - 1)

    def encode(self, image: np.ndarray) -> bytes:
        """Header + length of the side information + range-coded ``z`` + range-coded ``y``."""
        y, z = self._symbols(image)
        side = entropy_encode((z + self.radius).ravel(), self._rows(z.shape), self._pmfs())
        main = entropy_encode((y + self.radius).ravel(), self._scale_rows(z, y.shape), self._scale_pmfs)
        return pack("hyperprior", image.shape, struct.pack(">I", len(side)) + side + main)

    def _split(self, data: bytes) -> tuple[tuple[int, ...], bytes, bytes]:
        """The image shape, the range-coded ``z`` and the range-coded ``y`` of ``data``."""
        shape, payload = self._unpack("hyperprior", data)
        n_side = struct.unpack_from(">I", payload)[0] if len(payload) >= 4 else None
        if n_side is None or n_side > len(payload) - 4:
            raise ValueError("damaged data: the length of the side information does not fit the payload")
        return shape, payload[4:4 + n_side], payload[4 + n_side:]

    def side_information_bytes(self, data: bytes) -> int:
        """How many bytes of ``data`` (from :meth:`encode`) the range-coded hyper-latents take."""
        return len(self._split(data)[1])

    def decode(self, data: bytes) -> np.ndarray:
        """The image from the bytes of :meth:`encode`; damaged bytes raise ValueError."""
        shape, side, main = self._split(data)
        z_shape, y_shape = self.model.hyper_latent_shape(shape), self.model.latent_shape(shape)
        z = (entropy_decode(side, self._rows(z_shape), self._pmfs()) - self.radius).reshape(z_shape)
        y = entropy_decode(main, self._scale_rows(z, y_shape), self._scale_pmfs) - self.radius
        return self.synthesise(y.reshape(y_shape), shape)

    def clamped_fraction(self, image: np.ndarray) -> float:
        """Fraction of latents ``y`` and hyper-latents ``z`` that reach the clamp at +-radius."""
        y, z = self._symbols(image)
        return float(np.mean(np.abs(np.concatenate([y.ravel(), z.ravel()])) >= self.radius))

    def estimated_bits(self, image: np.ndarray) -> float:
        """Ideal code length of ``z`` and ``y`` under the models, in bits (no header or length)."""
        y, z = self._symbols(image)
        return (_code_length(z + self.radius, self._rows(z.shape), self._pmfs())
                + _code_length(y + self.radius, self._scale_rows(z, y.shape), self._scale_pmfs))


#: The shipped codecs (``data/codec_<name>.pt``): MSE models at four rates, lowest first, and an
#: MS-SSIM model. ``scripts/pretrain_codec.py`` writes them (see ``PRETRAIN_STAGES``).
SHIPPED = ("mse_1", "mse_2", "mse_3", "mse_4", "msssim_2")


def load_codec_model(name: str) -> CompressionModel:
    """The pretrained model ``name`` (one of :data:`SHIPPED`), in eval mode.

    Its architecture is that of its stage in ``PRETRAIN_STAGES``. The file's SHA-256 is checked
    (:func:`autoencoders.data.data_path`) and its weights are read with
    ``torch.load(..., weights_only=True)`` (:func:`autoencoders.training.load`).
    """
    from autoencoders import data, training
    from autoencoders.compression.photographs import PRETRAIN_STAGES

    if name not in SHIPPED:
        raise ValueError(f"unknown codec {name!r}; the shipped ones are {SHIPPED}")
    model = next(s for s in PRETRAIN_STAGES if s.name == name).build()
    return training.load(model, data.data_path(f"codec_{name}.pt"), device=torch.device("cpu"))


def load_codec(name: str, radius: int = RADIUS) -> LearnedCodec:
    """The ready-to-use learned codec ``name`` (one of :data:`SHIPPED`): ``encode`` and ``decode``.

    ``LearnedCodec()`` gives an untrained one; ``LearnedCodec(model)`` wraps a model of your own
    (``HyperpriorCodec(model)`` one with a hyperprior).
    """
    model = load_codec_model(name)
    return (HyperpriorCodec if isinstance(model, HyperpriorModel) else LearnedCodec)(model, radius=radius)
