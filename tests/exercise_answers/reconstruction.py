"""Plausible wrong answers to the exercises of chapter 02_autoencoders."""

import numpy as np
from torch import nn


def relu_on_the_code(d, k, h):
    return (nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, k), nn.ReLU()),
            nn.Sequential(nn.Linear(k, h), nn.ReLU(), nn.Linear(h, d), nn.Sigmoid()))


def no_sigmoid(d, k, h):
    return (nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, k)),
            nn.Sequential(nn.Linear(k, h), nn.ReLU(), nn.Linear(h, d)))


def decoder_not_mirrored(d, k, h):
    return (nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, k)),
            nn.Sequential(nn.Linear(h, k), nn.ReLU(), nn.Linear(d, h), nn.Sigmoid()))


def one_module(d, k, h):
    return nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, k), nn.Linear(k, h), nn.ReLU(), nn.Linear(h, d), nn.Sigmoid())


def _weights(widths):
    return sum(a * b for a, b in zip(widths[:-1], widths[1:]))


def _with_biases(widths):
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))


WRONG_ANSWERS = {
    "ae-encoder-decoder": [
        ("a ReLU after the code layer", relu_on_the_code),
        ("no sigmoid at the end of the decoder", no_sigmoid),
        ("the decoder's Linear layers with in and out swapped", decoder_not_mirrored),
        ("one Sequential instead of a pair", one_module),
    ],
    "ae-count": [
        ("forgot the biases", lambda d, k, hidden: (2 * _weights([d, *hidden, k]), d / k)),
        ("counted the encoder only", lambda d, k, hidden: (_with_biases([d, *hidden, k]), d / k)),
        ("the ratio upside down (k / d)", lambda d, k, hidden: (
            _with_biases([d, *hidden, k]) + _with_biases([k, *reversed(hidden), d]), k / d)),
        ("integer division for the ratio", lambda d, k, hidden: (
            _with_biases([d, *hidden, k]) + _with_biases([k, *reversed(hidden), d]), d // k)),
    ],
    "ae-identity": [
        ("square identities that ignore k", lambda d, k: (np.eye(d), np.eye(d))),
        ("the same matrix twice, not transposed", lambda d, k: (np.eye(d, k), np.eye(d, k))),
        ("no ValueError for k < d", lambda d, k: (np.eye(d, k), np.eye(k, d))),
        ("random weights", lambda d, k: (np.random.default_rng(0).normal(size=(d, k)),
                                          np.random.default_rng(1).normal(size=(k, d)))),
    ],
}
