"""How fast ``ae.pca.PCA`` fits compared with scikit-learn's exact PCA, on several shapes.

Prints, for each shape and number of components, the best-of-N wall time of
``ae.pca.PCA(k).fit(X)`` (default solver), of ``sklearn.decomposition.PCA(k, svd_solver="full")``
and of scikit-learn's other exact solver ``"covariance_eigh"``, and the ratio ours / scikit-learn's
full solver (below 1: ours is faster). Timings depend on the machine and its load, which is why
this is a script and not a test. Run it from the repository root:

    .venv/bin/python benchmarks/pca_speed.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import numpy as np
from sklearn.decomposition import PCA as SklearnPCA

import autoencoders as ae


def best_time(fit: Callable[[], object], repeats: int) -> float:
    """The shortest of ``repeats`` wall-clock times: the run least disturbed by other processes."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fit()
        times.append(time.perf_counter() - start)
    return min(times)


def cases() -> dict[str, np.ndarray]:
    """The benchmark matrices: the book's digits, and random tall, wide and square matrices."""
    rng = np.random.default_rng(0)
    return {
        "MNIST train 4000x784": ae.data.mnist_matrix("train")[0],
        "tall 20000x100": rng.normal(size=(20000, 100)),
        "wide 300x3000": rng.normal(size=(300, 3000)),
        "square 1000x1000": rng.normal(size=(1000, 1000)),
    }


def main() -> None:
    """Time every case and print one row per (shape, k) with the ratio to scikit-learn."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing; the best is kept")
    args = parser.parse_args()
    if args.repeats < 1:
        raise ValueError(f"--repeats must be at least 1, got {args.repeats}")
    print(f"{'data':22s} {'k':>5s} {'ours (s)':>9s} {'sk full':>9s} {'sk cov':>9s} {'ours/full':>10s}")
    ratios = []
    for name, X in cases().items():
        for k in (16, min(X.shape) // 2):
            ours = best_time(lambda: ae.pca.PCA(k).fit(X), args.repeats)
            full = best_time(lambda: SklearnPCA(k, svd_solver="full").fit(X), args.repeats)
            cov = best_time(lambda: SklearnPCA(k, svd_solver="covariance_eigh").fit(X), args.repeats)
            ratios.append(ours / full)
            print(f"{name:22s} {k:5d} {ours:9.3f} {full:9.3f} {cov:9.3f} {ours / full:10.2f}")
    slower = sum(r > 1 for r in ratios)
    verdict = "ours is faster on every case" if not slower else f"ours is slower on {slower} of {len(ratios)} cases"
    print(f"largest ratio ours / scikit-learn full: {max(ratios):.2f}: {verdict}")


if __name__ == "__main__":
    main()
