"""Seeds and the compute device, chosen in one place so every chapter behaves the same."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch and make PyTorch's kernels deterministic.

    Notebooks call this in their first cell so that every number they print and assert is the
    same on every run of the same machine.

    Parameters
    ----------
    seed : int
        The seed for every random number generator.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)


def device() -> torch.device:
    """The device to train on: the GPU when one is present, else the CPU.

    Set the environment variable ``AE_DEVICE`` (e.g. ``cpu``) to override.
    """
    override = os.environ.get("AE_DEVICE")
    if override:
        return torch.device(override)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def to_numpy(x, dtype=None) -> np.ndarray:
    """``x`` as a NumPy array: a tensor on any device (with or without grad) or anything array-like.

    A tensor is detached and copied to the CPU first; ``dtype`` (e.g. ``np.float64``) converts
    the result. This is the one converter the package uses, so plots, metrics and checks accept
    tensors and arrays alike.
    """
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)
