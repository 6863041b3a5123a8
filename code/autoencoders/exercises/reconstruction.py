"""Checks of the exercises of chapter ``02_autoencoders``: an encoder and a decoder of a given
shape, counting parameters and the compression ratio, and the identity an autoencoder with
k >= d can learn."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from autoencoders.exercises.core import NotAttempted, WrongAnswer, call, exercise, expect_array, expect_close, expect_number

CHAPTER = "02_autoencoders"


def _layers(module: nn.Module) -> list[str]:
    """A readable description of a Sequential's layers, e.g. ``['Linear(784, 32)', 'ReLU']``."""
    return [f"Linear({m.in_features}, {m.out_features})" if isinstance(m, nn.Linear) else type(m).__name__ for m in module]


@exercise("ae-encoder-decoder", title="An encoder and a decoder", chapter=CHAPTER)
def _check_encoder_decoder(make_autoencoder):
    gen = torch.Generator().manual_seed(0)
    for d, k, h in [(784, 2, 32), (64, 8, 16), (10, 3, 5)]:
        pair = call(make_autoencoder, d, k, h)
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise WrongAnswer(f"make_autoencoder({d}, {k}, {h}) should return a pair (encoder, decoder), got {type(pair).__name__}")
        for name, part in zip(("encoder", "decoder"), pair):
            if not isinstance(part, nn.Sequential):
                raise WrongAnswer(f"the {name} should be an nn.Sequential, got {type(part).__name__}")
        expected = {
            "encoder": [f"Linear({d}, {h})", "ReLU", f"Linear({h}, {k})"],
            "decoder": [f"Linear({k}, {h})", "ReLU", f"Linear({h}, {d})", "Sigmoid"],
        }
        hints = {
            "encoder": "the code layer has no activation, so codes can take any real value",
            "decoder": "the decoder mirrors the encoder and ends with a sigmoid, so pixels lie in [0, 1]",
        }
        for name, part in zip(("encoder", "decoder"), pair):
            got = _layers(part)
            if got != expected[name]:
                raise WrongAnswer(
                    f"for d={d}, k={k}, h={h} the {name}'s layers are {got}, expected {expected[name]}: {hints[name]}"
                )
        encoder, decoder = pair
        x = torch.rand(4, d, generator=gen)
        z = call(encoder, x)
        expect_array(z, (4, k), name=f"encoder(x) for x of shape (4, {d})")
        expect_array(call(decoder, z), (4, d), name=f"decoder(encoder(x)) for x of shape (4, {d})")


def n_parameters(d: int, k: int, hidden: Sequence[int]) -> int:
    """Weights and biases of ``MLPAutoencoder(d, k, hidden)``, from its layer widths."""
    widths = [d, *hidden, k]
    encoder = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
    decoder = sum(b * a + a for a, b in zip(widths[:-1], widths[1:]))
    return encoder + decoder


@exercise("ae-count", title="Parameters and compression ratio", chapter=CHAPTER)
def _check_count(sizes):
    for d, k, hidden in [(784, 2, (512, 128)), (784, 16, ()), (10, 3, (7, 5, 4)), (49152, 1024, (2048,))]:
        got = call(sizes, d, k, hidden)
        if not (isinstance(got, tuple) and len(got) == 2):
            raise WrongAnswer(f"sizes({d}, {k}, {hidden}) should return a pair (n_parameters, ratio), got {got!r}")
        n_params, ratio = got
        expect_number(
            n_params, n_parameters(d, k, hidden), name=f"the number of parameters for d={d}, k={k}, hidden={hidden}",
            hint="each Linear(a, b) has a*b weights and b biases; the decoder mirrors the encoder", rtol=0,
        )
        expect_number(
            ratio, d / k, name=f"the compression ratio for d={d}, k={k}",
            hint="how many times fewer numbers the code holds than the input: d / k, as a float",
        )


@exercise("ae-identity", title="With k >= d, the identity", chapter=CHAPTER)
def _check_identity(identity_weights):
    rng = np.random.default_rng(0)
    for d, k in [(3, 3), (4, 6), (5, 9)]:
        pair = call(identity_weights, d, k)
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise WrongAnswer(f"identity_weights({d}, {k}) should return a pair (W1, W2), got {type(pair).__name__}")
        W1 = expect_array(pair[0], (d, k), name=f"W1 for d={d}, k={k}", hint="the encoder maps R^d to R^k")
        W2 = expect_array(pair[1], (k, d), name=f"W2 for d={d}, k={k}", hint="the decoder maps R^k back to R^d")
        X = rng.normal(size=(7, d))
        expect_close(X @ W1 @ W2, X, name=f"X @ W1 @ W2 for d={d}, k={k}",
                     hint="copy the d inputs into the first d code values and back (np.eye(d, k) is a start)")
    for d, k in [(4, 2), (6, 5)]:
        try:
            result: Any = identity_weights(d, k)
        except ValueError:
            continue
        except NotImplementedError:
            raise NotAttempted() from None
        except Exception as exc:  # noqa: BLE001 - any other crash becomes a hint
            raise WrongAnswer(f"identity_weights({d}, {k}) raised {type(exc).__name__}: {exc}; it should raise ValueError") from None
        raise WrongAnswer(
            f"identity_weights({d}, {k}) returned {type(result).__name__} instead of raising ValueError: with k < d, "
            "W1 @ W2 has rank at most k < d, so no weights reproduce every x"
        )
