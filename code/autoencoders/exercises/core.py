"""The machinery behind every exercise check.

A chapter registers one checker per exercise with :func:`exercise`. A checker receives the
student's answer (usually a function), tries it on several inputs with :func:`call`, and compares
with :func:`expect_array`, :func:`expect_close` or :func:`expect_number`, which raise
:class:`WrongAnswer` with a message that says what was expected. :func:`check` turns the outcome
into what a student sees: one line on success, a helpful error on a wrong answer, and a notice
(not an error) for an exercise whose stub still raises ``NotImplementedError``.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
import sysconfig
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from autoencoders.runtime import to_numpy

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_STUB = re.compile(r"^Exercise [\w-]+: write your solution here$")


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
    checker: Callable[[Any], None] = field(repr=False, compare=False)


class Catalog(list):
    """A list of :class:`Exercise` that prints as a table (what ``catalog()`` shows a student)."""

    def __repr__(self) -> str:
        if not self:
            return "no exercises registered"
        width = max(len(e.id) for e in self)
        return "\n".join(f"{e.chapter:<20} {e.id:<{width}}  {e.title}" for e in self)


class Outcome:
    """What :func:`check` returns: true when passed, false when not attempted yet.

    It compares equal to that bool, and shows nothing in Jupyter (a bool would add a bare
    ``True`` under every check cell, after the line that already says it).
    """

    __slots__ = ("passed",)

    def __init__(self, passed: bool) -> None:
        self.passed = passed

    def __bool__(self) -> bool:
        return self.passed

    def __eq__(self, other: object) -> bool:
        return self.passed == other

    def __hash__(self) -> int:
        return hash(self.passed)

    def __repr__(self) -> str:
        return repr(self.passed)

    def _ipython_display_(self) -> None:
        """Display nothing: the line printed by :func:`check` is the result."""


_REGISTRY: dict[str, Exercise] = {}


def exercise(exercise_id: str, *, title: str, chapter: str) -> Callable[[Callable], Callable]:
    """Register the decorated checker as the check of ``exercise_id``.

    Registering the same checker again (a reloaded chapter module) replaces it; a second,
    different checker under a used id is an error, so two chapters cannot claim one label.
    """
    if not isinstance(exercise_id, str) or not _ID.match(exercise_id):
        raise ValueError(
            f"exercise id {exercise_id!r} must be a book label: lower-case letters, digits, '-' or '_'"
        )
    if not title or not chapter:
        raise ValueError(f"exercise {exercise_id!r} needs a non-empty title and chapter")

    def register(checker: Callable[[Any], None]) -> Callable[[Any], None]:
        old = _REGISTRY.get(exercise_id)
        same = old is not None and (old.checker.__module__, old.checker.__qualname__) == (
            checker.__module__,
            checker.__qualname__,
        )
        if old is not None and not same:
            raise ValueError(
                f"exercise id {exercise_id!r} is registered twice: by {old.checker.__module__} "
                f"and by {checker.__module__}"
            )
        _REGISTRY[exercise_id] = Exercise(exercise_id, title, chapter, checker)
        return checker

    return register


@contextmanager
def isolated_registry() -> Iterator[None]:
    """Exercises registered inside the ``with`` block are forgotten after it (tests, demos)."""
    saved = dict(_REGISTRY)
    try:
        yield
    finally:
        _REGISTRY.clear()
        _REGISTRY.update(saved)


def catalog() -> Catalog:
    """Every exercise of the book (id, title, chapter), ordered by chapter then id."""
    return Catalog(sorted(_REGISTRY.values(), key=lambda e: (e.chapter, e.id)))


def get(exercise_id: str) -> Exercise:
    """The exercise registered under ``exercise_id``; a clear error suggests the closest ids."""
    if exercise_id not in _REGISTRY:
        close = difflib.get_close_matches(str(exercise_id), list(_REGISTRY), n=3)
        advice = f"Did you mean {', '.join(map(repr, close))}?" if close else "See ae.exercises.catalog()."
        raise ValueError(f"no exercise with id {exercise_id!r}. {advice}")
    return _REGISTRY[exercise_id]


def check(exercise_id: str, answer: Any) -> Outcome:
    """Check a student's answer to an exercise and say how it went.

    Parameters
    ----------
    exercise_id : str
        The exercise's label, as printed in its box in the book.
    answer : Any
        What the exercise asks for, usually the function you wrote.

    Returns
    -------
    Outcome
        True when the answer is right, False when it is not attempted yet (compares equal to
        that bool; shows nothing in Jupyter).

    Raises
    ------
    WrongAnswer
        When the answer is wrong, with what was expected and a hint.
    ValueError
        When no exercise has the id ``exercise_id``.
    """
    ex = get(exercise_id)
    head = f"{exercise_id} ({ex.title})"
    try:
        if answer is None:
            raise WrongAnswer(
                "the answer is None. Pass what the exercise asks for (usually your function itself), "
                "and make sure a function `return`s its result."
            )
        ex.checker(answer)
    except (NotAttempted, NotImplementedError) as stub:  # a stub, also one the checker reached directly
        note = "" if _STUB.match(str(stub)) or not str(stub) else f" (your code raised NotImplementedError: {stub})"
        print(f"[not attempted] {head}: replace the NotImplementedError stub with your code, then run this cell again.{note}")
        return Outcome(False)
    except AssertionError as wrong:  # WrongAnswer, or a plain assert in a checker
        raise WrongAnswer(f"{head}: {wrong}") from None
    except Exception as exc:  # noqa: BLE001 - the checker could not use the answer: say so, briefly
        raise WrongAnswer(
            f"{head}: your answer could not be checked, the check failed with {type(exc).__name__}: {exc}. "
            f"Is it the kind of object the exercise asks for (got {_describe(answer)})?{_student_line(exc)}"
        ) from None
    print(f"[passed] {head}: correct. Well done!")
    return Outcome(True)


def _describe(value: Any) -> str:
    """A short description of a value for a message: type, and shape or value."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"{type(value).__name__} of shape {tuple(value.shape)}, dtype {value.dtype}"
    if isinstance(value, (numbers.Number, str)) and len(repr(value)) <= 40:
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of length {len(value)}"
    return type(value).__name__


def _hint(hint: str) -> str:
    """`` Hint: ...`` (or nothing), appended to a message."""
    if not hint:
        return ""
    return f" {hint}" if hint.lower().startswith("hint") else f" Hint: {hint}"


# Frames from these folders are not the student's code: the standard library, installed
# packages, and this package.
_LIBRARY_DIRS = tuple(
    {str(Path(sysconfig.get_paths()[key]).resolve()) for key in ("stdlib", "purelib", "platlib")}
    | {str(Path(__file__).resolve().parents[1])}
)


def _student_line(exc: BaseException) -> str:
    """Where in the student's own code the exception came from: its deepest frame outside libraries."""
    own = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not str(Path(frame.filename).resolve()).startswith(_LIBRARY_DIRS)
    ]
    if not own or not own[-1].line:
        return ""
    return f"\n  In your code, line {own[-1].lineno}: {own[-1].line.strip()}"


def call(answer: Any, *args: Any, **kwargs: Any) -> Any:
    """Call the student's function; turn a stub or a crash into a message that helps."""
    if answer is None:
        raise WrongAnswer("the answer is None. Did your function forget to `return` its result?")
    if not callable(answer):
        raise WrongAnswer(
            f"expected a function, got {_describe(answer)}. Pass the function itself, without calling it."
        )
    try:
        result = answer(*args, **kwargs)
    except NotImplementedError as exc:
        raise NotAttempted(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any crash of the student's code becomes a hint
        inputs = ", ".join([_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()])
        raise WrongAnswer(
            f"your function raised {type(exc).__name__}: {exc}\n  It was called with: ({inputs})."
            f"{_student_line(exc)}"
        ) from None
    if result is None:
        raise WrongAnswer("your function returned None. Did it forget to `return` its result?")
    return result


def _as_array(value: Any, name: str) -> np.ndarray:
    """The value as a float64 array (numpy, torch or nested lists), or a WrongAnswer saying why not."""
    try:
        arr = to_numpy(value, np.float64)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{name} should be an array of numbers, got {_describe(value)}") from None
    return arr


def expect_array(value: Any, shape: tuple[int, ...], name: str = "the result", hint: str = "") -> np.ndarray:
    """The answer as a float array, after checking its shape and that it is finite."""
    if value is None:
        raise WrongAnswer(f"{name} is None, expected an array of shape {tuple(shape)}.{_hint(hint)}")
    arr = _as_array(value, name)
    shape = tuple(shape)
    if arr.shape != shape:
        msg = f"{name} has shape {arr.shape}, expected {shape}."
        if arr.ndim == 2 and arr.shape[::-1] == shape:
            msg += " It looks transposed."
        elif tuple(n for n in arr.shape if n != 1) == tuple(n for n in shape if n != 1):
            msg += " It differs only by axes of length 1 (check keepdims, reshape or squeeze)."
        elif arr.size == math.prod(shape):
            msg += " It has the right number of entries in the wrong arrangement."
        raise WrongAnswer(msg + _hint(hint))
    if not np.all(np.isfinite(arr)):
        raise WrongAnswer(f"{name} contains NaN or inf.{_hint(hint)}")
    return arr


def expect_close(
    value: Any,
    expected: Any,
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
        worst = np.unravel_index(np.argmax(err), err.shape)
        where = f" at index {tuple(int(i) for i in worst)}" if worst else ""
        extra = ""
        if expected.ndim and np.allclose(arr, -expected, rtol=rtol, atol=atol):
            extra = " Every value has the wrong sign."
        raise WrongAnswer(
            f"{name} has the right shape but wrong values: the largest difference is {err.max():.3g}{where} "
            f"(got {arr[worst]:.6g}, expected {expected[worst]:.6g}).{extra}{_hint(hint)}"
        )


def _as_number(value: Any, name: str) -> int | float:
    """An exact int for integer answers (they may be huge, like a count of images), else a float."""
    if hasattr(value, "detach"):  # a torch scalar
        value = to_numpy(value)
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise WrongAnswer(f"{name} should be a single number, got {_describe(value)}") from None


def _format_number(x: int | float) -> str:
    """A number as a student reads it; huge integers as a power of ten."""
    if isinstance(x, int) and abs(x) >= 10**15:
        return f"{'-' if x < 0 else ''}about 10^{math.log10(abs(x)):.2f}"
    return f"{x:.6g}"


def expect_number(
    value: Any, expected: float, name: str = "the result", hint: str = "", rtol: float = 1e-6, atol: float = 0.0
) -> None:
    """Check a single number against the expected one: ``|got - expected| <= atol + rtol * |expected|``.

    Integers are compared exactly in Python's arbitrary precision, so answers like 256**49152
    (the number of 128x128x3 images) can be checked without overflow.
    """
    if value is None:
        raise WrongAnswer(f"{name} is None, expected a number.{_hint(hint)}")
    got = _as_number(value, name)
    want = expected if isinstance(expected, int) else float(expected)
    if isinstance(got, int) and isinstance(want, int):
        ok = Fraction(abs(got - want)) <= Fraction(atol) + Fraction(rtol) * abs(want)
    else:
        try:
            ok = math.isclose(float(got), float(want), rel_tol=rtol, abs_tol=atol)
        except OverflowError:
            ok = False
    if not ok:
        raise WrongAnswer(f"{name} is {_format_number(got)}, expected {_format_number(want)}.{_hint(hint)}")
