"""ae.restoration: restorers keep the batch shape and run per image, and tuning picks the
parameters with the best PSNR."""

import numpy as np
import pytest
import torch
from skimage.filters import gaussian
from sklearn.decomposition import PCA as SklearnPCA

import autoencoders as ae


@pytest.fixture
def images():
    return np.random.default_rng(0).uniform(0.0, 1.0, size=(6, 28, 28))


def test_per_image_applies_the_function_to_each_image_and_clips(images):
    out = ae.restoration.per_image(lambda im, scale: im * scale, images, scale=2.0)
    np.testing.assert_array_equal(out, np.clip(images * 2.0, 0, 1))
    smoothed = ae.restoration.per_image(gaussian, images, sigma=1.0)
    np.testing.assert_allclose(smoothed[3], gaussian(images[3], sigma=1.0))


def test_per_image_passes_one_entry_of_each_per_image_argument(images):
    masks = np.zeros(images.shape, dtype=bool)
    masks[2, 5, 5] = True
    counts = ae.restoration.per_image(lambda im, m: np.full(im.shape, m.sum() / 2.0), images, masks)
    assert counts[2, 0, 0] == 0.5 and counts[0, 0, 0] == 0.0
    with pytest.raises(ValueError, match="one entry per image: 5 entries for 6 images"):
        ae.restoration.per_image(lambda im, m: im, images, masks[:5])


def test_tune_picks_the_parameters_with_the_best_psnr(images):
    clean = 0.5 * images + np.random.default_rng(1).normal(0, 0.01, size=images.shape)
    params, score = ae.restoration.tune(lambda x, a, b: a * x + b, images, clean, {"a": [0.25, 0.5, 1.0], "b": [0.0, 0.1]})
    assert params == {"a": 0.5, "b": 0.0}
    assert score == ae.metrics.psnr(clean, 0.5 * images)
    params, _ = ae.restoration.tune(lambda x: x, images, clean, {})
    assert params == {}


def test_tune_refuses_mismatched_batches(images):
    with pytest.raises(ValueError, match="differ in shape"):
        ae.restoration.tune(lambda x: x, images, images[:3], {})
    with pytest.raises(ValueError, match=r"grey images of shape \(n, h, w\)"):
        ae.restoration.tune(lambda x: x, images.reshape(6, -1), images.reshape(6, -1), {})


def test_pca_restorer_projects_onto_the_components(images):
    rows = images.reshape(6, -1)
    full = SklearnPCA(n_components=6).fit(rows)
    np.testing.assert_allclose(ae.restoration.pca_restorer(full)(images), images, atol=1e-10)  # all directions: identity
    one = ae.pca.PCA(n_components=1).fit(rows)
    projected = ae.restoration.pca_restorer(one)(images)
    expected = np.clip(one.inverse_transform(one.transform(rows)), 0, 1).reshape(images.shape)
    np.testing.assert_allclose(projected, expected)


def test_model_restorer_runs_an_autoencoder_on_grey_batches(images):
    torch.manual_seed(0)
    model = ae.models.MLPAutoencoder(k=4, hidden=(16,))
    out = ae.restoration.model_restorer(model, batch_size=4)(images)
    assert out.shape == images.shape and out.dtype == np.float64
    with torch.no_grad():
        expected = model(torch.from_numpy(images).float().unsqueeze(1)).squeeze(1).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-6)
    with pytest.raises(ValueError, match=r"grey images of shape \(n, h, w\)"):
        ae.restoration.model_restorer(model)(images[:, None])
