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
        ("forgot optimizer.zero_grad(): the gradients pile up", _loop(zero_grad=False)),
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
        ("a single power iteration", _rsvd(iterations=1)),
        ("no oversampling and no power iterations", _rsvd(oversample=0, iterations=0)),
        ("power iterations without orthonormalising in between",
         _rsvd(iterations=4, orthonormalise=False)),
        ("returned all k + p triplets", _rsvd(keep_extra=True)),
        ("the first k columns of Q, without the small SVD", _rsvd(small_svd=False)),
        ("the exact SVD of X", _rsvd(direct=True)),
    ],
}


# --- correct answers written differently from the reference solutions --------------------------


def _lbfgs_loop(model, X):
    """Full-batch L-BFGS with a closure, on the mean squared error."""
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=20, history_size=20,
                            line_search_fn="strong_wolfe")
    losses = []

    def closure():
        opt.zero_grad()
        loss = ((X - model(X)) ** 2).mean()
        loss.backward()
        return loss

    for _ in range(25):
        losses.append(float(opt.step(closure).detach()))
    return losses


def _hand_gradient_loop(model, X):
    """Gradient descent with momentum and hand-written gradients: no autograd, no optimiser."""
    scale = float((X**2).sum())
    W1, W2 = model.W1.data, model.W2.data      # updated in place
    m1, m2 = torch.zeros_like(W1), torch.zeros_like(W2)
    losses = []
    for _ in range(3000):
        Z = X @ W1
        residual = X - Z @ W2
        losses.append(float((residual**2).sum()) / scale)
        g2 = -2 * Z.T @ residual / scale
        g1 = -2 * X.T @ (residual @ W2.T) / scale
        m1.mul_(0.9).add_(g1)
        m2.mul_(0.9).add_(g2)
        W1 -= 0.1 * m1
        W2 -= 0.1 * m2
    return losses


def _adam_summed_loop(model, X):
    """Adam on the summed squared error (Adam's steps do not depend on the loss's scale)."""
    return _loop(steps=1500, lr=2e-2, loss_fn=_summed_loss)(model, X)


def _power_explicit_covariance(X):
    """np.cov forms the covariance; iterate until the direction stops changing; sign flipped."""
    C = np.cov(X, rowvar=False)
    v = np.full(C.shape[0], 1.0) / np.sqrt(C.shape[0])
    for _ in range(10_000):
        w = C @ v
        w /= np.linalg.norm(w)
        if np.linalg.norm(w - v) < 1e-13:
            v = w
            break
        v = w
    return -v


def _power_torch(X):
    """Power iteration in torch (float64), a few hundred steps, as a Python list."""
    Xc = torch.tensor(X - X.mean(axis=0))
    v = torch.ones(Xc.shape[1], dtype=torch.float64)
    for _ in range(300):
        v = Xc.T @ (Xc @ v)
        v = v / torch.linalg.vector_norm(v)
    return v.tolist()


def _whiten_eigh(X, k):
    """Eigenvectors of the covariance (eigh) instead of an SVD."""
    Xc = X - X.mean(axis=0)
    lam, V = np.linalg.eigh(Xc.T @ Xc / (len(X) - 1))
    lam, V = lam[::-1][:k], V[:, ::-1][:, :k]
    return Xc @ V / np.sqrt(lam)


def _whiten_sklearn(X, k):
    """scikit-learn's PCA(whiten=True)."""
    from sklearn.decomposition import PCA
    return PCA(n_components=k, whiten=True, svd_solver="full").fit_transform(X)


def _whiten_left_vectors_biased(X, k):
    """The left singular vectors scaled by sqrt(n): the divide-by-n convention, signs flipped."""
    U, s, Vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    return -U[:, :k] * np.sqrt(len(X))


def _stream_chan(batches, k):
    """Chan et al.'s pairwise update of the mean and the scatter matrix, batch by batch."""
    n, mean, scatter = 0, None, None
    for b in batches:
        m, b_mean = len(b), b.mean(axis=0)
        b_scatter = (b - b_mean).T @ (b - b_mean)
        if n == 0:
            n, mean, scatter = m, b_mean, b_scatter
            continue
        delta = b_mean - mean
        scatter = scatter + b_scatter + np.outer(delta, delta) * n * m / (n + m)
        mean = mean + delta * m / (n + m)
        n += m
    _, _, Vt = np.linalg.svd(scatter)               # SVD of the symmetric scatter matrix
    return Vt[:k]


def _stream_torch_flipped(batches, k):
    """Sums in torch, eigh in torch, one row loop, every component's sign flipped."""
    n, total, outer = 0, None, None
    for b in batches:
        t = torch.as_tensor(b)
        n += t.shape[0]
        total = t.sum(0) if total is None else total + t.sum(0)
        outer = t.T @ t if outer is None else outer + t.T @ t
    mean = total / n
    w, V = torch.linalg.eigh(outer / n - torch.outer(mean, mean))   # divide by n: same vectors
    order = torch.argsort(w, descending=True)[:k]
    return -np.stack([V[:, i].numpy() for i in order.tolist()])


def _rsvd_eigh_small(X, k):
    """Two power iterations, and the small problem solved by eigh of B B^T instead of an SVD."""
    rng = np.random.default_rng(1)
    Q = np.linalg.qr(X @ rng.normal(size=(X.shape[1], k + 10)))[0]
    for _ in range(2):
        Q = np.linalg.qr(X @ np.linalg.qr(X.T @ Q)[0])[0]
    B = Q.T @ X
    lam, W = np.linalg.eigh(B @ B.T)
    lam, W = lam[::-1][:k], W[:, ::-1][:, :k]
    s = np.sqrt(lam)
    return Q @ W, s, (W.T @ B) / s[:, None]


def _rsvd_torch(X, k):
    """In torch (float64), with a sketch of k + 15 columns and three power iterations."""
    A = torch.tensor(X)
    g = torch.Generator().manual_seed(3)
    Q = torch.linalg.qr(A @ torch.randn(A.shape[1], k + 15, generator=g, dtype=A.dtype))[0]
    for _ in range(3):
        Q = torch.linalg.qr(A.T @ Q)[0]
        Q = torch.linalg.qr(A @ Q)[0]
    U_B, s, Vt = torch.linalg.svd(Q.T @ A, full_matrices=False)
    return (Q @ U_B)[:, :k].numpy(), s[:k].numpy(), Vt[:k].numpy()


CORRECT_ANSWERS = {
    "pca-train-loop": [
        ("L-BFGS with a closure, on the mean squared error", _lbfgs_loop),
        ("hand-written gradients and momentum, no autograd", _hand_gradient_loop),
        ("Adam on the summed (not relative) squared error", _adam_summed_loop),
    ],
    "pca-power-iteration": [
        ("np.cov and a convergence test, the opposite sign", _power_explicit_covariance),
        ("torch, 300 steps, returned as a list", _power_torch),
    ],
    "pca-whiten": [
        ("eigh of the covariance instead of an SVD", _whiten_eigh),
        ("scikit-learn's PCA(whiten=True)", _whiten_sklearn),
        ("left singular vectors, divide-by-n convention, signs flipped", _whiten_left_vectors_biased),
    ],
    "pca-streaming": [
        ("Chan et al.'s pairwise merge of means and scatter matrices, SVD", _stream_chan),
        ("torch, covariance divided by n, signs flipped", _stream_torch_flipped),
    ],
    "pca-randomized-svd": [
        ("two power iterations, the small problem by eigh of B B^T", _rsvd_eigh_small),
        ("torch, 15 oversampling columns, three power iterations", _rsvd_torch),
    ],
}
