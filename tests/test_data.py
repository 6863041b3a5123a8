"""The shipped data: shapes, split, and the checksum failure a student would meet."""

import shutil

import numpy as np
import pytest
import torch

import autoencoders as ae
from autoencoders.data import DataFileError


def test_mnist_shapes_and_split():
    x_train, y_train = ae.data.load_mnist("train")
    x_test, y_test = ae.data.load_mnist("test")
    assert x_train.shape == (4000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (1000, 28, 28) and y_test.shape == (1000,)
    assert set(np.unique(y_train)) == set(range(10))
    # stratified: every digit makes up about a tenth of the test set
    assert np.bincount(y_test).min() >= 80


def test_tensor_and_matrix_views_agree():
    x, y = ae.data.mnist_tensors("test")
    X, labels = ae.data.mnist_matrix("test")
    assert x.shape == (1000, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_allclose(x.reshape(1000, -1).numpy(), X, atol=1e-7)
    np.testing.assert_array_equal(y.numpy(), labels)


def test_digits_8x8():
    X, y = ae.data.load_digits_8x8()
    assert X.shape == (1797, 64) and X.max() == 1.0 and len(y) == 1797


def test_missing_file_names_it_and_how_to_restore(tmp_path):
    with pytest.raises(DataFileError, match=r"mnist_5k\.npz is missing.*git checkout"):
        ae.data.load_mnist("train", data_dir=tmp_path)


def test_altered_file_is_refused(tmp_path):
    shutil.copy(ae.data.DATA_DIR / "mnist_5k.npz", tmp_path / "mnist_5k.npz")
    with open(tmp_path / "mnist_5k.npz", "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    with pytest.raises(DataFileError, match=r"altered or truncated.*make_mnist_npz"):
        ae.data.load_mnist("test", data_dir=tmp_path)


def test_bad_split_is_refused():
    with pytest.raises(ValueError, match="split must be"):
        ae.data.load_mnist("validation")
