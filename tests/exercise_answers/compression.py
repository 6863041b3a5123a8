"""Plausible wrong answers to the exercises of chapters/03_compression.ipynb; each check must reject them."""

import numpy as np


def _bpp_with_channels(data, shape):
    return 8 * len(data) / int(np.prod(shape))


def _bpp_bytes_not_bits(data, shape):
    return len(data) / (shape[0] * shape[1])


def _quantise_floor(z, step):
    return np.floor(z / step) * step


def _quantise_no_rescale(z, step):
    return np.round(z / step)


def _bits_natural_log(symbols):
    _, counts = np.unique(symbols, return_counts=True)
    p = counts / len(symbols)
    return len(symbols) * -(p * np.log(p)).sum()


def _bits_per_symbol(symbols):
    _, counts = np.unique(symbols, return_counts=True)
    p = counts / len(symbols)
    return -(p * np.log2(p)).sum()


def _bits_uniform(symbols):
    return len(symbols) * np.log2(len(np.unique(symbols)))


WRONG_ANSWERS = {
    "comp-bpp": [
        ("counted colour channels as pixels", _bpp_with_channels),
        ("bytes per pixel instead of bits", _bpp_bytes_not_bits),
        ("returned None", lambda data, shape: None),
    ],
    "comp-quantise": [
        ("floor instead of round", _quantise_floor),
        ("forgot to multiply back by the step", _quantise_no_rescale),
    ],
    "comp-entropy": [
        ("natural log (nats, not bits)", _bits_natural_log),
        ("entropy per symbol instead of the total", _bits_per_symbol),
        ("log2 of the alphabet size (a uniform code)", _bits_uniform),
    ],
}
