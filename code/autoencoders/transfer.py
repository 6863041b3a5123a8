"""Transfer learning on the digits: two tasks, frozen features, linear probes and fine-tuning.

Task A is to classify digits 0-4, task B digits 5-9 from only a few labelled examples per class.
A network trained on task A (or an autoencoder trained without labels) is used as a feature
extractor for task B. The tools here do the bookkeeping of that comparison: repeated random
draws of m labelled examples per class (the notes keep n for a number of examples), a
logistic-regression probe on fixed features, and running a training function (fine-tuning,
training from scratch) on each draw, so every method sees the same labelled examples. The fine-tuning itself (a new head, frozen blocks, the training
loop) is written out in the chapter.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, Sequence

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits
from torch import nn
from torch.nn import functional as F

from autoencoders.models import SmallCNN
from autoencoders.plotting import WIDTH
from autoencoders.training import classification_loss, predict

#: The digits of task A (pre-training) and task B (the new task with few labels).
TASK_A = (0, 1, 2, 3, 4)
TASK_B = (5, 6, 7, 8, 9)

#: Names of the frozen features of a :class:`SmallCNN`, from the input to the penultimate layer.
LAYERS = ("block 1", "block 2", "penultimate")

#: How a probe may preprocess its features: as they are, or standardised with the statistics of
#: the labelled examples.
PREPROCESSING = ("none", "standardised")

Draws = dict  # {m (int) or "all": [index array, ...]}, m labelled examples per class


def select_classes(x: torch.Tensor, y: torch.Tensor, classes: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """The examples of the given classes, relabelled 0, 1, ... in the order of ``classes``.

    Raises
    ------
    ValueError
        If a class has no example or the classes repeat.
    """
    classes = list(classes)
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes must be distinct, got {classes}")
    new = torch.full_like(y, -1)
    for i, c in enumerate(classes):
        if not bool((y == c).any()):
            raise ValueError(f"class {c} has no example among the labels")
        new[y == c] = i
    keep = new >= 0
    return x[keep], new[keep]


def random_affine(
    x: torch.Tensor, degrees: float = 12.0, shift: float = 0.1, scale: float = 0.1, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Rotate, shift and scale each image of a batch (n, c, h, w) by a random small amount.

    Augmentation makes the task-A network learn features that are less tied to the exact pixel
    positions of its 2,000 training digits, which is what we want to transfer. ``shift`` is a
    fraction of the image's half-width, ``scale`` a relative change of size.
    """
    if x.ndim != 4:
        raise ValueError(f"random_affine needs a batch of images (n, c, h, w), got shape {tuple(x.shape)}")
    n = len(x)

    def uniform(limit: float) -> torch.Tensor:
        return (torch.rand(n, generator=generator) * 2 - 1) * limit

    angle, size = uniform(math.radians(degrees)), 1 + uniform(scale)
    cos, sin = size * torch.cos(angle), size * torch.sin(angle)
    theta = torch.stack([torch.stack([cos, -sin, uniform(shift)], 1), torch.stack([sin, cos, uniform(shift)], 1)], 1)
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)


def augmented_classification_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on randomly rotated, shifted and scaled copies of the batch (for ``fit``)."""
    return classification_loss(model, random_affine(x), y)


def frozen_features(model: SmallCNN, x: torch.Tensor, batch_size: int = 500) -> dict[str, np.ndarray]:
    """The activations of a trained :class:`SmallCNN` after each block, as fixed feature matrices.

    Returns
    -------
    dict
        ``{"block 1": (n, d1), "block 2": (n, d2), "penultimate": (n, d3)}`` float64 arrays.
    """
    features = predict(model, x, batch_size, fn=lambda m, batch: m.features(batch))
    return {name: f.double().numpy() for name, f in zip(LAYERS, features)}


def draw_per_class(labels: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``m`` distinct examples of every class, drawn at random (sorted by class).

    Raises
    ------
    ValueError
        If ``m`` is not positive or a class has fewer than ``m`` examples.
    """
    labels = np.asarray(labels)
    if m < 1:
        raise ValueError(f"m must be a positive number of examples per class, got {m}")
    picks = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        if len(members) < m:
            raise ValueError(f"class {c} has only {len(members)} examples, cannot draw {m}")
        picks.append(rng.choice(members, size=m, replace=False))
    return np.concatenate(picks)


def make_draws(labels: np.ndarray, ms: Sequence[int], n_draws: int, seed: int = 0) -> Draws:
    """``n_draws`` random labelled sets of ``m`` examples per class for every ``m`` in ``ms``, and "all".

    Every method is evaluated on the same draws, so differences between methods are not
    differences of luck. "all" is one set: every labelled example.
    """
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1, got {n_draws}")
    rng = np.random.default_rng(seed)
    draws: Draws = {m: [draw_per_class(labels, m, rng) for _ in range(n_draws)] for m in ms}
    draws["all"] = [np.arange(len(labels))]
    return draws


def linear_probe(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    eval_features: Sequence[np.ndarray],
    eval_labels: Sequence[np.ndarray],
    preprocessing: str = "none",
    C: float = 1.0,
) -> list[float]:
    """Fit a logistic regression on fixed features and return its accuracy on each evaluation set.

    The features are not changed by training: only the linear classifier on top is learned, so
    the accuracy measures how linearly separable the classes are in that feature space.
    ``preprocessing="standardised"`` scales every feature with the mean and standard deviation
    of the labelled examples (the only statistics a probe with few labels has).
    """
    if preprocessing not in PREPROCESSING:
        raise ValueError(f"preprocessing must be one of {PREPROCESSING}, got {preprocessing!r}")
    steps = [StandardScaler()] if preprocessing == "standardised" else []
    clf = make_pipeline(*steps, LogisticRegression(C=C, max_iter=2000))
    # Small problems: BLAS threads cost more than they save, most of all on a busy machine.
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(train_features, train_labels)
        return [float(clf.score(f, y)) for f, y in zip(eval_features, eval_labels)]


def probe_over_draws(
    features: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    labels: tuple[np.ndarray, np.ndarray, np.ndarray],
    draws: Draws,
    progress: Callable = iter,
) -> dict[tuple[str, str], dict]:
    """Probe every feature set with every preprocessing on every draw.

    Parameters
    ----------
    features : dict
        ``{method: (pool, validation, test)}`` feature matrices; rows of ``pool`` are the
        examples the draws index.
    labels : tuple
        ``(pool, validation, test)`` labels.
    draws : dict
        From :func:`make_draws`.
    progress : callable
        Wraps the loop over methods, e.g. ``tqdm``.

    Returns
    -------
    dict
        ``{(method, preprocessing): {m: (validation accuracies, test accuracies)}}``, one
        accuracy per draw.
    """
    y_pool, y_val, y_test = labels
    out: dict[tuple[str, str], dict] = {}
    for method in progress(list(features)):
        pool, val, test = features[method]
        for prep in PREPROCESSING:
            out[method, prep] = {}
            for m, idx_list in draws.items():
                scores = np.array([linear_probe(pool[i], y_pool[i], [val, test], [y_val, y_test], prep) for i in idx_list])
                out[method, prep][m] = (scores[:, 0], scores[:, 1])
    return out


def best_preprocessing(results: dict[tuple[str, str], dict]) -> dict[str, dict]:
    """For every method and m, the test accuracies of the preprocessing with the best validation mean.

    Choosing on the validation set, never on the test set, keeps the test accuracies honest.

    Returns
    -------
    dict
        ``{method: {m: (preprocessing, test accuracies)}}``.
    """
    best: dict[str, dict] = {}
    for (method, prep), by_m in results.items():
        for m, (val, test) in by_m.items():
            current = best.setdefault(method, {}).get(m)
            if current is None or val.mean() > current[2]:
                best[method][m] = (prep, test, val.mean())
    return {method: {m: (prep, test) for m, (prep, test, _) in by_m.items()} for method, by_m in best.items()}


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    """The fraction of examples whose highest class score is the true label."""
    return int((predict(model, x, batch_size).argmax(1) == y.cpu()).sum()) / len(x)


def train_over_draws(
    train: Callable[[torch.Tensor, torch.Tensor, int], nn.Module],
    pool: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    draws: Draws,
    progress: Callable = iter,
) -> dict:
    """Train a classifier on every draw with ``train`` and measure its test accuracy.

    Parameters
    ----------
    train : callable
        ``train(x, y, seed)`` returns a trained network; ``seed`` differs from draw to draw (the
        initialisation of a new head, the order of the mini-batches).
    pool, test : tuple of tensors
        Images and labels; the draws index ``pool``.
    draws : dict
        From :func:`make_draws`.
    progress : callable
        Wraps the loop over the draws, e.g. ``tqdm``.

    Returns
    -------
    dict
        ``{m: test accuracies}``, one per draw.
    """
    x_pool, y_pool = pool
    jobs = [(m, k, idx) for m, idx_list in draws.items() for k, idx in enumerate(idx_list)]
    out: dict = {m: np.zeros(len(idx_list)) for m, idx_list in draws.items()}
    for m, k, idx in progress(jobs):
        idx_t = torch.as_tensor(idx)
        seed = 1000 * k + (len(idx) % 1000)  # a different initialisation and shuffling for every draw
        out[m][k] = accuracy(train(x_pool[idx_t], y_pool[idx_t], seed), *test)
    return out


def summarise(curves: dict[str, dict]) -> dict[str, dict]:
    """``{method: {m: (mean, spread)}}`` in percent; the spread is the standard deviation over draws.

    The ``(mean, spread)`` pairs show as "52.3 ± 1.4" in an :class:`autoencoders.results.Table`.
    """
    return {method: {m: (100 * float(np.mean(a)), 100 * float(np.std(a))) for m, a in by_m.items()}
            for method, by_m in curves.items()}


def plot_accuracy_curves(curves: dict[str, dict], m_all: int, styles: dict[str, dict] | None = None, ax=None):
    """Test accuracy (mean, with the spread over draws as error bars) against labels per class.

    ``m_all`` is where "all" sits on the logarithmic axis: the number of labelled examples per
    class in the whole pool. The legend sits inside the axes (lower right), so the figure keeps
    the width of the text column.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(WIDTH, 0.6 * WIDTH))
    for method, mean_spread in summarise(curves).items():
        ms = list(mean_spread)
        xs = [m_all if m == "all" else m for m in ms]
        means, spreads = zip(*(mean_spread[m] for m in ms))
        ax.errorbar(xs, means, yerr=spreads, capsize=3, marker="o", ms=4, label=method,
                    **(styles or {}).get(method, {}))
    ax.set_xscale("log")
    ticks = [m for m in next(iter(curves.values())) if m != "all"] + [m_all]
    ax.set_xticks(ticks, [str(t) for t in ticks[:-1]] + [f"all\n({m_all})"])
    ax.minorticks_off()
    ax.set_xlabel("labelled examples per class of task B, m (log scale)")
    ax.set_ylabel("task B test accuracy (%)")
    ax.legend(loc="lower right")
    return ax
