"""ae.transfer: task split, frozen features, draws, linear probes and the training over draws."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import autoencoders as ae

transfer = ae.transfer


def test_select_classes_relabels_in_the_given_order():
    x = torch.arange(6.0)[:, None]
    y = torch.tensor([5, 7, 0, 7, 5, 3])
    xs, ys = transfer.select_classes(x, y, (7, 5))
    assert xs[:, 0].tolist() == [0.0, 1.0, 3.0, 4.0]
    assert ys.tolist() == [1, 0, 0, 1]


@pytest.mark.parametrize("classes, message", [((5, 9), "class 9 has no example"), ((5, 5), "must be distinct")])
def test_select_classes_refuses_bad_classes(classes, message):
    with pytest.raises(ValueError, match=message):
        transfer.select_classes(torch.zeros(3, 1), torch.tensor([5, 5, 7]), classes)


def test_random_affine_keeps_shape_and_is_the_identity_without_motion():
    x = torch.rand(4, 1, 28, 28)
    moved = transfer.random_affine(x, generator=torch.Generator().manual_seed(0))
    assert moved.shape == x.shape and not torch.allclose(moved, x)
    still = transfer.random_affine(x, degrees=0.0, shift=0.0, scale=0.0)
    torch.testing.assert_close(still, x, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match=r"batch of images \(n, c, h, w\)"):
        transfer.random_affine(torch.rand(28, 28))


def test_frozen_features_are_the_blocks_outputs_at_every_depth():
    torch.manual_seed(0)
    model = ae.models.SmallCNN(n_classes=5)
    x = torch.rand(7, 1, 28, 28)
    feats = transfer.frozen_features(model, x, batch_size=3)
    assert list(feats) == list(transfer.LAYERS)
    assert [f.shape for f in feats.values()] == [(7, 16 * 14 * 14), (7, 32 * 7 * 7), (7, 64)]
    with torch.no_grad():
        direct = model.features(x)
    for f, d in zip(feats.values(), direct):
        np.testing.assert_allclose(f, d.numpy(), rtol=1e-6, atol=1e-6)


def test_draw_per_class_draws_n_distinct_examples_of_every_class():
    labels = np.repeat(np.arange(3), [4, 6, 5])
    idx = transfer.draw_per_class(labels, 4, np.random.default_rng(0))
    assert len(set(idx.tolist())) == 12
    assert np.bincount(labels[idx]).tolist() == [4, 4, 4]
    with pytest.raises(ValueError, match="class 0 has only 4 examples, cannot draw 5"):
        transfer.draw_per_class(labels, 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="m must be a positive"):
        transfer.draw_per_class(labels, 0, np.random.default_rng(0))


def test_make_draws_is_seeded_and_adds_all():
    labels = np.repeat(np.arange(2), 20)
    a, b = transfer.make_draws(labels, (1, 5), 3, seed=1), transfer.make_draws(labels, (1, 5), 3, seed=1)
    assert list(a) == [1, 5, "all"] and [len(v) for v in a.values()] == [3, 3, 1]
    assert all(np.array_equal(u, v) for n in a for u, v in zip(a[n], b[n]))
    assert not np.array_equal(a[5][0], a[5][1]), "draws of the same m should differ"
    assert np.array_equal(a["all"][0], np.arange(40))
    with pytest.raises(ValueError, match="n_draws must be at least 1"):
        transfer.make_draws(labels, (1,), 0)


def _blobs(seed, n=20, d=5, shift=4.0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(2), n)
    return rng.normal(size=(2 * n, d)) + shift * y[:, None], y


def test_linear_probe_scores_each_evaluation_set():
    x, y = _blobs(0)
    xt, yt = _blobs(1)
    assert transfer.linear_probe(x, y, [xt, xt], [yt, 1 - yt]) == [1.0, 0.0]
    assert transfer.linear_probe(x, y, [xt], [yt], preprocessing="standardised") == [1.0]
    with pytest.raises(ValueError, match="preprocessing must be one of"):
        transfer.linear_probe(x, y, [xt], [yt], preprocessing="whitened")


def test_probe_over_draws_and_best_preprocessing_choose_on_validation():
    x, y = _blobs(0, shift=1.0)
    xv, yv = _blobs(1, shift=1.0)
    draws = transfer.make_draws(y, (2,), 2, seed=0)
    results = transfer.probe_over_draws({"blobs": (x, xv, xv)}, (y, yv, yv), draws)
    assert set(results) == {("blobs", p) for p in transfer.PREPROCESSING}
    val, test = results["blobs", "none"][2]
    assert val.shape == test.shape == (2,)
    # validation prefers "none", the test set "standardised": the validation set decides
    rigged = {("m", "none"): {1: (np.array([0.9]), np.array([0.5]))},
              ("m", "standardised"): {1: (np.array([0.8]), np.array([0.7]))}}
    prep, acc = transfer.best_preprocessing(rigged)["m"][1]
    assert prep == "none" and acc.tolist() == [0.5]


def test_train_over_draws_is_deterministic_learns_and_gives_every_draw_its_seed():
    torch.manual_seed(0)
    x = torch.zeros(40, 1, 28, 28)
    y = torch.arange(40) % 2
    x[y == 1, :, 10:18, 10:18] = 1.0  # class 1 has a bright square
    draws = transfer.make_draws(y.numpy(), (2,), 2, seed=0)
    seen = []

    def train(xs, ys, seed):
        seen.append((len(xs), seed))
        torch.manual_seed(seed)
        model = ae.models.SmallCNN(n_classes=2, channels=(4, 8), hidden=16)
        ae.training.fit(model, (xs, ys), loss_fn=ae.training.classification_loss, epochs=30,
                        lr=1e-2, seed=seed, progress=False)
        return model

    runs = [transfer.train_over_draws(train, (x, y), (x, y), draws) for _ in range(2)]
    assert list(runs[0]) == [2, "all"] and runs[0][2].shape == (2,)
    for n in runs[0]:
        np.testing.assert_array_equal(runs[0][n], runs[1][n])
    assert runs[0]["all"][0] == 1.0
    assert len({seed for _, seed in seen[:3]}) == 3, "every draw should get its own seed"
    assert [size for size, _ in seen[:3]] == [4, 4, 40]


def test_accuracy_counts_hits():
    class Fixed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return torch.stack([x[:, 0], -x[:, 0]], 1) + self.w

    x = torch.tensor([[1.0], [-1.0], [2.0], [3.0]])
    assert transfer.accuracy(Fixed(), x, torch.tensor([0, 1, 1, 0]), batch_size=3) == 0.75


def test_summary_is_mean_and_spread_in_percent_and_plot_fits_the_text_column():
    curves = {"a": {1: np.array([0.5, 0.7]), "all": np.array([0.9])}, "b": {1: np.array([0.4, 0.4]), "all": np.array([0.8])}}
    stats = transfer.summarise(curves)
    assert stats["a"][1] == pytest.approx((60.0, 10.0))
    assert stats["b"]["all"] == pytest.approx((80.0, 0.0))
    table = ae.results.Table(["n", "a"], fmt="{:.1f}").add("1", stats["a"][1])
    assert "60.0\N{NO-BREAK SPACE}±\N{NO-BREAK SPACE}10.0" in repr(table)
    ax = transfer.plot_accuracy_curves(curves, m_all=30)
    assert ax.get_xscale() == "log" and len(ax.containers) == 2
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "all\n(30)"]
    assert ax.figure.get_figwidth() <= ae.plotting.WIDTH
    plt.close(ax.figure)


def test_the_chapter_states_the_targets_its_fine_tuning_checks_use():
    """The exercise text tells students the accuracy the check needs; both must say the same."""
    import nbformat

    from autoencoders.exercises import transfer as checks

    path = Path(__file__).resolve().parents[1] / "chapters" / "01_transfer_learning.ipynb"
    text = " ".join(c.source.replace("\n", " ") for c in nbformat.read(path, as_version=4).cells)
    for label, target in [("transfer-head", checks.HEAD_TARGET), ("transfer-block2", checks.BLOCK2_TARGET)]:
        statement = text[text.index(f":label: {label}"):]
        statement = statement[:statement.index("```")]
        assert f"at least {target:.0%}" in statement, f"{label}: the text should say 'at least {target:.0%}'"
    statement = text[text.index(":label: transfer-head"):]
    statement = statement[:statement.index("```")]
    for setting in (f"{checks.HEAD_STEPS} steps", f"learning rate {checks.HEAD_LR:g}"):
        assert setting in statement, f"transfer-head: the statement should give the check's training, '{setting}'"


def test_the_layer_choice_statement_says_what_its_check_uses():
    """The statement names the check's tasks, labels per class and tolerance; both must agree."""
    import nbformat

    from autoencoders.exercises import transfer as checks

    path = Path(__file__).resolve().parents[1] / "chapters" / "01_transfer_learning.ipynb"
    text = " ".join(c.source.replace("\n", " ") for c in nbformat.read(path, as_version=4).cells)
    statement = text[text.index(":label: transfer-choose-layer"):]
    statement = statement[:statement.index("```")]
    assert f"within {round(100 * checks.LAYER_TOLERANCE)} points" in statement
    for description, classes, n in checks.LAYER_TASKS:
        digits = f"digits {classes[0]}-{classes[-1]}"
        assert digits in description and digits in statement, f"the statement should name the {digits}"
        assert f"{n} labelled digits per class" in statement, f"{digits}: say '{n} labelled digits per class'"


def test_the_layer_choice_check_rejects_every_constant_answer():
    """Each layer is too far below the validation-best one on at least one of the check's tasks,
    so no fixed k passes: the tasks favour different layers (the point of the exercise)."""
    from autoencoders.exercises import transfer as checks

    n_blocks = len(checks._layer_network().blocks)
    favoured = []
    for k in range(n_blocks + 1):
        margins = []
        for _, classes, n in checks.LAYER_TASKS:
            *_, val_accuracy, test_accuracy = checks._layer_task(classes, n)
            favoured.append(int(np.argmax(val_accuracy)))
            margins.append(test_accuracy[int(np.argmax(val_accuracy))] - test_accuracy[k])
        assert max(margins) > checks.LAYER_TOLERANCE + 0.03, f"k = {k} is within reach on every task: {margins}"
    assert favoured[:len(checks.LAYER_TASKS)] == [2, n_blocks], favoured
