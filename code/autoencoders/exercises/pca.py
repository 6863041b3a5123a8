"""Checks of the exercises of chapter ``06_pca``: training the linear autoencoder to the
Eckart-Young optimum, power iteration for the first principal component, PCA whitening, and
PCA in one pass over batches of data.

Every check measures the outcome on small synthetic matrices with a known answer (a few
seconds on one core at most), with fixed seeds, and accepts any correct variation (signs of
components, the optimiser and its settings, the variance convention).
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import scipy.linalg
import torch
from torch import nn

from autoencoders.exercises.core import WrongAnswer, call, exercise, expect_array

CHAPTER = "06_pca"


def _matrix(n: int, d: int, top: list[float], rest: tuple[float, float], seed: int,
            mean: float = 0.0) -> np.ndarray:
    """An n x d matrix with chosen singular values (``top``, then ``rest`` spread linearly),
    random singular vectors and, if ``mean`` is non-zero, every row shifted by one vector of
    that norm."""
    rng = np.random.default_rng(seed)
    m = min(n, d)
    s = np.concatenate([top, np.linspace(*rest, m - len(top))])
    U = np.linalg.qr(rng.normal(size=(n, m)))[0]
    V = np.linalg.qr(rng.normal(size=(d, m)))[0]
    X = (U * s) @ V.T
    if mean:
        shift = rng.normal(size=d)
        X = X + mean * shift / np.linalg.norm(shift)
    return X


def _centred_svd(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.linalg.svd(X - X.mean(axis=0), full_matrices=False)


# --- training the linear autoencoder ----------------------------------------------------------


class _LinearAutoencoder(nn.Module):
    """f(x)^T = x^T W1 W2: the chapter's linear autoencoder, started from random weights."""

    def __init__(self, d: int, k: int) -> None:
        super().__init__()
        self.W1 = nn.Parameter(torch.randn(d, k) / d**0.5)
        self.W2 = nn.Parameter(torch.randn(k, d) / k**0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.W1 @ self.W2


#: (n, d, k) of the training problems: the top k singular values stand well above the rest.
_TRAIN_CASES = [(200, 20, 3), (120, 30, 4)]
TRAIN_GAP = 1e-3


@exercise("pca-train-loop", title="Train the linear autoencoder", chapter=CHAPTER)
def _check_train_loop(train_linear_autoencoder):
    for case, (n, d, k) in enumerate(_TRAIN_CASES):
        X = _matrix(n, d, top=list(np.linspace(6.0, 4.0, k)), rest=(1.0, 0.2), seed=10 + case)
        optimum = float(np.sum(np.linalg.svd(X, compute_uv=False)[k:] ** 2))
        torch.manual_seed(case)
        model = _LinearAutoencoder(d, k)
        start = [p.detach().clone() for p in (model.W1, model.W2)]
        X_t = torch.tensor(X, dtype=torch.float32)
        name = f"train_linear_autoencoder(model, X) for X of shape {X.shape}, k = {k}"
        losses = call(train_linear_autoencoder, model, X_t)
        try:
            losses = np.array([float(v) for v in losses], dtype=np.float64)
        except (TypeError, ValueError):
            raise WrongAnswer(f"{name} should return the list of training losses, one number per "
                              f"step; got {type(losses).__name__}") from None
        if losses.size < 2:
            raise WrongAnswer(f"{name} returned {losses.size} loss value(s); return the loss of every "
                              "step (a list with one number per step)")
        W1 = model.W1.detach().double().numpy()
        W2 = model.W2.detach().double().numpy()
        steps = losses.size
        bad = np.flatnonzero(~np.isfinite(losses))
        if bad.size or not (np.all(np.isfinite(W1)) and np.all(np.isfinite(W2))):
            where = (f"the loss you recorded became {losses[bad[0]]} at step {bad[0] + 1} of {steps}"
                     if bad.size else f"the weights hold NaN or inf after the {steps} steps")
            raise WrongAnswer(
                f"{name}: {where} (first recorded loss {losses[0]:.4g}): training diverged. Steps "
                "that are too large for the loss's scale do this (the gradient of a summed squared "
                "error grows with ||X||_F^2), and so do gradients that pile up from step to step."
            )
        moved = [not torch.equal(p.detach(), p0) for p, p0 in zip((model.W1, model.W2), start)]
        if not any(moved):
            raise WrongAnswer(
                f"{name}: the model's weights are the same after your function as before it. The "
                "check trains the model you receive, in place: its parameters model.W1 and model.W2 "
                "must change."
            )
        if not all(moved):
            still = "W1" if not moved[0] else "W2"
            raise WrongAnswer(f"{name}: {still} did not change during training; the loss depends on "
                              "both W1 and W2, and the optimum needs both.")
        loss = float(np.linalg.norm(X - X @ W1 @ W2) ** 2)
        gap = (loss - optimum) / optimum
        if gap > TRAIN_GAP:
            tail = losses[-max(2, steps // 10):]
            if losses[-1] >= losses[0]:
                seen = (f"The loss you recorded did not fall over the {steps} steps (first "
                        f"{losses[0]:.4g}, last {losses[-1]:.4g}).")
            elif tail[-1] < tail[0] * (1 - 1e-3) and np.all(np.diff(tail) <= 0):
                seen = (f"The loss you recorded fell from {losses[0]:.4g} to {losses[-1]:.4g} and "
                        f"was still falling over the last {tail.size} of your {steps} steps.")
            elif np.any(np.diff(tail) > 0):
                seen = (f"The loss you recorded fell from {losses[0]:.4g} to {losses[-1]:.4g} but "
                        f"rose again in some of the last {tail.size} of your {steps} steps.")
            else:
                seen = (f"The loss you recorded fell from {losses[0]:.4g} to {losses[-1]:.4g} and "
                        f"hardly changed over the last {tail.size} of your {steps} steps.")
            raise WrongAnswer(
                f"{name}: after training, ||X - X W1 W2||_F^2 = {loss:.5g}, which is {gap:.2e} "
                f"(relative) above the Eckart-Young optimum {optimum:.5g}; the check accepts "
                f"{TRAIN_GAP:g}. {seen}"
            )


# --- power iteration -------------------------------------------------------------------------


@contextmanager
def _no_decompositions() -> Iterator[None]:
    """Make the library SVDs and eigensolvers refuse to run while the student's code runs."""

    def refuse(*args, **kwargs):
        raise WrongAnswer(
            "this exercise asks for power iteration: multiply a vector by the covariance (or by X^T X) "
            "again and again, instead of calling an SVD or eigensolver"
        )

    targets = [(np.linalg, name) for name in ("svd", "eig", "eigh")]
    targets += [(scipy.linalg, name) for name in ("svd", "eig", "eigh")]
    targets += [(torch.linalg, name) for name in ("svd", "eig", "eigh")]
    saved = [(module, name, getattr(module, name)) for module, name in targets]
    try:
        for module, name, _ in saved:
            setattr(module, name, refuse)
        yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


#: (n, d) of the matrices, with a shift of the mean much larger than the spread, so that the top
#: direction of the uncentred data is not the first principal component.
_POWER_CASES = [(200, 12), (15, 40), (100, 30)]
POWER_COS = 1 - 1e-8


@exercise("pca-power-iteration", title="Power iteration for the first component", chapter=CHAPTER)
def _check_power_iteration(first_principal_component):
    for case, (n, d) in enumerate(_POWER_CASES):
        X = _matrix(n, d, top=[3.0, 2.4], rest=(1.8, 0.1), seed=20 + case, mean=40.0)
        v1 = _centred_svd(X)[2][0]
        v_raw = np.linalg.svd(X, full_matrices=False)[2][0]
        name = f"first_principal_component(X) for X of shape {X.shape}"
        np.random.seed(case)
        torch.manual_seed(case)
        with _no_decompositions():
            got = call(first_principal_component, X)
        v = expect_array(got, (d,), name=name, hint="return one direction in pixel space: a vector "
                         "of length d (the number of columns), not n")
        norm = float(np.linalg.norm(v))
        if abs(norm - 1) > 1e-6:
            raise WrongAnswer(
                f"{name} has norm {norm:.6g}; a principal direction is a unit vector. Divide the "
                "iterate by its norm in every step (without it the iterates grow without bound)."
            )
        cos = abs(float(v @ v1))
        if cos >= POWER_COS:
            continue
        if abs(float(v @ v_raw)) > 0.99:
            raise WrongAnswer(
                f"{name} is the top direction of the uncentred data (|cos| = {abs(float(v @ v_raw)):.4f} "
                "with it), which points towards the mean. The variance is measured around the "
                "mean: subtract each column's mean first."
            )
        raise WrongAnswer(
            f"{name} has |cos| = {cos:.8f} with the first principal component; a converged power "
            f"iteration reaches at least {POWER_COS:.8f}. The error shrinks like "
            "(lambda_2 / lambda_1)^t after t steps: run more iterations, or iterate until v stops "
            "changing, and check that you multiply by the covariance of the centred data."
        )


# --- whitening -------------------------------------------------------------------------------

_WHITEN_CASES = [(150, 10, 3), (60, 25, 5)]
#: How far the covariance of the codes may be from the identity, entry by entry.
WHITEN_TOL = 1e-6


@exercise("pca-whiten", title="PCA whitening", chapter=CHAPTER)
def _check_whiten(pca_whiten):
    for case, (n, d, k) in enumerate(_WHITEN_CASES):
        X = _matrix(n, d, top=list(np.linspace(8.0, 5.0, k)), rest=(3.0, 0.5), seed=30 + case, mean=5.0)
        U, s, Vt = _centred_svd(X)
        name = f"pca_whiten(X, {k}) for X of shape {X.shape}"
        Z = expect_array(call(pca_whiten, X, k), (n, k), name=name,
                         hint="one row of codes per row of X, one column per component")
        means = np.abs(Z.mean(axis=0)).max()
        if means > 1e-6:
            raise WrongAnswer(f"{name}: the columns of Z have means up to {means:.3g}, expected 0. "
                              "Subtract the column means of X before projecting.")
        cov = Z.T @ Z / (n - 1)
        for convention, C in (("n - 1", cov), ("n", Z.T @ Z / n)):
            if np.allclose(C, np.eye(k), rtol=0, atol=WHITEN_TOL):
                break
        else:
            diag = ", ".join(f"{c:.3g}" for c in np.diag(cov))
            raise WrongAnswer(
                f"{name}: the covariance Z^T Z / (n - 1) of your codes should be the identity; its "
                f"diagonal is [{diag}]. The variance along component i is sigma_i^2 / (n - 1): "
                "divide each column of the projected data by its standard deviation."
            )
        reference = U[:, :k] * np.sqrt(n - 1)  # (X - mean) V_k / sqrt(lambda), lambda = s^2 / (n - 1)
        if convention == "n":
            reference = reference * np.sqrt(n / (n - 1))
        for i in range(k):
            if min(np.abs(Z[:, i] - reference[:, i]).max(), np.abs(Z[:, i] + reference[:, i]).max()) > 1e-6:
                raise WrongAnswer(
                    f"{name}: column {i} is white but is not the code of principal component "
                    f"{i + 1}. Project on the top-k principal directions in order of decreasing "
                    "variance (rows of Vt from the SVD of the centred data), then scale."
                )


# --- PCA in one pass over batches --------------------------------------------------------------

#: (number of batches, rows per batch, d, k); the batches' means drift, so that centring each
#: batch with its own mean gives a different covariance.
_STREAM_CASES = [(5, 40, 8, 2), (3, 25, 15, 3)]
#: Each returned row must have |cos| of at least this with its principal component.
STREAM_COS = 1 - 1e-6


def _batches(n_batches: int, rows: int, d: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    scales = np.geomspace(3.0, 0.3, d)
    drift = rng.normal(size=d)
    drift *= 1.5 / np.linalg.norm(drift)
    basis = np.linalg.qr(rng.normal(size=(d, d)))[0]
    return [(rng.normal(size=(rows, d)) * scales) @ basis.T + 4.0 + j * drift for j in range(n_batches)]


@exercise("pca-streaming", title="PCA in one pass over batches", chapter=CHAPTER)
def _check_streaming(streaming_components):
    for case, (n_batches, rows, d, k) in enumerate(_STREAM_CASES):
        batches = _batches(n_batches, rows, d, seed=50 + case)
        X = np.vstack(batches)
        Vt = _centred_svd(X)[2][:k]
        name = f"streaming_components(batches, {k}) for {n_batches} batches of {rows} x {d}"
        got = call(streaming_components, (b.copy() for b in batches), k)
        W = expect_array(got, (k, d), name=name,
                         hint="return the components as rows, like components_ of ae.pca.PCA")
        if not np.allclose(W @ W.T, np.eye(k), atol=1e-6):
            raise WrongAnswer(f"{name}: the rows are not orthonormal (W W^T should be the identity). "
                              "Return unit eigenvectors of the covariance, one per row.")
        cos = np.abs(np.sum(W * Vt, axis=1))
        if np.all(cos >= STREAM_COS):
            continue
        worst = int(np.argmin(cos))
        raise WrongAnswer(
            f"{name}: row {worst} has |cos| = {cos[worst]:.4f} with principal component {worst + 1} "
            "of all the rows together. Accumulate over every batch the number of rows, the sum of "
            "the rows and the sum of x x^T; only at the end form the covariance around the overall "
            "mean, C = (sum of x x^T - n mu mu^T) / (n - 1), and take its eigenvectors in order of "
            "decreasing eigenvalue (eigh returns them increasing)."
        )


# --- randomized SVD ----------------------------------------------------------------------------

_SINGULAR_VALUE_LAWS = {
    "slowly decaying, sigma_i = i^(-1/2)": lambda i, k: i ** -0.5,
    "nearly flat, sigma_i = i^(-0.3)": lambda i, k: i ** -0.3,
    "steep, sigma_1 / sigma_k = 1000, then a slow tail": lambda i, k: np.where(
        i <= k, np.geomspace(1e3, 1.0, k)[np.minimum(i, k) - 1], 0.8 / np.sqrt(i)),
}
#: (n, d, k) of the check's matrices, one per law above: tall, wide, tall.
_RSVD_CASES = [(300, 200, 10), (200, 400, 8), (400, 150, 12)]
#: The largest relative excess ||X - U S V^T||_F^2 / sum_{i>k} sigma_i^2 - 1 the check accepts.
RSVD_EXCESS = 1e-2
#: The oversampling and the number of power iterations the hints suggest (they pass the check).
RSVD_OVERSAMPLING, RSVD_ITERATIONS = 10, 4


def _spectrum_matrix(n: int, d: int, k: int, law, seed: int) -> np.ndarray:
    """An n x d matrix with singular values law(1..min(n, d)) and random singular vectors."""
    rng = np.random.default_rng(seed)
    m = min(n, d)
    U = np.linalg.qr(rng.normal(size=(n, m)))[0]
    V = np.linalg.qr(rng.normal(size=(d, m)))[0]
    return (U * law(np.arange(1, m + 1), k)) @ V.T


def _shape_of(a) -> tuple[int, ...]:
    return tuple(getattr(a, "shape", np.shape(a)))


@contextmanager
def _small_decompositions_only(limit: int) -> Iterator[None]:
    """Let SVDs and eigensolvers run only on matrices with a side of at most ``limit``, and
    switch off the library's randomized and truncated SVDs, while the student's code runs."""

    def guarded(original, name):
        def decompose(a, *args, **kwargs):
            shape = _shape_of(a)
            if len(shape) >= 2 and min(shape[-2:]) > limit:
                raise WrongAnswer(
                    f"your function called {name} on a {shape[-2]} x {shape[-1]} matrix. A randomized "
                    "SVD decomposes only small matrices: orthonormalise the n x (k + p) sketch with "
                    "a QR decomposition, and take the exact SVD of the (k + p) x d matrix B = Q^T X."
                )
            return original(a, *args, **kwargs)
        return decompose

    def refuse(name):
        def refused(*args, **kwargs):
            raise WrongAnswer(f"your function called {name}, a library's randomized or truncated "
                              "SVD; this exercise asks you to write one: sketch, power iterations, "
                              "small SVD")
        return refused

    def module(name: str):
        try:
            return importlib.import_module(name)
        except ImportError:  # a private module that a later version moved
            return None

    targets = [(m, n) for m in (np.linalg, scipy.linalg, torch.linalg) for n in ("svd", "eig", "eigh")]
    targets += [(torch, "svd"), (np.linalg, "svdvals")]
    refused = [(module(m), n) for m, n in [
        ("sklearn.utils.extmath", "randomized_svd"), ("sklearn.utils.extmath", "_randomized_svd"),
        ("sklearn.decomposition._pca", "_randomized_svd"), ("autoencoders.pca", "randomized_svd"),
        ("torch", "svd_lowrank"), ("torch", "pca_lowrank"), ("scipy.sparse.linalg", "svds")]]
    saved = [(m, n, getattr(m, n)) for m, n in targets + refused if hasattr(m, n)]
    try:
        for module, name, original in saved:
            label = f"{module.__name__}.{name}"
            setattr(module, name, refuse(label) if (module, name) in refused else guarded(original, label))
        yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


@exercise("pca-randomized-svd", title="A randomized SVD", chapter=CHAPTER)
def _check_randomized_svd(randomized_svd):
    for case, ((law_name, law), (n, d, k)) in enumerate(zip(_SINGULAR_VALUE_LAWS.items(), _RSVD_CASES)):
        X = _spectrum_matrix(n, d, k, law, seed=60 + case)
        optimum = float(np.sum(np.linalg.svd(X, compute_uv=False)[k:] ** 2))
        name = f"randomized_svd(X, {k}) for X of shape {X.shape} ({law_name})"
        np.random.seed(case)
        torch.manual_seed(case)
        with _small_decompositions_only(min(n, d) // 2):
            got = call(randomized_svd, X.copy(), k)
        if not (isinstance(got, (tuple, list)) and len(got) == 3):
            raise WrongAnswer(f"{name} should return three arrays (U, s, Vt), like "
                              f"np.linalg.svd; got {type(got).__name__}")
        sizes = tuple(_shape_of(part) for part in got)
        if sizes in [((n, k + p), (k + p,), (k + p, d)) for p in range(1, min(n, d))]:
            raise WrongAnswer(
                f"{name} returned {sizes[1][0]} singular triplets; return the top k = {k} only. "
                "The p extra columns of the sketch help to find the top k directions; drop them "
                "after the small SVD."
            )
        U = expect_array(got[0], (n, k), name=f"U from {name}", hint="one column per component")
        s = expect_array(got[1], (k,), name=f"s from {name}", hint="the k largest singular values")
        Vt = expect_array(got[2], (k, d), name=f"Vt from {name}",
                          hint="one row per component, as np.linalg.svd returns V^T")
        for what, G in (("columns of U", U.T @ U), ("rows of Vt", Vt @ Vt.T)):
            worst = float(np.abs(G - np.eye(k)).max())
            if worst > 1e-6:
                raise WrongAnswer(
                    f"{name}: the {what} are not orthonormal (largest entry of the Gram matrix "
                    f"minus the identity: {worst:.2g}). Take U = Q @ U_B from the exact SVD "
                    "B = U_B S V^T of the small matrix B = Q^T X, with Q orthonormal (a QR of the "
                    "sketch), and V^T from that same SVD."
                )
        if np.any(s < 0) or np.any(np.diff(s) > 1e-12 * max(1.0, float(s[0]))):
            raise WrongAnswer(f"{name}: s should hold non-negative singular values in decreasing "
                              f"order, got {np.array2string(s, precision=3)}")
        loss = float(np.linalg.norm(X - (U * s) @ Vt) ** 2)
        excess = loss / optimum - 1
        if excess <= RSVD_EXCESS:
            continue
        said = (f"{name}: ||X - U diag(s) Vt||_F^2 is {excess:.3g} (relative) above the "
                f"Eckart-Young optimum sum_(i>k) sigma_i^2 = {optimum:.4g}; the check accepts "
                f"at most {RSVD_EXCESS:g}.")
        if law_name.startswith("steep") and excess > 1:
            hint = ("The matrix's top singular values span three orders of magnitude: multiplied "
                    "again and again by X X^T without orthonormalising in between, every column "
                    "of the sketch turns towards the top singular vector and the rest is lost in "
                    "rounding. Take a QR decomposition after each multiplication by X and by X^T.")
        else:
            hint = ("With slowly decaying singular values a single sketch X Omega also catches "
                    "much of the tail. Sharpen it with power iterations, Q <- qr(X (X^T Q)) "
                    f"(orthonormalising after each product), and oversample, k + {RSVD_OVERSAMPLING} "
                    f"random columns; {RSVD_ITERATIONS} iterations are plenty here.")
        raise WrongAnswer(f"{said} {hint}")
