"""Seeds and conversions shared by every module: the same seed gives the same numbers, and every
tensor (any device, with or without grad) and array-like becomes a NumPy array the same way."""

import numpy as np
import pytest
import torch

import autoencoders as ae


def test_the_same_seed_gives_the_same_numbers():
    ae.runtime.seed_everything(3)
    first = (np.random.rand(), torch.rand(2))
    ae.runtime.seed_everything(3)
    second = (np.random.rand(), torch.rand(2))
    assert first[0] == second[0] and torch.equal(first[1], second[1])


@pytest.mark.parametrize(
    "value",
    [
        torch.ones(2, 3, requires_grad=True) * 2,  # a tensor in a graph
        torch.full((2, 3), 2.0),
        np.full((2, 3), 2.0),
        [[2.0] * 3] * 2,
    ],
    ids=["tensor-with-grad", "tensor", "array", "list"],
)
def test_to_numpy_accepts_tensors_and_array_likes(value):
    out = ae.runtime.to_numpy(value)
    assert isinstance(out, np.ndarray) and out.shape == (2, 3) and (out == 2).all()


def test_to_numpy_converts_the_dtype_and_shares_no_graph():
    x = torch.arange(4, dtype=torch.float32, requires_grad=True)
    out = ae.runtime.to_numpy(x * 1, dtype=np.float64)
    assert out.dtype == np.float64 and out.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert ae.runtime.to_numpy(torch.tensor([1, 2])).dtype == np.int64


def test_device_can_be_overridden(monkeypatch):
    monkeypatch.setenv("AE_DEVICE", "cpu")
    assert ae.runtime.device() == torch.device("cpu")
