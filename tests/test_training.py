"""The shared training loop: it learns, it is deterministic given the seed, it predicts in
batches without gradients, it saves and loads weights safely, and it refuses bad input with a
clear message."""

import pytest
import torch

from autoencoders.models import MLPAutoencoder, SmallCNN
from autoencoders.training import (
    classification_loss, evaluate, fit, load, predict, reconstruction_loss, save,
)

CPU = torch.device("cpu")


def toy_images(n: int = 64, seed: int = 0) -> torch.Tensor:
    """Low-dimensional images: random mixtures of 3 fixed patterns, so a k=3 bottleneck suffices."""
    g = torch.Generator().manual_seed(seed)
    patterns = torch.rand(3, 784, generator=g)
    weights = torch.rand(n, 3, generator=g) / 3
    return (weights @ patterns).reshape(n, 1, 28, 28)


def small_model(seed: int = 0) -> MLPAutoencoder:
    torch.manual_seed(seed)
    return MLPAutoencoder(784, 3, (32,))


def train(seed: int = 0, model_seed: int = 0, **kwargs) -> tuple[MLPAutoencoder, dict]:
    model = small_model(model_seed)
    x = toy_images()
    history = fit(model, x[:48], x[48:], epochs=kwargs.pop("epochs", 5), batch_size=16, seed=seed,
                  device=CPU, progress=False, **kwargs)
    return model, history


def test_history_has_one_value_per_epoch_and_the_loss_falls():
    _, history = train(epochs=15, lr=3e-3)
    assert len(history["train"]) == len(history["test"]) == 15
    assert history["train"][-1] < 0.5 * history["train"][0], history["train"]
    assert history["test"][-1] < 0.5 * history["test"][0], history["test"]


def test_same_seed_same_history_and_weights():
    model_a, a = train(seed=1)
    model_b, b = train(seed=1)
    assert a == b
    for p, q in zip(model_a.parameters(), model_b.parameters()):
        assert torch.equal(p, q)


def test_another_shuffling_seed_gives_another_history():
    _, a = train(seed=1)
    _, b = train(seed=2)
    assert a["train"] != b["train"]


def test_test_loss_is_evaluate_after_training():
    model, history = train()
    x = toy_images()
    assert history["test"][-1] == pytest.approx(evaluate(model, x[48:]), rel=1e-6)
    assert not model.training, "fit leaves the model in eval mode"


def test_optimizer_and_scheduler_are_used():
    seen = {}

    def sgd(params):
        seen["opt"] = torch.optim.SGD(params, lr=0.5)
        return seen["opt"]

    def halve(opt):
        return torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

    train(epochs=3, optimizer=sgd, scheduler=halve)
    assert seen["opt"].param_groups[0]["lr"] == pytest.approx(0.5 / 8)


def test_tuples_train_a_classifier_and_a_denoiser():
    x = toy_images(32)
    y = torch.arange(32) % 10
    torch.manual_seed(0)
    history = fit(SmallCNN(channels=(2, 4), hidden=8), (x, y), (x, y), loss_fn=classification_loss,
                  epochs=2, batch_size=8, device=CPU, progress=False)
    assert len(history["test"]) == 2
    noisy = x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    history = fit(small_model(), (noisy, x), epochs=2, batch_size=8, device=CPU, progress=False)
    assert history["test"] == [] and len(history["train"]) == 2
    model = small_model()
    assert reconstruction_loss(model, noisy, x) != reconstruction_loss(model, noisy)


def test_predict_is_the_model_in_eval_mode_batch_by_batch_without_gradients():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 8), torch.nn.Dropout(0.5))
    x = toy_images(10)
    model.train()
    out = predict(model, x, batch_size=3)  # 4 batches, the last one short
    assert model.training, "predict must leave the model in the mode it found it in"
    assert out.device.type == "cpu" and not out.requires_grad
    model.eval()
    with torch.no_grad():
        assert torch.allclose(out, model(x), atol=1e-6), "dropout must be off while predicting"
    assert not model.training
    assert not predict(model, x).requires_grad and not model.training
    features, logits = predict(model, x, batch_size=4, fn=lambda m, b: (m[0](b), m(b)))
    assert features.shape == (10, 784) and torch.allclose(logits, out, atol=1e-6)
    sums = predict(model, (x, 2 * x), batch_size=4, fn=lambda m, a, b: (a + b).sum((1, 2, 3)))
    assert torch.allclose(sums, 3 * x.sum((1, 2, 3)))  # a tuple is batched together
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        predict(model, x, batch_size=0)
    with pytest.raises(ValueError, match="no examples"):
        predict(model, x[:0])


def test_save_and_load_round_trip(tmp_path):
    model, _ = train()
    path = tmp_path / "ae.pt"
    save(model, path)
    fresh = load(small_model(seed=99), path)
    x = toy_images()
    assert torch.equal(fresh(x), model(x))
    assert not fresh.training
    # the file holds weights only: it loads with weights_only=True
    state = torch.load(path, weights_only=True)
    assert set(state) == set(model.state_dict())


def test_weights_saved_in_half_precision_load_into_a_float_model(tmp_path):
    model, _ = train()
    save(model, tmp_path / "half.pt", dtype=torch.float16)
    assert all(v.dtype == torch.float16 for v in torch.load(tmp_path / "half.pt", weights_only=True).values())
    fresh = load(small_model(seed=99), tmp_path / "half.pt")
    assert all(p.dtype == torch.float32 for p in fresh.parameters())
    x = toy_images()
    assert torch.allclose(fresh(x), model(x), atol=1e-2)


def test_load_into_a_model_of_another_shape_fails_clearly(tmp_path):
    model, _ = train()
    save(model, tmp_path / "ae.pt")
    with pytest.raises(RuntimeError, match="size mismatch"):
        load(MLPAutoencoder(784, 5, (32,)), tmp_path / "ae.pt")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(epochs=0), "epochs and batch_size must be at least 1"),
        (dict(batch_size=0), "epochs and batch_size must be at least 1"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit(small_model(), toy_images(8), device=CPU, progress=False, **kwargs)


def test_bad_data_is_refused():
    x = toy_images(8)
    with pytest.raises(ValueError, match="different numbers of examples"):
        fit(small_model(), (x, x[:4]), device=CPU, progress=False)
    with pytest.raises(ValueError, match="train holds no examples"):
        fit(small_model(), x[:0], device=CPU, progress=False)
    with pytest.raises(ValueError, match="tensor or a tuple of tensors"):
        fit(small_model(), x.numpy(), device=CPU, progress=False)
    with pytest.raises(ValueError, match="test has 1"):
        fit(small_model(), (x, x), x, device=CPU, progress=False)


def test_a_diverging_loss_stops_with_advice():
    x = toy_images(8)
    x[0, 0, 0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        fit(small_model(), x, epochs=1, device=CPU, progress=False)
