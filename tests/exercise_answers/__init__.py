"""Plumbing for the exercise tests: wrong and correct answers per chapter, and the fixture chapter's checks.

Each chapter's file in this folder (``06_pca.py`` or ``pca.py``, any name not starting with ``_``)
defines ``WRONG_ANSWERS = {"<exercise-id>": [("what the student got wrong", answer), ...]}`` and
``CORRECT_ANSWERS = {"<exercise-id>": [("how it differs from the reference", answer), ...]}``:
answers a check must reject, and correct answers written differently from the reference solution
(another algorithm, library, tie rule or estimator) that it must accept. The files are loaded by
path, so a name may start with a digit.
"""

from __future__ import annotations

import importlib.util
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

from autoencoders.exercises import isolated_registry

HERE = Path(__file__).parent
FIXTURES = HERE.parent / "fixtures"

WrongAnswers = dict[str, list[tuple[str, Any]]]  # also the type of the correct answers


def load_module(path: Path) -> ModuleType:
    """Execute the Python file at ``path`` as a fresh module (not cached in sys.modules)."""
    spec = importlib.util.spec_from_file_location(f"_exercise_tests_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_answers(paths: list[Path], kind: str = "WRONG_ANSWERS") -> WrongAnswers:
    """Merge the ``kind`` dicts (``WRONG_ANSWERS`` or ``CORRECT_ANSWERS``) of the given files.

    A missing or malformed dict, or an id given in two files, is an error.
    """
    merged: WrongAnswers = {}
    for path in paths:
        answers = getattr(load_module(path), kind, None)
        if not isinstance(answers, dict):
            raise ValueError(f"{path} must define a dict {kind}")
        for exercise_id, entries in answers.items():
            if exercise_id in merged:
                raise ValueError(f"{path}: {kind} for {exercise_id!r} are also given in another file")
            if not all(isinstance(e, tuple) and len(e) == 2 and isinstance(e[0], str) for e in entries):
                raise ValueError(f"{path}: {kind}[{exercise_id!r}] must be a list of (description, answer)")
            merged[exercise_id] = list(entries)
    return merged


def _chapter_files() -> list[Path]:
    return sorted(p for p in HERE.glob("*.py") if not p.name.startswith("_"))


def chapter_wrong_answers() -> WrongAnswers:
    """The wrong answers of every chapter (the files in this folder)."""
    return load_answers(_chapter_files(), "WRONG_ANSWERS")


def chapter_correct_answers() -> WrongAnswers:
    """The correct answers, written differently from the references, of every chapter."""
    return load_answers(_chapter_files(), "CORRECT_ANSWERS")


@contextmanager
def fixture_exercises() -> Iterator[tuple[WrongAnswers, WrongAnswers]]:
    """Register the fixture chapter's checks for the ``with`` block; yield its wrong and correct answers."""
    with isolated_registry():
        load_module(FIXTURES / "fixture_checks.py")
        answers = [FIXTURES / "fixture_answers.py"]
        yield load_answers(answers, "WRONG_ANSWERS"), load_answers(answers, "CORRECT_ANSWERS")
