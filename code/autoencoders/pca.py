"""Principal component analysis with scikit-learn's estimator API.

``PCA(n_components=k).fit(X)`` finds the top-k principal directions of the rows of ``X``;
``transform`` encodes (``(x - mean) V_k``) and ``inverse_transform`` decodes (``z V_k^T + mean``),
so ``inverse_transform(transform(X))`` is the optimal linear autoencoder with biases of the
PCA chapter. Results match ``sklearn.decomposition.PCA`` (components up to the same sign rule).

The default solver works on the smaller of the two Gram matrices (``Xc^T Xc`` when there are more
rows than columns, ``Xc Xc^T`` otherwise): one matrix product and one symmetric eigensolver are
cheaper than an SVD of the whole centred data. Squaring the matrix squares its condition number,
so when a kept eigenvalue is too small relative to the largest for its square root to be
accurate, the fit falls back to LAPACK's SVD of the centred data.
"""

from __future__ import annotations

from numbers import Integral
from typing import Literal

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.extmath import randomized_svd, svd_flip
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

Solver = Literal["auto", "full", "randomized"]

#: Smallest ratio lambda_k / lambda_1 of a kept Gram eigenvalue that the "auto" solver trusts.
#: Eigensolvers return eigenvalues to about eps * lambda_1 absolutely, so at this ratio the kept
#: singular values are still accurate to about 1e-10 relative; below it, "auto" uses the SVD.
GRAM_RATIO_MIN = 1e-6


class PCA(TransformerMixin, BaseEstimator):
    """Principal component analysis: project centred data onto its top principal directions.

    Parameters
    ----------
    n_components : int, optional
        Number of components k to keep, ``1 <= k <= min(n_samples, n_features)``; default all.
    svd_solver : {"auto", "full", "randomized"}
        ``"auto"``: eigendecomposition of the smaller Gram matrix of the centred data (fast),
        falling back to ``"full"`` when a kept eigenvalue is below ``GRAM_RATIO_MIN`` times the
        largest. ``"full"``: LAPACK's SVD of the centred data. ``"randomized"``: the randomized
        range finder of Halko, Martinsson and Tropp (2011), via scikit-learn; approximate, for
        k much smaller than the matrix.
    n_oversamples, n_iter : int
        Extra random directions and power iterations of the randomized solver.
    random_state : int
        Seed of the randomized solver, so that its result is the same on every run.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Principal directions (rows of V_k^T), orthonormal, by decreasing variance; each row's
        largest entry in absolute value is positive (scikit-learn's sign rule).
    explained_variance_ : ndarray of shape (n_components,)
        Variance of the data along each component (``singular_values_**2 / (n_samples - 1)``).
    explained_variance_ratio_ : ndarray of shape (n_components,)
        Fraction of the total variance along each component.
    singular_values_ : ndarray of shape (n_components,)
        Singular values of the centred data, decreasing.
    mean_ : ndarray of shape (n_features,)
        Mean of the training rows, subtracted before projecting.
    n_components_, n_samples_, n_features_in_ : int
        Components kept, training rows, and features seen by ``fit``.
    """

    def __init__(
        self,
        n_components: int | None = None,
        *,
        svd_solver: Solver = "auto",
        n_oversamples: int = 10,
        n_iter: int = 4,
        random_state: int = 0,
    ) -> None:
        self.n_components = n_components
        self.svd_solver = svd_solver
        self.n_oversamples = n_oversamples
        self.n_iter = n_iter
        self.random_state = random_state

    def _check_params(self, n_samples: int, n_features: int) -> int:
        """Validate the parameters against the data's shape and return k."""
        if self.svd_solver not in ("auto", "full", "randomized"):
            raise ValueError(
                f"svd_solver must be 'auto', 'full' or 'randomized', got {self.svd_solver!r}"
            )
        if n_samples < 2:
            raise ValueError(
                f"PCA needs at least 2 samples to estimate variances, got n_samples = {n_samples}"
            )
        k_max = min(n_samples, n_features)
        if self.n_components is None:
            return k_max
        if not isinstance(self.n_components, Integral) or isinstance(self.n_components, bool):
            raise ValueError(f"n_components must be an int or None, got {self.n_components!r}")
        if not 1 <= self.n_components <= k_max:
            raise ValueError(
                f"n_components={self.n_components} is out of range: it must be between 1 and "
                f"min(n_samples, n_features) = min({n_samples}, {n_features}) = {k_max}"
            )
        return int(self.n_components)

    def fit(self, X, y=None) -> "PCA":
        """Fit the principal directions of the rows of ``X`` (shape (n_samples, n_features)).

        ``y`` is ignored; it is there for scikit-learn pipelines.
        """
        self._fit(X)
        return self

    def fit_transform(self, X, y=None) -> np.ndarray:
        """Fit, then return the codes of the training rows, shape (n_samples, n_components)."""
        Xc = self._fit(X)
        return Xc @ self.components_.T

    def _fit(self, X) -> np.ndarray:
        """Fit the attributes and return the centred data (reused by ``fit_transform``)."""
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=1, reset=True)
        n, d = X.shape
        k = self._check_params(n, d)
        self.mean_ = X.mean(axis=0)
        Xc = X - self.mean_
        total_variance = np.einsum("ij,ij->", Xc, Xc) / (n - 1)
        if total_variance == 0.0:
            raise ValueError("all rows of X are equal: there is no variance for PCA to explain")
        solver = self.svd_solver
        if solver == "auto":
            s, Vt = _gram_svd(Xc, k)
            if s[k - 1] ** 2 < GRAM_RATIO_MIN * s[0] ** 2:
                solver = "full"
        if solver == "full":
            _, s, Vt = scipy.linalg.svd(Xc, full_matrices=False, check_finite=False)
            s, Vt = s[:k], Vt[:k]
        elif solver == "randomized":
            _, s, Vt = randomized_svd(
                Xc, k, n_oversamples=self.n_oversamples, n_iter=self.n_iter,
                random_state=self.random_state, flip_sign=False,
            )
        _, Vt = svd_flip(None, Vt, u_based_decision=False)
        self.components_ = np.ascontiguousarray(Vt)
        self.singular_values_ = s
        self.explained_variance_ = s**2 / (n - 1)
        self.explained_variance_ratio_ = self.explained_variance_ / total_variance
        self.n_components_ = k
        self.n_samples_ = n
        return Xc

    def transform(self, X) -> np.ndarray:
        """Encode rows: ``(X - mean_) @ components_.T``, shape (n_samples, n_components)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return (X - self.mean_) @ self.components_.T

    def inverse_transform(self, Z) -> np.ndarray:
        """Decode codes: ``Z @ components_ + mean_``, shape (n_samples, n_features)."""
        check_is_fitted(self)
        Z = check_array(Z, dtype=np.float64)
        if Z.shape[1] != self.n_components_:
            raise ValueError(f"Z has {Z.shape[1]} columns, but this PCA has {self.n_components_} components")
        return Z @ self.components_ + self.mean_


def _gram_svd(Xc: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k singular values and right singular vectors of ``Xc`` from its smaller Gram matrix.

    For n >= d the eigenvectors of ``Xc^T Xc`` are the right singular vectors directly; for
    n < d the eigenvectors u_i of ``Xc Xc^T`` give them as ``Xc^T u_i / s_i`` (undefined where
    s_i = 0; the caller then falls back to the SVD).
    """
    n, d = Xc.shape
    m = min(n, d)
    gram = Xc.T @ Xc if n >= d else Xc @ Xc.T
    w, vecs = scipy.linalg.eigh(gram, subset_by_index=[m - k, m - 1], check_finite=False)
    w, vecs = w[::-1], vecs[:, ::-1]
    s = np.sqrt(np.clip(w, 0.0, None))
    if n >= d:
        return s, vecs.T
    with np.errstate(divide="ignore", invalid="ignore"):
        Vt = (vecs.T @ Xc) / s[:, None]
    return s, Vt
