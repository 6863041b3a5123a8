"""The shared networks: shapes, encode/decode round trips, and clear errors for bad input."""

import pytest
import torch

from autoencoders.models import ConvAutoencoder, MLPAutoencoder, SmallCNN


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("k, hidden", [(2, (64, 16)), (16, (32,)), (3, ())])
def test_mlp_autoencoder_shapes_and_round_trip(images, k, hidden):
    model = MLPAutoencoder(784, k, hidden)
    z = model.encode(images)
    assert z.shape == (5, k)
    out = model.decode(z)
    assert out.shape == (5, 784)
    assert torch.equal(model(images), out.reshape(images.shape)), "forward must be decode(encode(x))"
    assert model(images.reshape(5, 784)).shape == (5, 784), "flat rows come back flat"
    assert 0 <= out.min() and out.max() <= 1, "the sigmoid keeps outputs in the pixel range [0, 1]"
    # layers: one Linear per width step, mirrored in the decoder
    n_linear = sum(isinstance(m, torch.nn.Linear) for m in model.modules())
    assert n_linear == 2 * (len(hidden) + 1)


def test_conv_autoencoder_shapes_and_round_trip(images):
    model = ConvAutoencoder(k=8, channels=4)
    z = model.encode(images)
    assert z.shape == (5, 8)
    assert model.decode(z).shape == images.shape
    assert torch.equal(model(images), model.decode(z))


def test_small_cnn_features_and_logits(images):
    model = SmallCNN(n_classes=10, channels=(4, 8), hidden=12)
    feats = model.features(images)
    assert [f.shape for f in feats] == [(5, 4 * 14 * 14), (5, 8 * 7 * 7), (5, 12)]
    logits = model(images)
    assert logits.shape == (5, 10)
    assert torch.allclose(logits, model.head(feats[-1]))


def test_models_are_reproducible_from_the_seed(images):
    torch.manual_seed(3)
    a = MLPAutoencoder(784, 4, (16,))
    torch.manual_seed(3)
    b = MLPAutoencoder(784, 4, (16,))
    assert torch.equal(a(images), b(images))


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: MLPAutoencoder(784, 0), "k must be a positive integer"),
        (lambda: MLPAutoencoder(784, 2.5), "k must be a positive integer"),
        (lambda: MLPAutoencoder(-1, 2), "d must be a positive integer"),
        (lambda: MLPAutoencoder(784, 2, (64, 0)), "each hidden width"),
        (lambda: ConvAutoencoder(k=0), "k must be"),
        (lambda: SmallCNN(channels=(8,)), "2 convolutional blocks"),
    ],
)
def test_bad_arguments_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_numpy_integers_are_accepted():
    import numpy as np

    assert MLPAutoencoder(np.int64(784), np.int64(4), (np.int64(8),)).k == 4


def test_wrong_input_shapes_are_refused_with_the_expected_shape(images):
    with pytest.raises(ValueError, match=r"expects 784 values per example, got input of shape \(5, 1, 14, 14\)"):
        MLPAutoencoder(784, 2, (8,)).encode(images[:, :, :14, :14])
    with pytest.raises(ValueError, match=r"expects codes of shape \(n, 2\), got \(5, 3\)"):
        MLPAutoencoder(784, 2, (8,)).decode(torch.zeros(5, 3))
    with pytest.raises(ValueError, match=r"expects images of shape \(n, 1, 28, 28\), got \(5, 784\)"):
        ConvAutoencoder(k=2, channels=2).encode(images.reshape(5, 784))
    with pytest.raises(ValueError, match=r"expects codes of shape \(n, 2\)"):
        ConvAutoencoder(k=2, channels=2).decode(torch.zeros(5))
    with pytest.raises(ValueError, match="SmallCNN expects images"):
        SmallCNN()(images[:, 0])
