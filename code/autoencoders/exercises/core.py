"""The machinery behind every exercise check.

A chapter registers one checker per exercise with :func:`exercise`. A checker receives the
student's answer (usually a function), tries it on several inputs with :func:`call`, and compares
with :func:`expect_array`, :func:`expect_close` or :func:`expect_number`, which raise
:class:`WrongAnswer` with a message that says what was expected. :func:`check` turns the outcome
into what a student sees: one line on success, a helpful error on a wrong answer, and a notice
(not an error) for an exercise whose stub still raises ``NotImplementedError``.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


class WrongAnswer(AssertionError):
    """The answer is wrong; the message says what was expected and gives a hint."""


class NotAttempted(Exception):
    """The answer is still the stub of the student release."""


@dataclass(frozen=True)
class Exercise:
    """One registered exercise: its id (the sphinx-exercise label), title, chapter and checker."""

    id: str
    title: str
    chapter: str
    checker: Callable[[Any], None]


_REGISTRY: dict[str, Exercise] = {}
_LOADED = False


def exercise(exercise_id: str, *, title: str, chapter: str) -> Callable[[Callable], Callable]:
    """Register ``checker`` as the check of ``exercise_id`` (a decorator)."""

    def register(checker: Callable[[Any], None]) -> Callable[[Any], None]:
        if exercise_id in _REGISTRY:
            raise ValueError(f"exercise id {exercise_id!r} is registered twice")
        _REGISTRY[exercise_id] = Exercise(exercise_id, title, chapter, checker)
        return checker

    return register


def _load_all() -> None:
    """Import every chapter module of this package so that its exercises are registered."""
    global _LOADED
    if _LOADED:
        return
    package = importlib.import_module("autoencoders.exercises")
    for module in pkgutil.iter_modules(package.__path__):
        if module.name != "core":
            importlib.import_module(f"autoencoders.exercises.{module.name}")
    _LOADED = True


def catalog() -> list[Exercise]:
    """Every exercise of the book, ordered by chapter then id."""
    _load_all()
    return sorted(_REGISTRY.values(), key=lambda e: (e.chapter, e.id))


def get(exercise_id: str) -> Exercise:
    """The exercise registered under ``exercise_id``; a clear error lists the known ids."""
    _load_all()
    if exercise_id not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"no exercise with id {exercise_id!r}. Known exercise ids: {known}")
    return _REGISTRY[exercise_id]


def check(exercise_id: str, answer: Any) -> bool:
    """Check a student's answer to an exercise and say how it went.

    Parameters
    ----------
    exercise_id : str
        The exercise's label, as printed in its box in the book.
    answer : Any
        What the exercise asks for, usually the function you wrote.

    Returns
    -------
    bool
        True when the answer is right, False when it is not attempted yet.

    Raises
    ------
    WrongAnswer
        When the answer is wrong, with what was expected and a hint.
    """
    ex = get(exercise_id)
    try:
        ex.checker(answer)
    except NotAttempted:
        print(f"[ ] {exercise_id}: not attempted yet. Replace the NotImplementedError stub, then run this cell again.")
        return False
    except WrongAnswer as wrong:
        raise WrongAnswer(f"{exercise_id} ({ex.title}): {wrong}") from None
    print(f"[x] {exercise_id}: correct. Well done!")
    return True


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}, dtype {value.dtype}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"{type(value).__name__} of shape {tuple(value.shape)}, dtype {value.dtype}"
    return f"{type(value).__name__}"


def call(answer: Any, *args: Any, **kwargs: Any) -> Any:
    """Call the student's function; turn a stub or a crash into a message that helps."""
    if answer is None:
        raise WrongAnswer("the answer is None. Did your function forget to `return` its result?")
    if not callable(answer):
        raise WrongAnswer(f"expected a function, got {_describe(answer)}. Pass the function itself, without calling it.")
    try:
        result = answer(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted() from None
    except Exception as exc:  # noqa: BLE001 - any crash of the student's code becomes a hint
        inputs = ", ".join(_describe(a) for a in args)
        raise WrongAnswer(
            f"your function raised {type(exc).__name__}: {exc}\n  It was called with: ({inputs})."
        ) from None
    if result is None:
        raise WrongAnswer("your function returned None. Did it forget to `return` its result?")
    return result


def _as_array(value: Any, name: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{name} should be an array of numbers, got {_describe(value)}") from None


def expect_array(value: Any, shape: tuple[int, ...], name: str = "the result", hint: str = "") -> np.ndarray:
    """The answer as a float array, after checking its shape."""
    arr = _as_array(value, name)
    if arr.shape != tuple(shape):
        transposed = arr.ndim == 2 and arr.shape[::-1] == tuple(shape)
        msg = f"{name} has shape {arr.shape}, expected {tuple(shape)}."
        if transposed:
            msg += " It looks transposed."
        raise WrongAnswer(f"{msg} {hint}".strip())
    if not np.all(np.isfinite(arr)):
        raise WrongAnswer(f"{name} contains NaN or inf. {hint}".strip())
    return arr


def expect_close(
    value: Any,
    expected: np.ndarray,
    name: str = "the result",
    hint: str = "",
    rtol: float = 1e-6,
    atol: float = 1e-8,
) -> None:
    """Check an array against the expected one (shape first, then values) with a helpful message."""
    expected = np.asarray(expected, dtype=np.float64)
    arr = expect_array(value, expected.shape, name, hint)
    if not np.allclose(arr, expected, rtol=rtol, atol=atol):
        err = np.abs(arr - expected)
        worst = np.unravel_index(np.argmax(err), err.shape) if err.ndim else ()
        where = f" at index {tuple(int(i) for i in worst)}" if worst else ""
        raise WrongAnswer(
            f"{name} has the right shape but wrong values: the largest difference is {err.max():.3g}{where} "
            f"(got {arr[worst]:.6g}, expected {expected[worst]:.6g}). {hint}".strip()
        )


def expect_number(value: Any, expected: float, name: str = "the result", hint: str = "", rtol: float = 1e-6) -> None:
    """Check a single number against the expected one, relative tolerance ``rtol``."""
    try:
        got = float(value)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{name} should be a number, got {_describe(value)}") from None
    if not np.isclose(got, expected, rtol=rtol, atol=0.0):
        raise WrongAnswer(f"{name} is {got:.6g}, expected {expected:.6g}. {hint}".strip())
