"""Plausible wrong answers to the exercises of chapter 01_transfer_learning."""

import numpy as np
from sklearn.linear_model import LogisticRegression


def _per_class(labels, pick):
    labels = np.asarray(labels)
    return np.concatenate([pick(np.flatnonzero(labels == c)) for c in np.unique(labels)])


def _probe(x_fit, y_fit):
    return LogisticRegression(max_iter=2000).fit(x_fit, y_fit)


def _freeze_params(blocks):
    for block in blocks:
        for p in block.parameters():
            p.requires_grad = False


def _set_attribute(model, k):
    for block in model.blocks[:k]:
        block.requires_grad = False  # an attribute on the module: freezes nothing
    return model


def _off_by_one(model, k):
    _freeze_params(model.blocks[:k + 1])
    return model


def _everything(model, k):
    _freeze_params([model])
    return model


WRONG_ANSWERS = {
    "transfer-draw": [
        ("n examples in all, not n per class",
         lambda labels, n, seed: np.random.default_rng(seed).choice(len(labels), n, replace=False)),
        ("drew with replacement",
         lambda labels, n, seed: _per_class(labels, lambda m: np.random.default_rng(seed).choice(m, n, replace=True))),
        ("the first n of every class, not random", lambda labels, n, seed: _per_class(labels, lambda m: m[:n])),
        ("ignored the seed (global generator)",
         lambda labels, n, seed: _per_class(labels, lambda m: np.random.choice(m, n, replace=False))),
    ],
    "transfer-probe": [
        ("returned the training accuracy", lambda xtr, ytr, xte, yte: _probe(xtr, ytr).score(xtr, ytr)),
        ("fitted on the test set", lambda xtr, ytr, xte, yte: _probe(xte, yte).score(xte, yte)),
        ("returned the error rate", lambda xtr, ytr, xte, yte: 1 - _probe(xtr, ytr).score(xte, yte)),
        ("returned a percentage", lambda xtr, ytr, xte, yte: 100 * _probe(xtr, ytr).score(xte, yte)),
        ("returned the predictions", lambda xtr, ytr, xte, yte: _probe(xtr, ytr).predict(xte)),
    ],
    "transfer-freeze": [
        ("set requires_grad on the block, not its parameters", _set_attribute),
        ("off by one: froze k + 1 blocks", _off_by_one),
        ("froze the whole model, head included", _everything),
        ("switched to eval mode instead of freezing", lambda model, k: model.eval()),
    ],
}
