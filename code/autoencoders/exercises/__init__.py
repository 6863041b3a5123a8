"""Exercise checks: ``ae.exercises.check("<exercise-id>", answer)`` and ``ae.exercises.catalog()``.

Each chapter's checks live in a module of this package named after the chapter (``pca.py`` for
``chapters/06_pca.ipynb``); every module here is imported on first use, so a new chapter only adds
its own module.
"""

from autoencoders.exercises.core import (
    Exercise,
    NotAttempted,
    WrongAnswer,
    call,
    catalog,
    check,
    exercise,
    expect_array,
    expect_close,
    expect_number,
    get,
    isolated_registry,
)

__all__ = [
    "Exercise",
    "NotAttempted",
    "WrongAnswer",
    "call",
    "catalog",
    "check",
    "exercise",
    "expect_array",
    "expect_close",
    "expect_number",
    "get",
    "isolated_registry",
]
