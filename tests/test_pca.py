"""ae.pca.PCA against scikit-learn on tall, wide and rank-deficient matrices, scikit-learn's own
estimator checks, and its input errors."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA as SklearnPCA
from sklearn.utils.estimator_checks import check_estimator

import autoencoders as ae

PCA = ae.pca.PCA

RTOL = 1e-8


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _matrices() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "tall": rng.normal(size=(300, 40)) * np.linspace(3, 0.1, 40) + 5.0,
        "wide": rng.normal(size=(40, 300)),
        "square": rng.normal(size=(60, 60)),
        "rank-deficient": rng.normal(size=(100, 8)) @ rng.normal(size=(8, 60)),
        "mnist": ae.data.mnist_matrix("test")[0][:500],
    }


CASES = [(name, k, solver) for name in _matrices() for k in (1, 5, None) for solver in ("auto", "full")
         if not (name == "rank-deficient" and k is None)]


@pytest.mark.parametrize("name,k,solver", CASES)
def test_matches_sklearn(name, k, solver):
    X = _matrices()[name]
    ours, theirs = PCA(k, svd_solver=solver).fit(X), SklearnPCA(k, svd_solver="full").fit(X)
    assert ours.n_components_ == theirs.n_components_
    np.testing.assert_allclose(ours.mean_, theirs.mean_, rtol=1e-12, atol=1e-12)
    assert _rel(ours.singular_values_, theirs.singular_values_) < RTOL
    assert _rel(ours.explained_variance_, theirs.explained_variance_) < RTOL
    assert _rel(ours.explained_variance_ratio_, theirs.explained_variance_ratio_) < RTOL
    # components up to sign (both use the rule "largest entry positive"; we still allow a flip)
    signs = np.sign(np.sum(ours.components_ * theirs.components_, axis=1))
    assert _rel(ours.components_ * signs[:, None], theirs.components_) < RTOL
    Z = ours.transform(X)
    assert _rel(Z * signs, theirs.transform(X)) < RTOL
    assert _rel(ours.inverse_transform(Z), theirs.inverse_transform(theirs.transform(X))) < RTOL


def test_rank_deficient_beyond_rank_falls_back_to_svd():
    """Keeping every component of a rank-8 matrix: the Gram route cannot resolve the zero
    singular values, so "auto" must use the SVD and still give orthonormal components."""
    X = _matrices()["rank-deficient"]
    pca = PCA().fit(X)
    assert np.allclose(pca.components_ @ pca.components_.T, np.eye(pca.n_components_), atol=1e-10)
    np.testing.assert_allclose(pca.inverse_transform(pca.transform(X)), X, atol=1e-9)


def test_fit_transform_equals_fit_then_transform():
    X = _matrices()["tall"]
    np.testing.assert_allclose(PCA(5).fit_transform(X), PCA(5).fit(X).transform(X), atol=1e-12)


def test_randomized_is_close_and_reproducible():
    X = _matrices()["mnist"]
    exact = PCA(10).fit(X)
    first, second = PCA(10, svd_solver="randomized").fit(X), PCA(10, svd_solver="randomized").fit(X)
    np.testing.assert_array_equal(first.components_, second.components_)
    assert _rel(first.singular_values_, exact.singular_values_) < 1e-3


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_passes_sklearn_check_estimator():
    """The class claims scikit-learn's estimator API; scikit-learn's own checks are the test.

    Only a check that needs an optional array-API setup (``SCIPY_ARRAY_API``) may be skipped.
    """
    results = check_estimator(PCA(), on_fail=None)
    failed = [f"{r['check_name']}: {r['exception']}" for r in results if r["status"] == "failed"]
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert not failed, "scikit-learn's estimator checks failed:\n" + "\n".join(failed)
    assert skipped <= {"check_array_api_input"}, f"unexpected skipped checks: {sorted(skipped)}"
    assert len(results) >= 40, f"only {len(results)} checks ran"


def test_sklearn_estimator_protocol():
    pca = clone(PCA(3, svd_solver="full"))
    assert pca.get_params()["n_components"] == 3
    assert pca.fit(_matrices()["square"]).n_features_in_ == 60


@pytest.mark.parametrize(
    "X,kwargs,message",
    [
        (np.ones((10, 4)) * np.arange(4), {"n_components": 2}, "no variance"),
        (np.random.default_rng(0).normal(size=(10, 4)), {"n_components": 5}, r"out of range.*min\(10, 4\) = 4"),
        (np.random.default_rng(0).normal(size=(10, 4)), {"n_components": 0}, "out of range"),
        (np.random.default_rng(0).normal(size=(10, 4)), {"n_components": 2.5}, "must be an int"),
        (np.random.default_rng(0).normal(size=(10, 4)), {"svd_solver": "magic"}, "svd_solver must be"),
        (np.array([[1.0, np.nan], [2.0, 3.0], [0.0, 1.0]]), {}, "NaN"),
        (np.array([[1.0, np.inf], [2.0, 3.0], [0.0, 1.0]]), {}, "infinity"),
        (np.arange(5.0), {}, "2D array"),
        (np.ones((1, 4)), {}, "at least 2 samples.*n_samples = 1"),
    ],
)
def test_bad_input_is_refused(X, kwargs, message):
    with pytest.raises(ValueError, match=message):
        PCA(**kwargs).fit(X)


def test_transform_checks_features_and_fit():
    X = _matrices()["square"]
    with pytest.raises(ValueError, match="not fitted"):
        PCA(2).transform(X)
    pca = PCA(2).fit(X)
    with pytest.raises(ValueError, match="features"):
        pca.transform(X[:, :10])
    with pytest.raises(ValueError, match="2 components"):
        pca.inverse_transform(np.zeros((3, 5)))
