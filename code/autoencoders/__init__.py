"""Shared code of the course notes "Auto-encoders, Principal Component Analysis".

Every chapter starts with ``import autoencoders as ae``. Plumbing that several chapters share
(data, models, training, metrics, plots, exercise checks) lives here, one module per concern;
the ideas a chapter teaches stay visible in its notebook. Submodules load on first use
(``ae.pca``, ``ae.compression``...), so importing the package stays quick.
"""

import importlib
import pkgutil

from autoencoders.runtime import device, seed_everything

__all__ = ["device", "seed_everything"] + [m.name for m in pkgutil.iter_modules(__path__)]


def __getattr__(name: str):
    """Import the submodule ``name`` the first time ``ae.<name>`` is used."""
    if name in __all__:
        return importlib.import_module(f"autoencoders.{name}")
    raise AttributeError(f"module 'autoencoders' has no attribute {name!r}")
