"""Plausible wrong answers to the exercises of chapter 06_pca."""

import numpy as np


def _svd(X):
    return np.linalg.svd(X, full_matrices=False)


def _centred(X):
    return X - X.mean(axis=0)


WRONG_ANSWERS = {
    "pca-forward": [
        ("returned the code, forgot the decoder", lambda X, W1, W2: X @ W1),
        ("transposed result (d x n)", lambda X, W1, W2: (X @ W1 @ W2).T),
        ("used the encoder twice (W1 W1^T)", lambda X, W1, W2: X @ W1 @ W1.T),
        ("the slides' order e(d(x)): decode first", lambda X, W1, W2: X @ W2.T @ W1.T),
        ("forgot to return", lambda X, W1, W2: None),
    ],
    "pca-rank-k": [
        ("kept the k smallest singular triplets", lambda X, k: (lambda U, s, Vt: (U[:, -k:] * s[-k:]) @ Vt[-k:])(*_svd(X))),
        ("forgot the singular values", lambda X, k: (lambda U, s, Vt: U[:, :k] @ Vt[:k])(*_svd(X))),
        ("off by one: k + 1 triplets", lambda X, k: (lambda U, s, Vt: (U[:, :k + 1] * s[:k + 1]) @ Vt[:k + 1])(*_svd(X))),
        ("centred the data first", lambda X, k: (lambda U, s, Vt: (U[:, :k] * s[:k]) @ Vt[:k])(*_svd(_centred(X)))),
        ("squared singular values", lambda X, k: (lambda U, s, Vt: (U[:, :k] * s[:k] ** 2) @ Vt[:k])(*_svd(X))),
    ],
    "pca-projector": [
        ("U_k U_k^T (acts on columns, n x n)", lambda X, k: (lambda U, s, Vt: U[:, :k] @ U[:, :k].T)(*_svd(X))),
        ("V_k^T V_k (k x k)", lambda X, k: (lambda U, s, Vt: Vt[:k] @ Vt[:k].T)(*_svd(X))),
        ("took columns of Vt instead of rows", lambda X, k: (lambda U, s, Vt: Vt[:, :k] @ Vt[:, :k].T)(*_svd(X))),
        ("projector onto the bottom k directions", lambda X, k: (lambda U, s, Vt: Vt[-k:].T @ Vt[-k:])(*_svd(X))),
    ],
    "pca-variance-ratio": [
        ("forgot to centre", lambda X: (lambda s: s**2 / np.sum(s**2))(np.linalg.svd(X, compute_uv=False))),
        ("singular values, not their squares", lambda X: (lambda s: s / np.sum(s))(np.linalg.svd(_centred(X), compute_uv=False))),
        ("variances, not ratios", lambda X: np.linalg.svd(_centred(X), compute_uv=False) ** 2 / (len(X) - 1)),
        ("cumulative ratio", lambda X: (lambda s: np.cumsum(s**2) / np.sum(s**2))(np.linalg.svd(_centred(X), compute_uv=False))),
    ],
}
