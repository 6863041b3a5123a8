"""Checks of the exercises of chapter ``02_autoencoders``: a gradient step written without an
optimizer, an autoencoder trained to beat PCA at a small bottleneck, the identity an autoencoder
with k >= d can learn, and counting parameters and the compression ratio."""

from __future__ import annotations

import copy
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from autoencoders.data import load_digits_8x8
from autoencoders.exercises.core import (
    NotAttempted,
    WrongAnswer,
    call,
    exercise,
    expect_array,
    expect_close,
    expect_number,
)
from autoencoders.pca import PCA

CHAPTER = "02_autoencoders"

#: The held-out error an answer to ``ae-beat-pca`` must reach, as a fraction of PCA's.
BEAT_PCA_RATIO = 0.85
#: Digits of scikit-learn's 8x8 set used to train (the rest are held out), and their side in pixels.
N_TRAIN_8X8 = 1000
SIDE_8X8 = 8
#: The bottlenecks ``ae-beat-pca`` and ``ae-tied`` try.
BEAT_PCA_KS = (2, 3)
#: ``ae-sgd-step``: the learning rate, the number of steps and the digits per step of the check.
SGD_LR, SGD_STEPS, SGD_BATCH = 0.5, 3, 32


def digits_split() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 8x8 digits as float32 rows in [0, 1]: (training rows, held-out rows)."""
    X = torch.tensor(load_digits_8x8()[0], dtype=torch.float32)
    if X.shape[1] != SIDE_8X8 ** 2:
        raise ValueError(f"expected rows of {SIDE_8X8}x{SIDE_8X8} pixels, got {X.shape[1]} values")
    return X[:N_TRAIN_8X8], X[N_TRAIN_8X8:]


def _parameters(*modules: nn.Module) -> list[torch.Tensor]:
    return [p for m in modules for p in m.parameters()]


def _sgd_reference(encoder: nn.Module, decoder: nn.Module, x: torch.Tensor, lr: float,
                   reduction: str = "mean", sign: float = -1.0) -> tuple[float, list[torch.Tensor]]:
    """The loss before one plain gradient step, and the step added to every parameter."""
    params = _parameters(encoder, decoder)
    loss = nn.functional.mse_loss(decoder(encoder(x)), x, reduction=reduction)
    grads = torch.autograd.grad(loss, params)
    with torch.no_grad():
        deltas = [sign * lr * g for g in grads]
        for p, delta in zip(params, deltas):
            p += delta
    return loss.item(), deltas


def _close(deltas: Sequence[torch.Tensor], expected: Sequence[torch.Tensor]) -> bool:
    """Whether two lists of parameter changes agree to 0.1 % of the expected change."""
    diff = sum(float((a - b).pow(2).sum()) for a, b in zip(deltas, expected)) ** 0.5
    size = sum(float(b.pow(2).sum()) for b in expected) ** 0.5
    return diff <= 1e-3 * size + 1e-12


def _sgd_networks() -> tuple[nn.Module, nn.Module]:
    """The small autoencoder of the ``ae-sgd-step`` check (seeded; the caller's random state kept)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        encoder = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 3))
        decoder = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 64), nn.Sigmoid())
    return encoder, decoder


def sgd_first_loss() -> float:
    """The loss a correct ``sgd_step`` returns in the check's first step (the statement quotes it)."""
    encoder, decoder = _sgd_networks()
    return _sgd_reference(encoder, decoder, digits_split()[0][:SGD_BATCH], SGD_LR)[0]


def beat_pca_bars() -> dict[int, tuple[float, float]]:
    """For each k of ``ae-beat-pca`` and ``ae-tied``: PCA's held-out MSE and the bar, BEAT_PCA_RATIO times it."""
    train, held_out = digits_split()
    return {k: (_pca_mse(train, held_out, k), BEAT_PCA_RATIO * _pca_mse(train, held_out, k))
            for k in BEAT_PCA_KS}


@exercise("ae-sgd-step", title="A training step without an optimizer", chapter=CHAPTER)
def _check_sgd_step(sgd_step):
    x_all, _ = digits_split()
    lr = SGD_LR
    encoder, decoder = _sgd_networks()
    ref_encoder, ref_decoder = copy.deepcopy(encoder), copy.deepcopy(decoder)
    for step in range(SGD_STEPS):
        x = x_all[SGD_BATCH * step: SGD_BATCH * (step + 1)]
        before = [p.detach().clone() for p in _parameters(encoder, decoder)]
        probe_enc, probe_dec = copy.deepcopy(ref_encoder), copy.deepcopy(ref_decoder)
        want, expected = _sgd_reference(ref_encoder, ref_decoder, x, lr)
        try:
            got = call(sgd_step, encoder, decoder, x, lr)
        except WrongAnswer as wrong:
            if "leaf Variable" in str(wrong):
                raise WrongAnswer(f"{wrong}\n  Hint: change the weights in place inside "
                                  "`with torch.no_grad():`, e.g. p -= lr * p.grad") from None
            raise
        name = f"the loss returned by step {step + 1}"
        expect_number(got, want, name=name, rtol=1e-4, hint=(
            "return the mean squared error per pixel of decoder(encoder(x)) against x, "
            "computed before the weights change"))
        deltas = [p.detach() - b for p, b in zip(_parameters(encoder, decoder), before)]
        if all(float(d.abs().max()) == 0 for d in deltas):
            raise WrongAnswer(
                f"the weights did not change in step {step + 1}. After loss.backward(), change each "
                "parameter in place: p -= lr * p.grad (rebinding p = p - ... changes nothing)")
        if _close(deltas, expected):
            continue
        if step > 0:
            raise WrongAnswer(
                f"step 1 was right, but step {step + 1} moved the weights by the gradients of the "
                "earlier steps too: loss.backward() adds to p.grad, so reset the gradients "
                "(p.grad = None or p.grad.zero_()) after each update")
        _, uphill = _sgd_reference(copy.deepcopy(probe_enc), copy.deepcopy(probe_dec), x, lr, sign=1.0)
        if _close(deltas, uphill):
            raise WrongAnswer("the weights moved uphill: the gradient points to where the loss "
                              "grows, so subtract it, p -= lr * p.grad")
        _, summed = _sgd_reference(copy.deepcopy(probe_enc), copy.deepcopy(probe_dec), x, lr, "sum")
        if _close(deltas, summed):
            raise WrongAnswer("the step is that of the summed squared error; the loss is the mean "
                              "over pixels and examples (the MSE per pixel), as in the chapter")
        raise WrongAnswer(
            f"in step {step + 1} the weights did not move by -lr * gradient of the MSE: one "
            "plain gradient step is p -= lr * p.grad for every parameter of the encoder and the "
            "decoder, after loss.backward() (and no optimizer)")


def _pca_mse(train: torch.Tensor, held_out: torch.Tensor, k: int) -> float:
    """Held-out MSE per pixel of PCA with ``k`` components fitted on ``train``: the bar to beat."""
    pca = PCA(n_components=k).fit(train.double().numpy())
    X = held_out.double().numpy()
    return float(np.mean((pca.inverse_transform(pca.transform(X)) - X) ** 2))


def _is_affine(f, x: torch.Tensor) -> bool:
    """Whether f maps the midpoint of two inputs to the midpoint of their images."""
    a, b = x[:50], x[50:100]
    mid = f((a + b) / 2)
    return bool(torch.allclose(mid, (f(a) + f(b)) / 2, rtol=1e-4, atol=1e-5))


@exercise("ae-beat-pca", title="Beat PCA with two numbers", chapter=CHAPTER)
def _check_beat_pca(fit_autoencoder):
    train, held_out = digits_split()
    for k in BEAT_PCA_KS:
        with torch.random.fork_rng():  # the same result on every run, whatever ran before
            torch.manual_seed(0)
            pair = call(fit_autoencoder, train.clone(), k)
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(map(callable, pair))):
            raise WrongAnswer(f"fit_autoencoder(X, {k}) should return a pair (encoder, decoder) of "
                              f"networks, got {type(pair).__name__}")
        encoder, decoder = pair
        for part in pair:
            if isinstance(part, nn.Module):
                part.eval()
        with torch.no_grad():
            z = expect_array(encoder(held_out), (len(held_out), k),
                             name=f"the codes encoder(X) for k={k} and X of shape {tuple(held_out.shape)}",
                             hint=f"the bottleneck holds k={k} numbers per digit: the encoder ends "
                             f"with a Linear layer to {k}")
            x_hat = decoder(torch.as_tensor(z, dtype=torch.float32))
            expect_array(x_hat, tuple(held_out.shape), name=f"decoder(encoder(X)) for k={k}")
            mse = float(((torch.as_tensor(x_hat) - held_out) ** 2).mean())
            train_mse = float(((torch.as_tensor(decoder(encoder(train))) - train) ** 2).mean())
            affine = _is_affine(lambda x: torch.as_tensor(decoder(encoder(x))), held_out)
        mean_mse = float(((held_out - train.mean(0)) ** 2).mean())
        pca_mse = _pca_mse(train, held_out, k)
        pca_train = _pca_mse(train, train, k)
        if mse <= BEAT_PCA_RATIO * pca_mse:
            continue
        said = (f"with k={k} the held-out MSE per pixel is {mse:.4f}, PCA's is {pca_mse:.4f} "
                f"(ratio {mse / pca_mse:.2f}); it must be at most {BEAT_PCA_RATIO} times PCA's.")
        if mse >= 0.95 * mean_mse:
            hint = (f"That is no better than always answering the average digit ({mean_mse:.4f}): "
                    "is the network trained (zero_grad, backward, step in a loop over epochs)?")
        elif affine:
            hint = ("Your autoencoder is affine (linear plus biases). By Eckart-Young no affine "
                    "autoencoder beats PCA on the training digits: add hidden layers with a ReLU.")
        elif train_mse > BEAT_PCA_RATIO * pca_train:
            hint = (f"Your autoencoder is not affine, but on its own training digits its MSE is "
                    f"{train_mse:.4f}, {train_mse / pca_train:.2f} times PCA's there ({pca_train:.4f}): "
                    "it has not fitted them yet. More epochs, a larger learning rate, or wider "
                    "hidden layers with a non-linearity in both the encoder and the decoder can help.")
        else:
            hint = (f"On its own training digits its MSE is {train_mse:.4f}, {train_mse / pca_train:.2f} "
                    f"times PCA's there ({pca_train:.4f}): it beats PCA by more on the digits it was "
                    "trained on than on the held-out ones. Compare a few training lengths and widths on "
                    "held-out digits of your own.")
        raise WrongAnswer(f"{said} {hint}")


@exercise("ae-identity", title="With k >= d, the identity", chapter=CHAPTER)
def _check_identity(identity_weights):
    rng = np.random.default_rng(0)
    for d, k in [(3, 3), (4, 6), (5, 9)]:
        pair = call(identity_weights, d, k)
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise WrongAnswer(f"identity_weights({d}, {k}) should return a pair (W1, W2), "
                              f"got {type(pair).__name__}")
        W1 = expect_array(pair[0], (d, k), name=f"W1 for d={d}, k={k}",
                          hint="the encoder maps R^d to R^k")
        W2 = expect_array(pair[1], (k, d), name=f"W2 for d={d}, k={k}",
                          hint="the decoder maps R^k back to R^d")
        X = rng.normal(size=(7, d))
        expect_close(X @ W1 @ W2, X, name=f"X @ W1 @ W2 for d={d}, k={k}",
                     hint="copy the d inputs into the first d code values and back "
                     "(np.eye(d, k) is a start)")
    for d, k in [(4, 2), (6, 5)]:
        try:
            result: Any = identity_weights(d, k)
        except ValueError:
            continue
        except NotImplementedError:
            raise NotAttempted() from None
        except Exception as exc:  # noqa: BLE001 - any other crash becomes a hint
            raise WrongAnswer(f"identity_weights({d}, {k}) raised {type(exc).__name__}: {exc}; "
                              "it should raise ValueError") from None
        raise WrongAnswer(
            f"identity_weights({d}, {k}) returned {type(result).__name__} instead of raising "
            "ValueError: with k < d, W1 @ W2 has rank at most k < d, so no weights reproduce every x"
        )


def n_parameters(d: int, k: int, hidden: Sequence[int]) -> int:
    """Weights and biases of ``MLPAutoencoder(d, k, hidden)``, from its layer widths."""
    widths = [d, *hidden, k]
    encoder = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
    decoder = sum(b * a + a for a, b in zip(widths[:-1], widths[1:]))
    return encoder + decoder


@exercise("ae-count", title="Parameters and compression ratio", chapter=CHAPTER)
def _check_count(sizes):
    cases = [(784, 2, (512, 128)), (784, 16, ()), (10, 3, (7, 5, 4)), (49152, 1024, (2048,))]
    for d, k, hidden in cases:
        got = call(sizes, d, k, hidden)
        if not (isinstance(got, tuple) and len(got) == 2):
            raise WrongAnswer(f"sizes({d}, {k}, {hidden}) should return a pair "
                              f"(n_parameters, ratio), got {got!r}")
        n_params, ratio = got
        expect_number(
            n_params, n_parameters(d, k, hidden), rtol=0,
            name=f"the number of parameters for d={d}, k={k}, hidden={hidden}",
            hint="each Linear(a, b) has a*b weights and b biases; the decoder mirrors the encoder",
        )
        expect_number(
            ratio, d / k, name=f"the compression ratio for d={d}, k={k}",
            hint="how many times fewer numbers the code holds than the input: d / k, as a float",
        )


# --- tied weights ------------------------------------------------------------------------------

#: The hidden widths of the tied autoencoder the check trains, and its training budget.
TIED_HIDDEN = (128,)
TIED_EPOCHS, TIED_LR, TIED_BATCH = 60, 3e-3, 50
#: Shapes (d, k, hidden) on which the check counts parameters and follows the gradients.
_TIED_SHAPES = [(64, 2, (128,)), (10, 3, (7, 5)), (12, 4, ())]


def tied_parameters(d: int, k: int, hidden: Sequence[int]) -> int:
    """Weights and biases of a tied autoencoder: each weight matrix once, a bias on both sides."""
    widths = [d, *hidden, k]
    return sum(a * b + b + a for a, b in zip(widths[:-1], widths[1:]))


def _train_tied(model: nn.Module, X: torch.Tensor) -> None:
    """The check's own training loop: Adam on the MSE per pixel, shuffled mini-batches."""
    optimizer = torch.optim.Adam(model.parameters(), lr=TIED_LR)
    order_rng = torch.Generator().manual_seed(0)
    for _ in range(TIED_EPOCHS):
        order = torch.randperm(len(X), generator=order_rng)
        for start in range(0, len(X), TIED_BATCH):
            x = X[order[start:start + TIED_BATCH]]
            loss = ((model(x).reshape(x.shape) - x) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def _used_by(model: nn.Module, output: torch.Tensor) -> set[int]:
    """The ids of the parameters of model that output depends on (a non-zero gradient)."""
    model.zero_grad(set_to_none=True)
    output.sum().backward()
    used = {id(p) for p in model.parameters() if p.grad is not None and bool(p.grad.abs().max() > 0)}
    model.zero_grad(set_to_none=True)
    return used


@exercise("ae-tied", title="Tied weights: one matrix for both directions", chapter=CHAPTER)
def _check_tied(TiedAutoencoder):
    gen = torch.Generator().manual_seed(0)
    for d, k, hidden in _TIED_SHAPES:
        name = f"TiedAutoencoder({d}, {k}, {hidden})"
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model = call(TiedAutoencoder, d, k, hidden)
        if not isinstance(model, nn.Module):
            raise WrongAnswer(f"{name} should build an nn.Module, got {type(model).__name__}")
        got = sum(p.numel() for p in model.parameters())
        want = tied_parameters(d, k, hidden)
        untied = n_parameters(d, k, hidden)
        if got != want:
            if got == untied:
                why = ("that is the count of an untied autoencoder: the decoder has weight matrices "
                       "of its own. Use the encoder's matrices, transposed, in the decoder")
            elif got == want - sum([d, *hidden]):
                why = ("the decoder's layers have no biases of their own. Give each decoder layer "
                       "a new bias with as many entries as that layer has outputs")
            else:
                why = ("each Linear(a, b) of the encoder has a*b weights and b biases; the decoder "
                       "reuses the a*b weights and adds a biases of its own")
            raise WrongAnswer(f"{name} has {got:,} parameters, expected {want:,} ({untied:,} "
                              f"untied): {why}.")
        x = torch.rand(5, d, generator=gen)
        z = expect_array(call(model.encode, x), (5, k), name=f"{name}.encode(x) for x of shape (5, {d})",
                         hint=f"the encoder ends with a layer of {k} outputs, the code")
        x_hat = expect_array(call(model.decode, torch.randn(5, k, generator=gen)), (5, d),
                             name=f"{name}.decode(z) for z of shape (5, {k})",
                             hint="the decoder takes the encoder's layers in reverse order")
        if not (np.all(x_hat >= 0) and np.all(x_hat <= 1)):
            raise WrongAnswer(f"{name}.decode(z) has values outside [0, 1]; the decoder ends with a "
                              "sigmoid, like the chapter's, so that its outputs are pixel values.")
        encoder_uses = _used_by(model, model.encode(x))
        decoder_uses = _used_by(model, model.decode(torch.randn(5, k, generator=gen)))
        shared = sum(p.numel() for p in model.parameters() if id(p) in encoder_uses & decoder_uses)
        matrices = sum(a * b for a, b in zip([d, *hidden], [*hidden, k]))
        if shared < matrices:
            raise WrongAnswer(
                f"in {name} the decoder's output does not depend on all of the encoder's weight "
                f"matrices ({shared:,} of {matrices:,} weights are used by both): training the "
                "decoder would not change them. Use the encoder's weight itself, transposed "
                "(layer.weight.T), in decode: not a copy, and not .detach()."
            )
    train, held_out = digits_split()
    for k in BEAT_PCA_KS:
        name = f"TiedAutoencoder(64, {k}, {TIED_HIDDEN})"
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model = call(TiedAutoencoder, 64, k, TIED_HIDDEN)
            try:
                _train_tied(model, train.clone())
            except Exception as exc:  # noqa: BLE001 - a crash in the student's forward pass
                raise WrongAnswer(f"training {name} failed with {type(exc).__name__}: {exc}; "
                                  "model(x) should return decode(encode(x))") from None
        model.eval()
        with torch.no_grad():
            x_hat = expect_array(model(held_out), tuple(held_out.shape), name=f"{name}(x)",
                                 hint="forward returns decode(encode(x)), one row per input row")
            affine = _is_affine(model.encode, held_out)
        mse = float(np.mean((x_hat - held_out.double().numpy()) ** 2))
        pca_mse = _pca_mse(train, held_out, k)
        if mse <= BEAT_PCA_RATIO * pca_mse:
            continue
        said = (f"{name}, trained by the check ({TIED_EPOCHS} epochs of Adam), has a held-out MSE "
                f"per pixel of {mse:.4f}, PCA's is {pca_mse:.4f} (ratio {mse / pca_mse:.2f}); "
                f"it must be at most {BEAT_PCA_RATIO} times PCA's.")
        if affine:
            hint = ("Your encoder is affine: put a ReLU after every hidden layer of the encoder and "
                    "of the decoder (not after the code layer), and a sigmoid at the end.")
        else:
            hint = ("Check the order of the decoder's layers (the encoder's in reverse, each with "
                    "its weight transposed and a bias of its own), a ReLU after each hidden layer "
                    "and a sigmoid at the end, and initialise the weights as nn.Linear does.")
        raise WrongAnswer(f"{said} {hint}")
