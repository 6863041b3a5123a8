"""Checks of the exercises of chapter ``06_pca``: the linear autoencoder's forward pass, the best
rank-k approximation, the projector onto the top-k principal directions, and the explained
variance ratio."""

from __future__ import annotations

import numpy as np

from autoencoders.exercises.core import WrongAnswer, call, exercise, expect_array, expect_close

CHAPTER = "06_pca"

#: (n, d, k) of the matrices each check tries: tall, wide, and square-ish, so that a transposed
#: or shape-specific answer fails.
_SHAPES = [(12, 7, 3), (6, 10, 2), (9, 9, 4)]


def _matrices() -> list[tuple[np.ndarray, int]]:
    """Test matrices with distinct singular values (so the top-k subspace is well defined)."""
    rng = np.random.default_rng(0)
    return [(rng.normal(size=(n, d)) + 0.5, k) for n, d, k in _SHAPES]


def _rank_k(X: np.ndarray, k: int) -> np.ndarray:
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    return (U[:, :k] * s[:k]) @ Vt[:k]


@exercise("pca-forward", title="The linear autoencoder's forward pass", chapter=CHAPTER)
def _check_forward(linear_autoencoder):
    rng = np.random.default_rng(1)
    for n, d, k in _SHAPES:
        X, W1, W2 = rng.normal(size=(n, d)), rng.normal(size=(d, k)), rng.normal(size=(k, d))
        got = call(linear_autoencoder, X, W1, W2)
        expect_close(
            got, X @ W1 @ W2, name=f"linear_autoencoder(X, W1, W2) for X {n}x{d}, k={k}",
            hint="each row x^T becomes x^T W1 W2: encode with W1, then decode with W2",
        )


@exercise("pca-rank-k", title="Best rank-k approximation", chapter=CHAPTER)
def _check_rank_k(best_rank_k):
    for X, k in _matrices():
        got = call(best_rank_k, X, k)
        arr = expect_array(got, X.shape, name=f"best_rank_k(X, {k}) for X of shape {X.shape}")
        rank = np.linalg.matrix_rank(arr, tol=1e-8 * np.linalg.norm(X, 2))
        if rank != k:
            raise WrongAnswer(
                f"best_rank_k(X, {k}) has rank {rank}, expected {k}. Keep exactly the first k singular triplets."
            )
        expect_close(
            arr, _rank_k(X, k), name=f"best_rank_k(X, {k}) for X of shape {X.shape}",
            hint="keep the k largest singular values with their singular vectors: U_k diag(s_k) V_k^T "
            "(the data are not centred here)",
        )


@exercise("pca-projector", title="The projector onto the top-k principal directions", chapter=CHAPTER)
def _check_projector(top_k_projector):
    for X, k in _matrices():
        d = X.shape[1]
        P = expect_array(
            call(top_k_projector, X, k), (d, d), name=f"top_k_projector(X, {k}) for X of shape {X.shape}",
            hint="the projector acts on rows x^T of length d: it is V_k V_k^T, of shape (d, d)",
        )
        if not np.allclose(P, P.T, atol=1e-8) or not np.allclose(P @ P, P, atol=1e-8):
            raise WrongAnswer(
                f"top_k_projector(X, {k}) is not an orthogonal projector (P = P^T = P P). "
                "Build it from orthonormal vectors: V_k V_k^T with V_k = Vt[:k].T"
            )
        expect_close(
            X @ P, _rank_k(X, k), name=f"X @ top_k_projector(X, {k})",
            hint="project onto the span of the top-k right singular vectors, so that X V_k V_k^T = U_k S_k V_k^T",
        )


@exercise("pca-variance-ratio", title="Explained variance ratio", chapter=CHAPTER)
def _check_variance_ratio(explained_variance_ratio):
    for X, _ in _matrices():
        Xc = X - X.mean(axis=0)
        s = np.linalg.svd(Xc, compute_uv=False)
        expected = s**2 / np.sum(s**2)
        got = call(explained_variance_ratio, X)
        expect_close(
            got, expected, name=f"explained_variance_ratio(X) for X of shape {X.shape}",
            hint="centre the columns first, then divide each squared singular value by their sum; "
            "the ratios are decreasing and add up to 1",
        )
