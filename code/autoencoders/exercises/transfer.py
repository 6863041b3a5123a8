"""Checks of the exercises of chapter 01, transfer learning."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from autoencoders.exercises.core import WrongAnswer, call, exercise, expect_array
from autoencoders.models import SmallCNN

CHAPTER = "01_transfer_learning"


@exercise("transfer-draw", title="Draw n labelled examples per class", chapter=CHAPTER)
def _check_draw(draw_per_class):
    labels = np.repeat(np.arange(4), [7, 9, 5, 12])[np.random.default_rng(0).permutation(33)]
    for n in (1, 3, 5):
        got = call(draw_per_class, labels, n, 0)
        idx = expect_array(got, (4 * n,), name=f"draw_per_class(labels, {n}, seed=0)",
                           hint="return n indices for every class, so n * (number of classes) in all")
        if not np.array_equal(idx, np.round(idx)) or idx.min() < 0 or idx.max() >= len(labels):
            raise WrongAnswer(f"draw_per_class must return indices into labels (integers 0..{len(labels) - 1}), got {idx}")
        idx = idx.astype(int)
        if len(set(idx.tolist())) != len(idx):
            raise WrongAnswer(f"draw_per_class(labels, {n}, seed=0) returned the same example twice: draw without replacement")
        counts = np.bincount(labels[idx], minlength=4)
        if not np.all(counts == n):
            raise WrongAnswer(f"with n={n} every class should appear {n} times, got counts {counts.tolist()} for classes 0-3")
    draws = {tuple(sorted(np.asarray(call(draw_per_class, labels, 2, seed)).astype(int).tolist())) for seed in range(6)}
    if len(draws) == 1:
        raise WrongAnswer("six different seeds gave the same examples: draw at random, with a generator seeded by `seed`")
    again = np.asarray(call(draw_per_class, labels, 2, 3))
    if not np.array_equal(np.sort(again), np.sort(np.asarray(call(draw_per_class, labels, 2, 3)))):
        raise WrongAnswer("the same seed gave different examples: use np.random.default_rng(seed), not the global generator")


def _probe_data(seed: int) -> tuple[np.ndarray, ...]:
    """Few noisy training examples in many dimensions: training accuracy 1, test accuracy lower."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(3, 40))
    y_train, y_test = np.repeat(np.arange(3), 6), np.repeat(np.arange(3), 100)
    x_train = means[y_train] + 2.5 * rng.normal(size=(len(y_train), 40))
    x_test = means[y_test] + 2.5 * rng.normal(size=(len(y_test), 40))
    return x_train, y_train, x_test, y_test


@exercise("transfer-probe", title="A linear probe on fixed features", chapter=CHAPTER)
def _check_probe(probe_accuracy):
    for seed in (0, 1):
        x_train, y_train, x_test, y_test = _probe_data(seed)
        got = call(probe_accuracy, x_train, y_train, x_test, y_test)
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise WrongAnswer(f"return the accuracy as one number, got {type(got).__name__}") from None
        if not 0.0 <= got <= 1.0:
            raise WrongAnswer(f"the accuracy should be a fraction in [0, 1], got {got:.4g} (a percentage?)")
        ref = LogisticRegression(max_iter=2000).fit(x_train, y_train).score(x_test, y_test)
        if got == 1.0 and ref < 0.98:
            raise WrongAnswer("you got accuracy 1.0, which the probe only reaches on its own training examples "
                              "(or when fitted on the test set). Fit on the training features, score on the test features.")
        if abs(got - ref) > 0.06:
            raise WrongAnswer(f"on a test problem your accuracy is {got:.3f}, a logistic regression fitted on the "
                              f"training features scores {ref:.3f} on the test features. Did you swap train and test, "
                              "or return the error rate?")


@exercise("transfer-freeze", title="Freeze the first k blocks", chapter=CHAPTER)
def _check_freeze(freeze_blocks):
    x, y = torch.rand(8, 1, 28, 28), torch.arange(8) % 5
    for k in range(4):
        torch.manual_seed(0)
        model = call(freeze_blocks, SmallCNN(n_classes=5), k)
        if not isinstance(model, SmallCNN):
            raise WrongAnswer(f"freeze_blocks should return the model it was given, got {type(model).__name__}")
        before = [p.detach().clone() for p in model.parameters()]
        trainable = [p for p in model.parameters() if p.requires_grad]
        if trainable:
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            torch.optim.SGD(trainable, lr=0.1).step()
        for i, block in enumerate(model.blocks):
            moved = any(not torch.equal(p, before[j]) for j, p in _indexed(model, block))
            if i < k and moved:
                raise WrongAnswer(f"with k={k}, block {i + 1} still changes when the model trains. Set "
                                  "requires_grad = False on each of its parameters (block.parameters()); "
                                  "setting an attribute on the block itself freezes nothing.")
            if i >= k and not moved:
                raise WrongAnswer(f"with k={k}, block {i + 1} should still train but it is frozen: freeze only "
                                  "model.blocks[:k]")
        if not any(not torch.equal(p, before[j]) for j, p in _indexed(model, model.head)):
            raise WrongAnswer(f"with k={k} the head is frozen; it must stay trainable, it is what task B learns")


def _indexed(model: torch.nn.Module, part: torch.nn.Module) -> list[tuple[int, torch.Tensor]]:
    """The parameters of ``part`` with their position among ``model.parameters()``."""
    ids = {id(p) for p in part.parameters()}
    return [(j, p) for j, p in enumerate(model.parameters()) if id(p) in ids]
