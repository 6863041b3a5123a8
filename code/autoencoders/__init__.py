"""Shared code of the course notes "Auto-encoders, Principal Component Analysis".

Every chapter starts with ``import autoencoders as ae`` and calls ``ae.<module>.<name>``. Plumbing
that several chapters share lives here, one module per concern; the ideas a chapter teaches stay
visible in its notebook.

- ``runtime``: seeds, the compute device, tensor-to-NumPy conversion
- ``data``: MNIST, the 8x8 digits and the photographs, from ``data/`` with checksums
- ``models``: every network of the book (MLP and convolutional autoencoders, the VAE, the CNN)
- ``training``: the training loop, batched inference, saving and loading weights
- ``metrics``, ``plotting``, ``results``: image quality, figures, the tables a reader sees
- ``corruption``, ``pca``, ``restoration``, ``transfer``, ``generation``, ``compression``: the
  tools of one chapter each
- ``exercises``: the checks of every exercise, ``ae.exercises.check("<id>", answer)``
"""

from autoencoders import runtime
from autoencoders import data, models, training
from autoencoders import metrics, plotting, results
from autoencoders import compression, corruption, generation, pca, restoration, transfer
from autoencoders import exercises
from autoencoders.runtime import device, seed_everything  # the two calls of every setup cell

__all__ = [
    "device",
    "seed_everything",
    "compression",
    "corruption",
    "data",
    "exercises",
    "generation",
    "metrics",
    "models",
    "pca",
    "plotting",
    "restoration",
    "results",
    "runtime",
    "training",
    "transfer",
]
