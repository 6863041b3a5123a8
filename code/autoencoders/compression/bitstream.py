"""The bitstream: the codec interface, the rate in bits per pixel, our header, entropy coding.

Every codec has ``encode(image) -> bytes`` and ``decode(data) -> image`` on uint8 arrays of shape
(h, w) or (h, w, c). Rates are computed from ``len(encode(image))`` and nothing else
(:func:`bits_per_pixel`), so every header and container byte is counted. Our own codecs (PCA and
learned) write a 10-byte header with a CRC-32 (:func:`pack`), then integer symbols range-coded by
``constriction`` with per-symbol categorical models (:func:`entropy_encode`).
"""

from __future__ import annotations

import struct
import zlib
from typing import Protocol

import constriction
import numpy as np

class Codec(Protocol):
    """What every codec of this module provides."""

    def encode(self, image: np.ndarray) -> bytes: ...

    def decode(self, data: bytes) -> np.ndarray: ...


def check_codec_image(image: np.ndarray) -> np.ndarray:
    """Return ``image`` if a codec can take it: a uint8 array of shape (h, w) or (h, w, 1|3), else raise ValueError."""
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



MAX_PIXELS = 1 << 24  # refuse headers that announce more pixels than this (nothing hangs)
#: The first byte of each of our formats: it says which codec wrote the data.
FORMAT_BYTE = {"pca": 0xA1, "learned": 0xA2, "hyperprior": 0xA3}
#: Our header: format byte, height, width, channels, CRC-32 of the fields and the payload.
HEADER = struct.Struct(">BHHBI")
#: Its size in bytes (10): every file of our codecs starts with it.
HEADER_SIZE = HEADER.size


def pack(kind: str, shape: tuple[int, ...], payload: bytes) -> bytes:
    """Our 10-byte header (format byte, h, w, c, CRC-32 of the fields and the payload), then the payload."""
    h, w = shape[:2]
    c = shape[2] if len(shape) == 3 else 0
    if h > 0xFFFF or w > 0xFFFF:
        raise ValueError(f"image of shape {shape} is too large for this codec's header")
    fields = struct.pack(">BHHB", FORMAT_BYTE[kind], h, w, c)
    return HEADER.pack(FORMAT_BYTE[kind], h, w, c, zlib.crc32(fields + payload)) + payload


def unpack(kind: str, data: bytes) -> tuple[tuple[int, ...], bytes]:
    """Check header and checksum; return the image shape and the payload, or raise ValueError."""
    data = bytes(data)
    if len(data) < HEADER.size:
        raise ValueError(f"data too short: {len(data)} bytes, a header alone has {HEADER.size}")
    first, h, w, c, crc = HEADER.unpack_from(data)
    if first != FORMAT_BYTE[kind]:
        raise ValueError(f"not {kind} codec data (first byte {first:#x}, expected {FORMAT_BYTE[kind]:#x})")
    if h == 0 or w == 0 or c not in (0, 1, 3) or h * w > MAX_PIXELS:
        raise ValueError(f"corrupt header: shape ({h}, {w}, {c})")
    payload = data[HEADER.size:]
    if zlib.crc32(data[: HEADER.size - 4] + payload) != crc:
        raise ValueError("data damaged: the CRC-32 of header and payload does not match")
    return ((h, w) if c == 0 else (h, w, c)), payload


#: The smallest probability constriction's models give a symbol (they quantise to 24 bits).
MIN_PROBABILITY = 2.0**-24


def normalised_pmfs(pmfs: np.ndarray) -> np.ndarray:
    """Rows of non-negative weights as float64 probabilities that sum to one.

    Each probability is at least :data:`MIN_PROBABILITY`, as in the coder, so that an ideal code
    length computed from these rows is what the coder writes even for a symbol the model thought
    nearly impossible. constriction quantises the rows to integers itself.
    """
    pmfs = np.clip(np.asarray(pmfs, dtype=np.float64), MIN_PROBABILITY, None)
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

