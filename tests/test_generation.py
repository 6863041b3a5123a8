"""The VAE (``ae.models.VAE``), the two terms of its loss and the sample-quality measures of
``ae.generation`` on cases whose answer is known."""

import math

import numpy as np
import pytest
import scipy.linalg
import torch

import autoencoders as ae

VAE = ae.models.VAE
bernoulli_nll, gaussian_kl = ae.generation.bernoulli_nll, ae.generation.gaussian_kl
frechet_distance, inception_score = ae.generation.frechet_distance, ae.generation.inception_score
class_histogram_entropy = ae.generation.class_histogram_entropy
nearest_neighbour_distance = ae.generation.nearest_neighbour_distance
sample_quality = ae.generation.sample_quality


def test_vae_shapes():
    torch.manual_seed(0)
    vae = VAE(d=784, k=5, hidden=(32,))
    x = torch.rand(3, 1, 28, 28)
    mu, logvar = vae.encode(x)
    assert mu.shape == logvar.shape == (3, 5)
    assert vae.decode_logits(mu).shape == (3, 784)
    images = vae.decode(torch.randn(7, 5))
    assert images.shape == (7, 784) and images.min() >= 0 and images.max() <= 1
    assert vae(x).shape == x.shape


def test_vae_rejects_bad_sizes():
    with pytest.raises(ValueError, match="k must be a positive integer"):
        VAE(d=784, k=0)
    with pytest.raises(ValueError, match="expects 784 values per example"):
        VAE(d=784, k=2).encode(torch.zeros(3, 1, 14, 14))
    with pytest.raises(ValueError, match=r"codes of shape \(n, 2\)"):
        VAE(d=784, k=2).decode(torch.zeros(3, 5))


def test_vae_reuses_the_mlp_layers_of_the_plain_autoencoder():
    vae, plain = VAE(d=784, k=4, hidden=(32,)), ae.models.MLPAutoencoder(d=784, k=4, hidden=(32,))
    shapes = lambda net: [tuple(p.shape) for p in net.parameters()]  # noqa: E731
    # the same layers, except that the encoder's last layer outputs a mean and a log-variance
    assert shapes(vae.decoder) == shapes(plain.decoder)
    assert shapes(vae.encoder)[:-2] == shapes(plain.encoder)[:-2]
    assert shapes(vae.encoder)[-2:] == [(8, 32), (8,)]


def test_reparameterise_is_mu_plus_sigma_eps_and_differentiable():
    mu = torch.tensor([[1.0, -2.0]], requires_grad=True)
    logvar = torch.tensor([[0.0, math.log(4.0)]], requires_grad=True)
    eps = torch.tensor([[0.5, 1.0]])
    z = VAE.reparameterise(mu, logvar, eps)
    torch.testing.assert_close(z, torch.tensor([[1.5, 0.0]]))  # sigma = (1, 2)
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones(1, 2))
    torch.testing.assert_close(logvar.grad, torch.tensor([[0.25, 1.0]]))  # eps * sigma / 2


def test_reparameterise_draws_from_the_right_gaussian():
    torch.manual_seed(0)
    mu, logvar = torch.full((20000, 1), 3.0), torch.full((20000, 1), math.log(0.25))
    z = VAE.reparameterise(mu, logvar)
    assert abs(z.mean().item() - 3.0) < 0.02 and abs(z.std().item() - 0.5) < 0.02


def test_kl_of_the_prior_to_itself_is_zero():
    assert torch.equal(gaussian_kl(torch.zeros(4, 8), torch.zeros(4, 8)), torch.zeros(4))


def test_kl_matches_torch_distributions():
    torch.manual_seed(1)
    mu, logvar = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    torch.testing.assert_close(gaussian_kl(mu, logvar), torch.distributions.kl_divergence(q, p).sum(1))
    # a unit shift of the mean costs half a nat per dimension
    torch.testing.assert_close(gaussian_kl(torch.ones(1, 6), torch.zeros(1, 6)), torch.tensor([3.0]))


def test_kl_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 4))


def test_bernoulli_nll_known_values():
    x = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    # logits 0 mean p = 1/2: log 2 nats per pixel
    torch.testing.assert_close(bernoulli_nll(torch.zeros(1, 4), x), torch.tensor([4 * math.log(2.0)]))
    # confident and right costs almost nothing, confident and wrong a lot
    assert bernoulli_nll(torch.tensor([[20.0, -20.0, 20.0, -20.0]]), x).item() < 1e-6
    assert bernoulli_nll(torch.tensor([[-20.0, 20.0, -20.0, 20.0]]), x).item() > 79
    with pytest.raises(ValueError, match="do not match"):
        bernoulli_nll(torch.zeros(1, 5), x)


def test_negative_elbo_falls_when_a_vae_trains():
    """One short training run: the pieces combine into a loss that ae.training.fit can minimise."""
    torch.manual_seed(0)
    x = (torch.rand(256, 16) > 0.5).float() * torch.tensor([1.0] * 8 + [0.0] * 8)  # half the pixels always off

    def negative_elbo(vae, batch):
        mu, logvar = vae.encode(batch)
        z = vae.reparameterise(mu, logvar)
        return (bernoulli_nll(vae.decode_logits(z), batch) + gaussian_kl(mu, logvar)).mean()

    vae = VAE(d=16, k=2, hidden=(32,))
    history = ae.training.fit(vae, x, loss_fn=negative_elbo, epochs=30, batch_size=64, lr=1e-2, progress=False,
                              device=torch.device("cpu"))
    assert history["train"][-1] < 0.7 * history["train"][0]
    # no model beats the entropy of the 8 random pixels: 8 log 2 nats
    assert history["train"][-1] > 8 * math.log(2.0) - 0.5


def test_frechet_distance_known_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # mean shift by (2, 0, 0): distance 4 plus sampling noise
    assert frechet_distance(a, a + np.array([2.0, 0.0, 0.0])) == pytest.approx(4.0, abs=1e-6)
    # N(0, I) vs N(0, 4 I) in 3 dimensions: tr(I + 4I - 2 * 2I) = 3
    b = rng.normal(size=(4000, 3)) * 2.0
    assert frechet_distance(a, b) == pytest.approx(3.0, abs=0.3)
    # scipy's general matrix square root gives the same value on full-rank covariances
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = np.trace(ca + cb - 2 * np.real(scipy.linalg.sqrtm(ca @ cb))) + np.sum((a.mean(0) - b.mean(0)) ** 2)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)
    # a singular covariance (a feature that is always 0, like a dead ReLU) is fine
    dead = np.hstack([a[:, :2], np.zeros((4000, 1))])
    assert frechet_distance(dead, dead) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_rejects_bad_input():
    with pytest.raises(ValueError, match="same p"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="at least two rows"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))


def test_inception_score_and_class_entropy_extremes():
    confident_all_classes = np.eye(10)[np.arange(100) % 10]
    assert inception_score(confident_all_classes) == pytest.approx(10.0)
    assert class_histogram_entropy(confident_all_classes) == pytest.approx(math.log2(10))
    one_class = np.eye(10)[np.zeros(100, dtype=int)]
    assert inception_score(one_class) == pytest.approx(1.0)
    assert class_histogram_entropy(one_class) == 0.0
    undecided = np.full((50, 10), 0.1)
    assert inception_score(undecided) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="probability vectors"):
        inception_score(np.ones((3, 10)))


def test_nearest_neighbour_distance():
    train = np.array([[0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(nearest_neighbour_distance(np.array([[0.0, 1.0], [3.0, 4.0]]), train), [1.0, 0.0])
    with pytest.raises(ValueError, match="pixels"):
        nearest_neighbour_distance(np.zeros((2, 3)), train)


def test_sample_quality_on_an_untrained_classifier():
    torch.manual_seed(0)
    classifier = ae.models.SmallCNN()
    images = torch.rand(20, 1, 28, 28)
    reference, _ = ae.generation.classifier_outputs(classifier, torch.rand(30, 784))
    q = sample_quality(classifier, images, reference, images)
    assert set(q) == {"frechet", "inception", "class_entropy", "max_softmax", "nn_distance"}
    assert q["nn_distance"] == pytest.approx(0.0, abs=1e-4) and 1.0 <= q["inception"] <= 10.0 and 0.1 <= q["max_softmax"] <= 1.0
    with pytest.raises(ValueError, match=r"\(n, 1, 28, 28\)"):
        sample_quality(classifier, torch.rand(3, 28, 28), reference, images)


def test_handwritten_strokes_look_like_digit_images():
    strokes = ae.generation.handwritten_strokes(12, seed=3)
    assert strokes.shape == (12, 1, 28, 28) and strokes.dtype == torch.float32
    assert strokes.min() >= 0 and strokes.max() <= 1
    # bright ink on a black background, as in MNIST: most pixels dark, every patch holds some ink
    assert (strokes < 0.1).float().mean() > 0.6
    assert (strokes.flatten(1).mean(1) >= 0.1).all()
    assert torch.equal(strokes, ae.generation.handwritten_strokes(12, seed=3))
