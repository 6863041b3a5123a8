"""The grader (`make grade`, tools/grade.py and tools/grading_sandbox.py).

Quick tests: the answer cells are found on the release's layout and on the heading layout, the
setup the grader gives an answer is the chapters' own, a submission's files are read as the issue
says. One slow test (marked ``notebooks``: `make unit` leaves it out) grades a synthetic class
built from the student release: the untouched release, a complete submission and the bad ones.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import grade
import grading_sandbox
from grading_class import BAD_ANSWERS, build_class, build_release
from make_student import solutions, student_notebook

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("*.ipynb"))
SOURCES = CHAPTERS + sorted((REPO / "notebooks").glob("*.ipynb"))  # the book's and the plain layout


@pytest.mark.parametrize("path", SOURCES, ids=[f"{p.parent.name}/{p.stem}" for p in SOURCES])
def test_answer_cells_are_the_solution_blocks(path):
    """On the chapter and on its student release, the answer is exactly the gated solution's code."""
    chapter = nbformat.read(path, as_version=4)
    release = student_notebook(chapter, path.name)
    for exercise_id, solution in solutions(chapter, path.name).items():
        if not solution.code:  # a question answered in prose: nothing to grade
            continue
        assert grade.answer_code(chapter, exercise_id) == (solution.code, ""), exercise_id
        assert grade.answer_code(release, exercise_id) == (solution.student_code, ""), exercise_id


def test_answer_cells_on_the_heading_layout():
    """Plain notebooks: '### Exercise N.M: Title (`id`)', answer cells, check cell; a hidden glue
    cell is not an answer; an exercise without a statement starts after the previous check."""
    nb = new_notebook(cells=[
        new_markdown_cell("## Exercises"),
        new_markdown_cell("### Exercise 6.1: Centre (`fx-centre`)\n\nWrite `centre(X)`."),
        new_code_cell("ae.results.glue('pca_tol', 1e-6)", metadata={"tags": ["remove-cell"]}),
        new_code_cell("def helper(X):\n    return X.mean(axis=0)"),
        new_code_cell("def centre(X):\n    return X - helper(X)"),
        new_code_cell('ae.exercises.check("fx-centre", centre)'),
        new_code_cell("def count(X):\n    return len(X)"),
        new_code_cell("ae.exercises.check('fx-count', count)"),
    ])
    code, why = grade.answer_code(nb, "fx-centre")
    assert why == "" and code == "def helper(X):\n    return X.mean(axis=0)\n\ndef centre(X):\n    return X - helper(X)"
    assert grade.answer_code(nb, "fx-count") == ("def count(X):\n    return len(X)", "")
    code, why = grade.answer_code(nb, "fx-other")
    assert code is None and 'ae.exercises.check("fx-other", ...)' in why


def _bindings(source: str) -> dict[str, str]:
    """name -> imported module path, for the import statements of a cell."""
    out = {}
    for node in ast.walk(ast.parse("\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("!", "%"))))):
        if isinstance(node, ast.Import):
            out.update({a.asname or a.name: a.name for a in node.names})
        elif isinstance(node, ast.ImportFrom):  # `from torch import nn` binds the module torch.nn
            out.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
    return out


def test_grading_setup_is_what_the_exercise_tests_give_a_solution():
    """The grader's setup (one place: grading_sandbox.SETUP) binds exactly the names with which
    tests/test_exercises.py runs every reference solution alone, and CONTRIBUTING promises."""
    tree = ast.parse((REPO / "tests/test_exercises.py").read_text())
    run = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "run_solution")
    given = next(n for n in ast.walk(run) if isinstance(n, ast.Dict))
    assert {k.value for k in given.keys} == set(grading_sandbox.SETUP_NAMES) == set(_bindings(grading_sandbox.SETUP))
    assert "may use `np`, `torch`, `nn` (torch.nn), `F`" in (REPO / "CONTRIBUTING.md").read_text()


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_grading_setup_agrees_with_the_chapters_setup(path):
    """Each setup name the chapter binds is bound to the same module, and seeded the same way."""
    setup = _bindings(grading_sandbox.SETUP)
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    chapter = _bindings(cells[1].source)
    for name, module in setup.items():
        assert chapter.get(name, module) == module, f"{path.name}: {name} is {chapter[name]} in the setup cell, {module} in the grader"
    assert "ae" in chapter and f"ae.seed_everything({grading_sandbox.SEED})" in cells[1].source


def test_a_folder_of_notebooks_is_one_submission(tmp_path):
    (tmp_path / "student").mkdir()
    (tmp_path / "student" / "06_pca.ipynb").write_text("{}")
    assert grade.find_submissions(tmp_path / "student") == [("student", tmp_path / "student")]
    (tmp_path / "class" / "ada").mkdir(parents=True)
    (tmp_path / "class" / ".ipynb_checkpoints").mkdir()
    assert [s for s, _ in grade.find_submissions(tmp_path / "class")] == ["ada"]


def test_a_name_from_elsewhere_in_the_notebook_is_found():
    nb = new_notebook(cells=[new_code_cell("X_train = load()"), new_code_cell("def f(X):\n    return X_train")])
    assert grade._defined_elsewhere(nb, "X_train", nb.cells[1].source) == 1
    assert grade._defined_elsewhere(nb, "nowhere", nb.cells[1].source) is None


def test_no_submissions_folder_is_an_error_of_the_grader(tmp_path, capsys):
    assert grade.main([str(tmp_path / "nothing")]) == 2
    assert "is not a folder" in capsys.readouterr().err


# --- the synthetic class --------------------------------------------------------------------------


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.notebooks
def test_grade_a_synthetic_class(tmp_path, capsys):
    out = tmp_path / "grades"
    folders = build_class(tmp_path, out)
    protected = [REPO / "code/autoencoders/exercises/core.py", Path(grading_sandbox.__file__)]
    import autoencoders

    protected.append(Path(autoencoders.__file__))
    before = {p: _digest(p) for p in protected}
    secret = "SECRET-FROM-THE-LAST-GRADEBOOK"
    out.mkdir()
    (out / "grades.csv").write_text(f"student,total\n{secret},26\n")  # a gradebook from an earlier run
    limits = grade.Limits(exercise=25, notebook=300, memory_gib=1.5)
    subs = {s.student: s for s in grade.grade(tmp_path / "class", out, 2, limits)}
    printed = capsys.readouterr().out

    rows = {r["student"]: r for r in csv.DictReader((out / "grades.csv").open())}
    ids = [e["id"] for e in grade_catalog(subs)]
    assert set(rows) == set(folders)
    assert list(next(iter(rows.values())))[:1] == ["student"] and list(rows["complete"])[-2:] == ["total", "problems"]
    # 1. the untouched release; 2. the complete submission
    assert rows["untouched"]["total"] == "0" and {subs["untouched"].results[i].status for i in ids} == {"not attempted"}
    assert rows["complete"]["total"] == str(len(ids)), subs["complete"].results
    assert rows["complete"]["problems"] == ""
    # 3-7, 9: one bad answer each; the correct answer in the same notebook is graded
    expected = {
        "infinite_loop": "timed out",
        "memory_hog": "out of memory",
        "exits": "exited",
        "system_exit": "exited",
        "patches_check": "tampered",
        "writes_files": "wrong",
        "network": "error",
        "reads_others": "error",
    }
    for student, status in expected.items():
        exercise_id = BAD_ANSWERS[student][0]
        result = subs[student].results[exercise_id]
        assert result.status == status, (student, result)
        assert rows[student][exercise_id] == "0" and rows[student]["pca-whiten"] == "1", student
        assert rows[student]["total"] == "1", student
    assert "Grading runs without a network" in subs["network"].results["pca-power-iteration"].message
    # reads: another student's notebook, OUT, the other working copies, tests/: all denied
    stolen = subs["reads_others"].results["pca-power-iteration"]
    assert "PermissionError" in stolen.tail and "READ:" not in stolen.tail, stolen
    if any("reads only" in c for c in grade.CONFINEMENT):
        assert stolen.tail.count("Permission denied") == 5, stolen
    theirs = (folders["complete"] / "06_pca.ipynb").read_text()
    solution = next(c for c in nbformat.reads(theirs, 4).cells if "def first_principal_component" in c.source).source
    text = (out / "feedback" / "reads_others.md").read_text()
    assert max(solution.splitlines(), key=len) not in text and secret not in text and "BAD_ANSWERS" not in text
    assert "reads only" in printed and secret not in (out / "grades.csv").read_text()
    # 7. nothing outside the working copy was written
    assert {p: _digest(p) for p in protected} == before
    assert sorted(p.name for p in out.iterdir()) == ["feedback", "grades.csv", "results.json"]
    assert sorted(p.name for p in (out / "feedback").iterdir()) == sorted(f"{s}.md" for s in folders)
    # 8. files: invalid JSON, missing chapters, a renamed file, an unknown file
    text = (out / "feedback" / "bad_files.md").read_text()
    assert "`06_pca (1).ipynb` holds the exercises of `06_pca.ipynb`: graded as that chapter" in text
    assert "`notes.txt` is not one of the course notebooks: ignored" in text
    assert "05_generation.ipynb is not a readable notebook (NotJSONError" in text
    assert text.count("01_transfer_learning.ipynb is missing") == 1, text  # once, under its chapter
    assert rows["bad_files"]["pca-whiten"] == "1" and rows["bad_files"]["total"] == "1"
    # feedback of the complete submission, and the summary
    assert (out / "feedback" / "complete.md").read_text().count(": passed.") == len(ids)
    assert re.search(rf"complete\s+{len(ids)} of {len(ids)} passed", printed), printed


def grade_catalog(subs) -> list[dict]:
    """The exercise ids graded (those of the complete submission), in gradebook order."""
    return [{"id": i} for i in subs["complete"].results]


@pytest.mark.notebooks
def test_an_untouched_release_says_how_to_start(tmp_path, capsys):
    student = build_release(tmp_path / "student")
    assert grade.main([str(student), "--out", str(tmp_path / "grades"), "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"student\s+0 of \d+ passed", printed) and "No exercise passes yet. To start: open" in printed, printed
    assert "make grade SUBMISSIONS=" in printed
