"""A synthetic class for the grader's tests (and for timing it): one folder per student, built
from the student release of the chapters (tools/make_student.py) in a temporary folder.

``complete``: every chapter's solution pasted into the student notebook; the other students are
the bad submissions a grader must survive (an infinite loop, unbounded memory, an exit, patched
checks, writes and reads outside the working copy, broken files, the network), each a copy of the
release with one notebook changed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat

from make_student import release, solutions

REPO = Path(__file__).resolve().parents[1]
# The source of `make student`: the plain notebooks (notebooks/), or the chapters before they exist.
CHAPTERS = REPO / "notebooks" if any((REPO / "notebooks").glob("*.ipynb")) else REPO / "chapters"


def paste_solutions(student: nbformat.NotebookNode, chapter: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The student notebook with every stub cell replaced by the chapter's solution code."""
    stubs = {s.student_code: s.code for s in solutions(chapter, name).values() if s.code}
    assert stubs, name
    pasted = 0
    for cell in student.cells:
        if cell.cell_type == "code" and cell.source in stubs:
            cell.source, pasted = stubs[cell.source], pasted + 1
    assert pasted == len(stubs), f"{name}: {pasted} of {len(stubs)} solutions pasted"
    return student


def edit_answer(folder: Path, chapter: str, exercise_id: str, code: str) -> None:
    """Replace the (first) stubbed answer cell of ``exercise_id`` in ``folder/chapter.ipynb``."""
    path = folder / f"{chapter}.ipynb"
    nb = nbformat.read(path, as_version=4)
    marker = f'NotImplementedError("Exercise {exercise_id}: '
    cell = next(c for c in nb.cells if c.cell_type == "code" and marker in c.source)
    cell.source = code
    nbformat.write(nb, path)


def build_release(dest: Path) -> Path:
    """The untouched student release in ``dest``."""
    release(CHAPTERS, dest)
    return dest


def build_complete(release_dir: Path, dest: Path) -> Path:
    """A copy of the release with every solution pasted in."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(CHAPTERS.glob("*.ipynb")):
        student = nbformat.read(release_dir / path.name, as_version=4)
        chapter = nbformat.read(path, as_version=4)
        nbformat.write(paste_solutions(student, chapter, path.name), dest / path.name)
    return dest


def copy_release(release_dir: Path, dest: Path, only: tuple[str, ...] = ()) -> Path:
    """A copy of the release (or of the notebooks named in ``only``)."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(release_dir.glob("*.ipynb")):
        if not only or path.stem in only:
            shutil.copyfile(path, dest / path.name)
    return dest


# The bad submissions: (student, chapter, exercise, answer code). Each is a release with one answer.
PCA = "06_pca"
WHITEN = "def pca_whiten(X, k):\n    X = X - X.mean(axis=0)\n    U, s, Vt = np.linalg.svd(X, full_matrices=False)\n    return X @ Vt[:k].T / (s[:k] / np.sqrt(len(X) - 1))\n"
BAD_ANSWERS = {
    "infinite_loop": ("pca-power-iteration", "def first_principal_component(X):\n    while True:\n        pass\n"),
    "memory_hog": ("pca-power-iteration", "def first_principal_component(X):\n    hoard = []\n    while True:\n        hoard.append(np.ones(10**7))\n"),
    "exits": ("pca-power-iteration", "import os\nos._exit(0)\n"),
    "system_exit": ("pca-power-iteration", "def first_principal_component(X):\n    raise SystemExit(0)\n"),
    "patches_check": (
        "pca-power-iteration",
        "ae.exercises.check = lambda *args, **kwargs: True\n"
        "ae.exercises.core.expect_close = lambda *args, **kwargs: None\n"
        "ae.exercises.core.expect_array = lambda value, *args, **kwargs: value\n"
        "def first_principal_component(X):\n    return np.ones(X.shape[1])\n",
    ),
    "writes_files": (
        "pca-power-iteration",
        "import pathlib\n"
        "for target in [OUT / 'grades.csv', REPO / 'code/autoencoders/exercises/core.py', pathlib.Path(ae.__file__)]:\n"
        "    try:\n        target.write_text('hacked')\n    except OSError as err:\n        print(err)\n"
        "def first_principal_component(X):\n    return np.ones(X.shape[1])\n",
    ),
    "network": (
        "pca-power-iteration",
        "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=5)\n",
    ),
    # Reads another student's notebook, the gradebook being written, the other working copies and
    # the course's tests, and would put what it read into its own feedback.
    "reads_others": (
        "pca-power-iteration",
        "import os, pathlib\n"
        "found, denied = [], []\n"
        "for target in [CLASS / 'complete' / '06_pca.ipynb', OUT / 'grades.csv', REPO / 'tests' / 'grading_class.py']:\n"
        "    try:\n        found.append(target.read_text())\n    except PermissionError as err:\n        denied.append(str(err))\n"
        "for folder in [CLASS, pathlib.Path.cwd().parent]:\n"
        "    try:\n        found.append(' '.join(os.listdir(folder)))\n    except PermissionError as err:\n        denied.append(str(err))\n"
        "if found:\n    raise RuntimeError('READ: ' + ' '.join(found))\n"
        "raise PermissionError(' | '.join(denied))\n",
    ),
}


def build_class(root: Path, out: Path) -> dict[str, Path]:
    """The synthetic class under ``root`` (``out`` is where the grader will write)."""
    rel = build_release(root / "_release")
    klass = root / "class"
    folders = {"untouched": copy_release(rel, klass / "untouched"), "complete": build_complete(rel, klass / "complete")}
    for student, (exercise_id, code) in BAD_ANSWERS.items():
        folder = copy_release(rel, klass / student, only=(PCA,))
        code = code.replace("OUT /", f"pathlib.Path({str(out)!r}) /").replace("REPO /", f"pathlib.Path({str(REPO)!r}) /")
        code = code.replace("CLASS /", f"pathlib.Path({str(klass)!r}) /").replace("CLASS,", f"pathlib.Path({str(klass)!r}),")
        edit_answer(folder, PCA, exercise_id, code)
        edit_answer(folder, PCA, "pca-whiten", WHITEN)  # one correct answer: graded, not lost
        folders[student] = folder
    # Files: invalid JSON, a missing chapter (all but one), a renamed file, an unknown extra file.
    files = copy_release(rel, klass / "bad_files", only=(PCA, "05_generation"))
    edit_answer(files, PCA, "pca-whiten", WHITEN)
    (files / "05_generation.ipynb").write_text('{"cells": [ this is not JSON')
    (files / f"{PCA}.ipynb").rename(files / f"{PCA} (1).ipynb")
    (files / "notes.txt").write_text("my notes")
    folders["bad_files"] = files
    return folders
