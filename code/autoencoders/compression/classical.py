"""The classical codecs through Pillow (JPEG, JPEG 2000, WebP, PNG), their headers, rate matching."""

from __future__ import annotations

import io
import struct
from typing import Callable

import numpy as np
from PIL import Image

from autoencoders.compression.bitstream import MAX_PIXELS, Codec, check_codec_image, rate

class PillowCodec:
    """A classical image codec of Pillow at a fixed ``quality``: JPEG, JPEG 2000, WebP or PNG.

    Parameters
    ----------
    format : {"JPEG", "JPEG2000", "WEBP", "PNG"}
        The file format; JPEG 2000 is written as a raw J2K codestream (no JP2 box), the smallest
        container Pillow offers.
    quality : float
        JPEG and WebP: Pillow's quality, 1 (worst) to 95 (JPEG) or 0 to 100 (WebP). JPEG 2000: the
        target PSNR in dB of OpenJPEG's fixed-quality mode (higher is better), or with
        ``target="bpp"`` the target rate in bits per pixel of its fixed-rate mode; always with the
        irreversible 9/7 wavelet of lossy JPEG 2000 (Pillow's default is the lossless 5/3 one).
        Ignored for PNG.
    mode : str, optional
        Pillow mode that decoded images are converted to; WebP always stores colour, so grey
        images come back as grey only with ``mode="L"``.
    target : {"psnr", "bpp"}
        What a JPEG 2000 ``quality`` means (see above). A fixed rate puts every image at about the
        same rate, which a fixed PSNR does not.
    """

    FORMATS = ("JPEG", "JPEG2000", "WEBP", "PNG")
    QUALITY_RANGE = {"JPEG": (1.0, 95.0), "JPEG2000": (15.0, 60.0), "WEBP": (0.0, 100.0), "PNG": (0.0, 0.0),
                     "JPEG2000-bpp": (0.005, 8.0)}

    def __init__(self, format: str = "JPEG", quality: float = 75.0, mode: str | None = None,
                 target: str = "psnr") -> None:
        if format not in self.FORMATS:
            raise ValueError(f"format must be one of {self.FORMATS}, got {format!r}")
        if target not in ("psnr", "bpp") or (target == "bpp" and format != "JPEG2000"):
            raise ValueError(f"target must be 'psnr', or 'bpp' for JPEG2000; got {target!r} for {format}")
        self.target = target
        lo, hi = self.QUALITY_RANGE[format + ("-bpp" if target == "bpp" else "")]
        if format != "PNG" and not lo <= quality <= hi:
            raise ValueError(f"{format} quality must lie in [{lo}, {hi}], got {quality}")
        if mode not in (None, "L", "RGB"):
            raise ValueError(f"mode must be None, 'L' or 'RGB', got {mode!r}")
        self.format, self.quality, self.mode = format, float(quality), mode

    def __repr__(self) -> str:
        target = ", target='bpp'" if self.target == "bpp" else ""
        return f"PillowCodec({self.format!r}, quality={self.quality:g}{target})"

    def _options(self, channels: int) -> dict:
        if self.format == "JPEG":
            return {"quality": int(round(self.quality)), "optimize": True}
        if self.format == "WEBP":
            return {"quality": self.quality, "method": 6}
        if self.format == "JPEG2000" and self.target == "bpp":  # OpenJPEG takes a compression ratio
            ratio = 8.0 * channels / self.quality
            return {"quality_mode": "rates", "quality_layers": [ratio], "no_jp2": True, "irreversible": True}
        if self.format == "JPEG2000":
            return {"quality_mode": "dB", "quality_layers": [self.quality], "no_jp2": True, "irreversible": True}
        return {"optimize": True}

    def encode(self, image: np.ndarray) -> bytes:
        """The image file's bytes, container and header included."""
        image = check_codec_image(image)
        buffer = io.BytesIO()
        Image.fromarray(image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image).save(
            buffer, format=self.format, **self._options(1 if image.ndim == 2 else image.shape[2])
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

    Our codecs declare theirs (``header_size``, :data:`~autoencoders.compression.bitstream.HEADER_SIZE`). For a Pillow format it is measured as the
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

