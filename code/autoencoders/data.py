"""The data sets the chapters share; nothing is downloaded at run time.

``load_mnist`` reads the 5,000 MNIST digits shipped in ``data/mnist_5k.npz`` (4,000 train,
1,000 test, stratified), after checking the file's SHA-256. ``load_digits_8x8`` gives
scikit-learn's 1,797 8x8 digits for the smallest examples.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

DATA_DIR = Path(__file__).resolve().parents[2] / "data"

#: SHA-256 of every file in ``data/``; data/README.md lists the same values.
CHECKSUMS = {
    "mnist_5k.npz": "2cc2f39bd938518e537be8f601c43f6e15abfd88b6d9020bbe46344398aeae4e",
    "codec_mse_1.pt": "8d282ec9a6069ee97ffc05b148054cb4e79f88a4f1be35e8aea28c2eb9c8ae34",
    "codec_mse_2.pt": "0cea62b6308b9569d27686a09066a8576a80cae141a74abc043213c789da81e9",
    "codec_mse_3.pt": "25ddd6522e4113d43f48f6bf537feb97ebb678a3be7b9e576c517c9eb97d89f4",
    "codec_mse_4.pt": "0b37ddb822d1728d69e3a2c454d7a99b7c0a461c5274cd2392671903dca72141",
    "codec_msssim_2.pt": "f914fb321a2d32e77bf7fcd73c023ccbc2b484ba107507fb63d42e130ba394f6",
}

#: How to restore each file, quoted in the error when it is missing or altered.
RESTORE = {
    "mnist_5k.npz": "git checkout -- data/mnist_5k.npz   (or rebuild it: .venv/bin/python scripts/make_mnist_npz.py)",
    **{name: f"git checkout -- data/{name}   (or retrain them all: make pretrain, about 5.2 hours on 2 cores)"
       for name in CHECKSUMS if name.startswith("codec_")},
}


class DataFileError(RuntimeError):
    """A data file is missing or its content is not the one the notes were written for."""


def data_path(name: str, data_dir: Path | None = None) -> Path:
    """Return the path of a shipped data file after verifying its SHA-256.

    Raises
    ------
    DataFileError
        If the file is missing or its checksum differs; the message names the file and says
        how to restore it.
    """
    if name not in CHECKSUMS:
        raise DataFileError(f"unknown data file {name!r}; known files: {sorted(CHECKSUMS)}")
    path = (data_dir or DATA_DIR) / name
    if not path.is_file():
        raise DataFileError(f"data file {path} is missing. Restore it with: {RESTORE[name]}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != CHECKSUMS[name]:
        raise DataFileError(
            f"data file {path} has SHA-256 {digest}, expected {CHECKSUMS[name]}: it was altered "
            f"or truncated. Restore it with: {RESTORE[name]}"
        )
    return path


def load_mnist(split: str = "train", data_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST digits as uint8 images of shape (n, 28, 28) and uint8 labels of shape (n,).

    Parameters
    ----------
    split : {"train", "test"}
        4,000 training or 1,000 test digits (a fixed, stratified split).
    data_dir : Path, optional
        Folder holding ``mnist_5k.npz``; defaults to the repository's ``data/``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    with np.load(data_path("mnist_5k.npz", data_dir)) as archive:
        return archive[f"x_{split}"], archive[f"y_{split}"]


def mnist_tensors(split: str = "train", data_dir: Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST as torch tensors: float32 images in [0, 1] of shape (n, 1, 28, 28), int64 labels."""
    images, labels = load_mnist(split, data_dir)
    x = torch.from_numpy(images).float().div_(255.0).unsqueeze(1)
    return x, torch.from_numpy(labels).long()


def mnist_matrix(split: str = "train", data_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """MNIST as a data matrix X of shape (n, 784), float64 in [0, 1], one digit per row."""
    images, labels = load_mnist(split, data_dir)
    return images.reshape(len(images), -1).astype(np.float64) / 255.0, labels


def load_digits_8x8() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits: X of shape (1797, 64) in [0, 1] and labels (1797,)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data / 16.0, digits.target
