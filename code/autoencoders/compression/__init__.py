"""Codecs with real bitstreams: classical (Pillow), linear (PCA on blocks) and learned (Balle et al.).

Every codec has the same two methods, ``encode(image) -> bytes`` and ``decode(data) -> image``, on
uint8 arrays of shape (h, w) or (h, w, c); damaged bytes make ``decode`` raise ``ValueError``.
Rates are computed from ``len(encode(image))`` and nothing else, so every header byte is counted.

- :mod:`~autoencoders.compression.bitstream`: the interface, bits per pixel, our 10-byte header,
  range coding with ``constriction``
- :mod:`~autoencoders.compression.classical`: JPEG, JPEG 2000, WebP and PNG through Pillow
- :mod:`~autoencoders.compression.linear`: the PCA block codec
- :mod:`~autoencoders.compression.learned`: GDN, the factorised density, the scale hyperprior, the
  transforms, the loss
- :mod:`~autoencoders.compression.codec`: the learned codec's bitstream and the shipped weights
  (``load_codec("mse_2")``)
- :mod:`~autoencoders.compression.photographs`: held-out and training photographs, crops, stages
- :mod:`~autoencoders.compression.rate_distortion`: measurement, comparison at equal rate per image
"""

from autoencoders.compression import bitstream, classical, codec, learned, linear, photographs, rate_distortion
from autoencoders.compression.bitstream import (
    HEADER_SIZE, MAX_PIXELS, Codec, bits_per_pixel, check_codec_image, entropy_decode, entropy_encode, rate,
)
from autoencoders.compression.classical import PillowCodec, header_bytes, match_rate
from autoencoders.compression.codec import RADIUS, SHIPPED, HyperpriorCodec, LearnedCodec, load_codec, load_codec_model
from autoencoders.compression.learned import (
    GDN, CompressionModel, DenseCompressionModel, FactorizedDensity, HyperpriorModel, NonNegative, TransformCoder,
    rd_loss,
)
from autoencoders.compression.linear import PCACodec
from autoencoders.compression.photographs import (
    GREY, HELD_OUT, PRETRAIN_STAGES, TRAINING, CropSampler, PretrainStage, photograph, pretrain_lineage,
)
from autoencoders.compression.rate_distortion import (
    at_rate, at_rates, mean_at_rates, mean_of_settings, measure, measure_images, rd_curve,
)

__all__ = [
    "bitstream", "classical", "codec", "learned", "linear", "photographs", "rate_distortion",
    "HEADER_SIZE", "MAX_PIXELS", "Codec", "bits_per_pixel", "check_codec_image", "entropy_decode",
    "entropy_encode", "rate",
    "PillowCodec", "header_bytes", "match_rate",
    "RADIUS", "SHIPPED", "HyperpriorCodec", "LearnedCodec", "load_codec", "load_codec_model",
    "GDN", "CompressionModel", "DenseCompressionModel", "FactorizedDensity", "HyperpriorModel", "NonNegative",
    "TransformCoder",
    "rd_loss",
    "PCACodec",
    "GREY", "HELD_OUT", "PRETRAIN_STAGES", "TRAINING", "CropSampler", "PretrainStage", "photograph",
    "pretrain_lineage",
    "at_rate", "at_rates", "mean_at_rates", "mean_of_settings", "measure", "measure_images", "rd_curve",
]
