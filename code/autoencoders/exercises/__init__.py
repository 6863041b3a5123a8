"""Exercise checks: ``ae.exercises.check("<exercise-id>", answer)`` and ``ae.exercises.catalog()``.

Each chapter's checks live in a module of this package named after the chapter's package module
(``pca.py`` for ``chapters/06_pca.ipynb``, ``reconstruction.py`` for chapter 02); importing it
registers its exercises. A new chapter adds its module and one import below.
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
from autoencoders.exercises import (  # noqa: E402 - the checks register themselves on import
    compression,
    generation,
    pca,
    reconstruction,
    restoration,
    transfer,
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
