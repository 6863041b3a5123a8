"""ae.restoration: restorers keep the batch shape, tuning picks the best parameters, and
in-painting with a known mask changes only the missing pixels."""

import numpy as np
import pytest
import torch
from skimage.filters import gaussian
from sklearn.decomposition import PCA as SklearnPCA

import autoencoders as ae
from autoencoders.restoration import keep_known, model_restorer, pca_restorer, per_image, tune


@pytest.fixture
def images():
    return np.random.default_rng(0).uniform(0.0, 1.0, size=(6, 28, 28))


def test_per_image_applies_the_function_to_each_image_and_clips(images):
    out = per_image(lambda im, scale: im * scale, images, scale=2.0)
    np.testing.assert_array_equal(out, np.clip(images * 2.0, 0, 1))
    smoothed = per_image(gaussian, images, sigma=1.0)
    np.testing.assert_allclose(smoothed[3], gaussian(images[3], sigma=1.0))


def test_per_image_passes_one_entry_of_each_per_image_argument(images):
    masks = np.zeros(images.shape, dtype=bool)
    masks[2, 5, 5] = True
    counts = per_image(lambda im, m: np.full(im.shape, m.sum() / 2.0), images, masks)
    assert counts[2, 0, 0] == 0.5 and counts[0, 0, 0] == 0.0
    with pytest.raises(ValueError, match="one entry per image: 5 entries for 6 images"):
        per_image(lambda im, m: im, images, masks[:5])


def test_tune_picks_the_parameters_with_the_best_psnr(images):
    clean = 0.5 * images + np.random.default_rng(1).normal(0, 0.01, size=images.shape)
    params, score = tune(lambda x, a, b: a * x + b, images, clean, {"a": [0.25, 0.5, 1.0], "b": [0.0, 0.1]})
    assert params == {"a": 0.5, "b": 0.0}
    assert score == ae.metrics.psnr(clean, 0.5 * images)
    params, _ = tune(lambda x: x, images, clean, {})
    assert params == {}


def test_tune_refuses_mismatched_batches(images):
    with pytest.raises(ValueError, match="differ in shape"):
        tune(lambda x: x, images, images[:3], {})
    with pytest.raises(ValueError, match=r"grey images of shape \(n, h, w\)"):
        tune(lambda x: x, images.reshape(6, -1), images.reshape(6, -1), {})


def test_keep_known_changes_only_the_missing_pixels_and_iterates(images):
    corrupted, mask = ae.corruption.missing_pixels(images, 0.4, rng=0, fill=0.5)
    brighten = lambda x: np.clip(x + 0.1, 0, 1)  # noqa: E731 - a restorer whose passes are countable
    for n_iter in (1, 3):
        out = keep_known(brighten, corrupted, mask, n_iter)
        np.testing.assert_array_equal(out[~mask], corrupted[~mask])
        np.testing.assert_allclose(out[mask], 0.5 + 0.1 * n_iter)


def test_keep_known_refuses_a_bad_mask_or_count(images):
    mask = np.zeros(images.shape, dtype=bool)
    with pytest.raises(ValueError, match="boolean array of the images' shape"):
        keep_known(lambda x: x, images, mask.astype(float))
    with pytest.raises(ValueError, match="boolean array of the images' shape"):
        keep_known(lambda x: x, images, mask[:3])
    with pytest.raises(ValueError, match="n_iter must be at least 1"):
        keep_known(lambda x: x, images, mask, n_iter=0)


def test_pca_restorer_projects_onto_the_components(images):
    rows = images.reshape(6, -1)
    full = SklearnPCA(n_components=6).fit(rows)
    np.testing.assert_allclose(pca_restorer(full)(images), images, atol=1e-10)  # all directions: identity
    one = ae.pca.PCA(n_components=1).fit(rows)
    projected = pca_restorer(one)(images)
    expected = np.clip(one.inverse_transform(one.transform(rows)), 0, 1).reshape(images.shape)
    np.testing.assert_allclose(projected, expected)


def test_model_restorer_runs_an_autoencoder_on_grey_batches(images):
    torch.manual_seed(0)
    model = ae.models.MLPAutoencoder(k=4, hidden=(16,))
    out = model_restorer(model, batch_size=4)(images)
    assert out.shape == images.shape and out.dtype == np.float64
    with torch.no_grad():
        expected = model(torch.from_numpy(images).float().unsqueeze(1)).squeeze(1).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-6)
    with pytest.raises(ValueError, match=r"grey images of shape \(n, h, w\)"):
        model_restorer(model)(images[:, None])
