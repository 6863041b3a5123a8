"""Plausible wrong answers to the exercises of chapter 06_pca."""

import numpy as np
import torch


def _relative_loss(model, X):
    return ((X - model(X)) ** 2).sum() / (X**2).sum()


def _loop(steps=1000, lr=3e-2, optimiser=torch.optim.Adam, params=None, loss_fn=_relative_loss,
          zero_grad=True, step=True):
    def train(model, X):
        opt = optimiser(params(model) if params else model.parameters(), lr=lr)
        losses = []
        for _ in range(steps):
            if zero_grad:
                opt.zero_grad()
            loss = loss_fn(model, X)
            loss.backward()
            if step:
                opt.step()
            losses.append(loss.item())
        return losses
    return train


def _summed_loss(model, X):
    return ((X - model(X)) ** 2).sum()


def _power(centre=True, normalise=True, iters=500, gram=False, return_image=False):
    def first(X):
        Xc = X - X.mean(axis=0) if centre else X
        C = Xc @ Xc.T if gram else Xc.T @ Xc
        v = np.ones(C.shape[0])
        for _ in range(iters):
            v = C @ v
            if normalise:
                v = v / np.linalg.norm(v)
        return Xc @ v if return_image else v
    return first


def _centred_svd(X):
    return np.linalg.svd(X - X.mean(axis=0), full_matrices=False)


def _whiten_unscaled(X, k):
    U, s, Vt = _centred_svd(X)
    return (X - X.mean(axis=0)) @ Vt[:k].T


def _whiten_by_sigma(X, k):
    U, s, Vt = _centred_svd(X)
    return (X - X.mean(axis=0)) @ Vt[:k].T / s[:k]


def _whiten_uncentred(X, k):
    U, s, Vt = _centred_svd(X)
    return X @ Vt[:k].T / (s[:k] / np.sqrt(len(X) - 1))


def _whiten_bottom(X, k):
    U, s, Vt = _centred_svd(X)
    return (X - X.mean(axis=0)) @ Vt[-k:].T / (s[-k:] / np.sqrt(len(X) - 1))


def _stream(centre="overall", order="decreasing", last_only=False, columns=False):
    def streaming_components(batches, k):
        batches = list(batches)
        if last_only:
            batches = batches[-1:]
        d = batches[0].shape[1]
        n, total, outer = 0, np.zeros(d), np.zeros((d, d))
        for b in batches:
            if centre == "batch":
                b = b - b.mean(axis=0)
            n, total, outer = n + len(b), total + b.sum(axis=0), outer + b.T @ b
        mu = total / n if centre == "overall" else np.zeros(d)
        C = (outer - n * np.outer(mu, mu)) / (n - 1)
        w, V = np.linalg.eigh(C)
        V = V[:, ::-1] if order == "decreasing" else V
        return V[:, :k] if columns else V[:, :k].T
    return streaming_components


def _rsvd(oversample=10, iterations=4, orthonormalise=True, keep_extra=False, small_svd=True,
          direct=False):
    def randomized_svd(X, k):
        if direct:
            U, s, Vt = np.linalg.svd(X, full_matrices=False)
            return U[:, :k], s[:k], Vt[:k]
        rng = np.random.default_rng(0)
        Q = X @ rng.normal(size=(X.shape[1], k + oversample))
        for _ in range(iterations):
            Q = X @ (X.T @ (np.linalg.qr(Q)[0] if orthonormalise else Q))
        Q = np.linalg.qr(Q)[0]
        B = Q.T @ X
        if not small_svd:  # the first k basis vectors as the components
            s = np.linalg.norm(B[:k], axis=1)
            return Q[:, :k], s, B[:k] / s[:, None]
        U_B, s, Vt = np.linalg.svd(B, full_matrices=False)
        m = k + oversample if keep_extra else k
        return (Q @ U_B)[:, :m], s[:m], Vt[:m]
    return randomized_svd


WRONG_ANSWERS = {
    "pca-train-loop": [
        ("plain SGD on the summed squared error with lr = 0.1 (diverges)",
         _loop(optimiser=torch.optim.SGD, lr=0.1, loss_fn=_summed_loss)),
        ("forgot optimizer.step()", _loop(step=False)),
        ("only the decoder W2 is optimised", _loop(params=lambda m: [m.W2])),
        ("too few steps (20)", _loop(steps=20)),
        ("learning rate far too small (1e-5)", _loop(lr=1e-5)),
        ("returned the model instead of the losses", lambda model, X: model),
    ],
    "pca-power-iteration": [
        ("forgot to centre", _power(centre=False)),
        ("forgot to normalise the result", _power(normalise=False, iters=5)),
        ("too few iterations (5)", _power(iters=5)),
        ("iterated with X X^T (a vector of length n)", _power(gram=True)),
        ("returned X v, the projected data", _power(return_image=True)),
    ],
    "pca-whiten": [
        ("plain PCA codes, not scaled", _whiten_unscaled),
        ("divided by sigma_i instead of the standard deviation", _whiten_by_sigma),
        ("projected the uncentred data", _whiten_uncentred),
        ("the bottom k components", _whiten_bottom),
    ],
    "pca-streaming": [
        ("centred each batch with its own mean", _stream(centre="batch")),
        ("forgot to centre", _stream(centre="none")),
        ("eigenvectors in eigh's increasing order", _stream(order="increasing")),
        ("used only the last batch", _stream(last_only=True)),
        ("returned the components as columns", _stream(columns=True)),
    ],
    "pca-randomized-svd": [
        ("no power iterations: the plain range finder", _rsvd(iterations=0)),
        ("no oversampling and no power iterations", _rsvd(oversample=0, iterations=0)),
        ("power iterations without orthonormalising in between",
         _rsvd(iterations=4, orthonormalise=False)),
        ("returned all k + p triplets", _rsvd(keep_extra=True)),
        ("the first k columns of Q, without the small SVD", _rsvd(small_svd=False)),
        ("the exact SVD of X", _rsvd(direct=True)),
    ],
}
