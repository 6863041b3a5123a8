"""ae.corruption: values stay in [0, 1], masks have the promised size, seeds reproduce."""

import numpy as np
import pytest
import torch

import autoencoders as ae
from autoencoders.corruption import gaussian_noise, missing_block, missing_pixels, salt_and_pepper


@pytest.fixture
def images():
    return np.random.default_rng(0).uniform(0.0, 1.0, size=(50, 28, 28))


MASKED = {
    "salt_and_pepper": lambda x, rng: salt_and_pepper(x, 0.3, rng),
    "missing_pixels": lambda x, rng: missing_pixels(x, 0.3, rng, fill=0.5),
    "missing_block": lambda x, rng: missing_block(x, 10, rng, margin=3, fill=0.5),
}
ALL = {"gaussian_noise": lambda x, rng: (gaussian_noise(x, 0.5, rng), None), **MASKED}


@pytest.mark.parametrize("name", ALL)
def test_values_stay_in_range_and_shape_is_kept(images, name):
    corrupted, mask = ALL[name](images, 0)
    assert corrupted.shape == images.shape and corrupted.dtype == images.dtype
    assert corrupted.min() >= 0.0 and corrupted.max() <= 1.0
    assert not np.array_equal(corrupted, images), f"{name} changed nothing"
    if mask is not None:
        assert mask.dtype == bool and mask.shape == images.shape


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_corruption_other_seed_other(images, name):
    a, _ = ALL[name](images, 7)
    b, _ = ALL[name](images, 7)
    c, _ = ALL[name](images, 8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", ALL)
def test_a_generator_draws_fresh_corruption_each_call_reproducibly(images, name):
    gen = np.random.default_rng(3)
    first, second = ALL[name](images, gen)[0], ALL[name](images, gen)[0]
    assert not np.array_equal(first, second)
    gen = np.random.default_rng(3)
    np.testing.assert_array_equal(ALL[name](images, gen)[0], first)


@pytest.mark.parametrize("name", MASKED)
def test_only_masked_pixels_change(images, name):
    corrupted, mask = MASKED[name](images, 1)
    np.testing.assert_array_equal(corrupted[~mask], images[~mask])


@pytest.mark.parametrize("name", ALL)
def test_torch_in_torch_out_same_values_as_numpy(images, name):
    x = torch.from_numpy(images).float().unsqueeze(1)
    corrupted, mask = ALL[name](x, 5)
    assert isinstance(corrupted, torch.Tensor) and corrupted.dtype == torch.float32 and corrupted.shape == x.shape
    reference, ref_mask = ALL[name](x.numpy(), 5)
    np.testing.assert_allclose(corrupted.numpy(), reference, atol=1e-6)
    if mask is not None:
        assert isinstance(mask, torch.Tensor) and mask.dtype == torch.bool
        np.testing.assert_array_equal(mask.numpy(), ref_mask)


def test_gaussian_noise_has_the_requested_spread():
    grey = np.full((20, 28, 28), 0.5)
    noisy = gaussian_noise(grey, 0.05, rng=0)  # 10 sigma from the bounds: clipping never happens
    assert abs((noisy - grey).std() - 0.05) < 0.001 and abs((noisy - grey).mean()) < 0.001
    np.testing.assert_array_equal(gaussian_noise(grey, 0.0), grey)


def test_gaussian_noise_is_clipped_to_the_valid_range():
    noisy = gaussian_noise(np.zeros((10, 28, 28)), 0.5, rng=0)
    assert noisy.min() == 0.0 and 0.45 < (noisy == 0.0).mean() < 0.55  # half the noise is clipped at 0


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5, 0.9, 1.0])
def test_missing_pixels_removes_exactly_the_fraction_of_each_image(images, fraction):
    corrupted, mask = missing_pixels(images, fraction, rng=0, fill=0.25)
    per_image = mask.reshape(len(images), -1).sum(axis=1)
    assert np.all(per_image == round(fraction * 784))
    assert np.all(corrupted[mask] == 0.25)
    if 0 < fraction < 1:
        assert not np.array_equal(mask[0], mask[1]), "each image gets its own random pixels"


def test_salt_and_pepper_sets_about_the_amount_to_black_or_white(images):
    corrupted, mask = salt_and_pepper(images, 0.2, rng=0)
    assert abs(mask.mean() - 0.2) < 0.01
    assert set(np.unique(corrupted[mask])) == {0.0, 1.0}
    assert abs((corrupted[mask] == 1.0).mean() - 0.5) < 0.03


@pytest.mark.parametrize("size, margin", [(1, 0), (12, 4), (20, 4), (28, 0)])
def test_missing_block_is_one_square_inside_the_margin(images, size, margin):
    corrupted, mask = missing_block(images, size, rng=0, margin=margin)
    for m in mask:
        rows, cols = np.nonzero(m)
        assert m.sum() == size * size
        assert rows.max() - rows.min() + 1 == size and cols.max() - cols.min() + 1 == size
        assert rows.min() >= margin and cols.min() >= margin
        assert rows.max() < 28 - margin and cols.max() < 28 - margin
    assert np.all(corrupted[mask] == 0.0)
    if size < 28 - 2 * margin:
        tops = {int(np.nonzero(m)[0].min()) for m in mask}
        assert len(tops) > 1, "the block should move from image to image"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x: gaussian_noise(x, -0.1), "sigma must be a non-negative number"),
        (lambda x: gaussian_noise(x, float("nan")), "sigma must be a non-negative number"),
        (lambda x: salt_and_pepper(x, 1.5), r"amount must lie in \[0, 1\]"),
        (lambda x: missing_pixels(x, -0.2), r"fraction must lie in \[0, 1\]"),
        (lambda x: missing_pixels(x, 0.5, fill=2.0), r"fill must lie in \[0, 1\]"),
        (lambda x: missing_block(x, 29), "does not fit in 28x28 images"),
        (lambda x: missing_block(x, 12, margin=9), "does not fit in 28x28 images"),
        (lambda x: missing_block(x, 0), "does not fit"),
        (lambda x: gaussian_noise(x * 255, 0.1), r"image values must lie in \[0, 1\]"),
        (lambda x: gaussian_noise(x[0, 0], 0.1), "at least two axes"),
    ],
    ids=["negative-sigma", "nan-sigma", "amount", "fraction", "fill", "block-too-big", "margin-too-big",
         "empty-block", "uint8-range", "one-axis"],
)
def test_bad_input_is_refused_with_a_clear_message(images, call, message):
    with pytest.raises(ValueError, match=message):
        call(images)


def test_module_is_reachable_from_the_package():
    assert ae.corruption.gaussian_noise is gaussian_noise
