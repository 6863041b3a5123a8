"""The student release: no solution survives, the fixture's student notebook runs (the chapters' run under
nbval in `make check`), a student's edits are
never overwritten, broken marker layouts are refused before anything is written, writes are atomic.
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import make_student as rel
from make_student import BEGIN, END, MANIFEST, REMOVED_NOTE, ReleaseError, main, release, solutions
from exercise_answers import FIXTURES

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("*.ipynb"))
FIXTURE = FIXTURES / "fixture_chapter.ipynb"
MARKER = re.compile(r"(BEGIN|END)\s+SOLUTION", re.IGNORECASE)
STUB = re.compile(r'raise NotImplementedError\("Exercise ([\w-]+): write your solution here"\)')


def execute(path: Path, cwd: Path) -> tuple[str, nbformat.NotebookNode]:
    """Run a notebook top to bottom in a fresh ``python3`` kernel with ``cwd`` as its folder.

    Returns the error ('' if none) and the notebook with its outputs.
    """
    nb = nbformat.read(path, as_version=4)
    try:
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    except Exception as err:  # noqa: BLE001 - reported by the test with the notebook's name
        return f"{path.name}: {type(err).__name__}: {err}", nb
    return "", nb


def printed(nb: nbformat.NotebookNode) -> str:
    """Everything the code cells of an executed notebook printed."""
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def solution_leaks(source: nbformat.NotebookNode, student: nbformat.NotebookNode) -> list[str]:
    """Lines from between the markers (and not elsewhere in the same cell) found in the student cell."""
    leaks = []
    for index, (src, out) in enumerate(zip(source.cells, student.cells)):
        inside, hidden, shown = False, set(), set()
        for line in src.source.splitlines():
            if line.strip() in (BEGIN, END):
                inside = line.strip() == BEGIN
            elif line.strip():
                (hidden if inside else shown).add(line.strip())
        leaks += [f"cell {index + 1}: {line!r}" for line in out.source.splitlines() if line.strip() in hidden - shown]
    return leaks


def released_problems(source_path: Path, student_path: Path) -> list[str]:
    """No marker, no solution line, one stub per exercise that names it, outputs cleared."""
    source, student = nbformat.read(source_path, as_version=4), nbformat.read(student_path, as_version=4)
    name = source_path.name
    problems = [f"{name}: marker left in cell {i + 1}" for i, c in enumerate(student.cells) if MARKER.search(c.source)]
    problems += [f"{name}: solution line survives in {leak}" for leak in solution_leaks(source, student)]
    stubbed = [m.group(1) for c in student.cells for m in STUB.finditer(c.source)]
    for label in solutions(source, name):
        if label not in stubbed:
            problems.append(f"{name}: no stub names exercise {label}")
    problems += [f"{name}: stub names {label}, which has no solution block" for label in set(stubbed) - set(solutions(source, name))]
    problems += [f"{name}: outputs left in cell {i + 1}" for i, c in enumerate(student.cells) if c.get("outputs")]
    return problems


@pytest.fixture
def chapter(tmp_path):
    """A source folder holding the fixture chapter, and an empty student folder beside it."""
    source = tmp_path / "chapters"
    source.mkdir()
    shutil.copy(FIXTURE, source / FIXTURE.name)
    return source, tmp_path / "student"


# --- the fixture chapter ------------------------------------------------------------------------


def test_fixture_release_hides_every_solution_and_runs(chapter):
    source, student = chapter
    report = release(source, student)
    assert report.added == [FIXTURE.name]
    assert released_problems(source / FIXTURE.name, student / FIXTURE.name) == []
    text = (student / FIXTURE.name).read_text()
    for prose in ["Every one of the", "Then the decoder maps", "Because its outputs", "the set S is small"]:
        assert prose not in text, f"solution prose {prose!r} survives in the student notebook"
    for kept in ["{exercise} Counting images", "A $128 \\\\times 128", "The chapter goes on.", REMOVED_NOTE]:
        assert kept in text, f"{kept!r} (not a solution) is missing from the student notebook"
    error, ran = execute(student / FIXTURE.name, cwd=FIXTURES)
    assert error == ""
    results = [o for c in ran.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "execute_result"]
    assert not results, f"a check cell shows its return value: {results}"
    for label in ["fx-centre", "fx-count", "fx-linear"]:
        assert f"[not attempted] {label} " in printed(ran), printed(ran)
    assert "later cells do not use the answers: 5.5" in printed(ran), printed(ran)


def test_edit_is_kept_untouched_is_updated_and_the_student_is_told(chapter, capsys):
    source, student = chapter
    assert main([str(source), str(student)]) == 0
    shutil.copy(source / FIXTURE.name, source / "other.ipynb")
    assert main([str(source), str(student)]) == 0
    assert f"added      {student / 'other.ipynb'}" in capsys.readouterr().out

    mine = nbformat.read(student / FIXTURE.name, as_version=4)
    mine.cells[4].source = mine.cells[4].source.replace('raise NotImplementedError("Exercise fx-centre: write your solution here")', "return X - X.mean(0)  # my answer")
    nbformat.write(mine, student / FIXTURE.name)
    edited = (student / FIXTURE.name).read_bytes()

    for name in [FIXTURE.name, "other.ipynb"]:  # the chapter changes
        nb = nbformat.read(source / name, as_version=4)
        nb.cells.append(new_markdown_cell("A new closing remark."))
        nbformat.write(nb, source / name)
    assert main([str(source), str(student)]) == 0
    out = capsys.readouterr().out
    assert (student / FIXTURE.name).read_bytes() == edited, "the student's edit was overwritten"
    assert (
        f"kept       {student / FIXTURE.name}: you have changed it, so it was not overwritten. A newer version "
        "of this chapter is available. For a fresh copy, rename or delete it and run `make student` again."
    ) in out, out
    assert f"updated    {student / 'other.ipynb'}" in out, out
    assert "A new closing remark." in (student / "other.ipynb").read_text()

    (student / FIXTURE.name).rename(student / "my_answers.ipynb")  # how to get a fresh copy
    assert main([str(source), str(student)]) == 0
    assert "A new closing remark." in (student / FIXTURE.name).read_text()
    assert (student / "my_answers.ipynb").read_bytes() == edited


def test_running_a_notebook_is_not_an_edit(chapter):
    """Outputs and execution counts saved by Jupyter do not make a notebook the student's."""
    source, student = chapter
    release(source, student)
    ran = nbformat.read(student / FIXTURE.name, as_version=4)
    ran.cells[6].outputs = [nbformat.v4.new_output("stream", name="stdout", text="[not attempted] ...\n")]
    ran.cells[6].execution_count = 3
    ran.metadata["language_info"]["version"] = "3.11.9"
    nbformat.write(ran, student / FIXTURE.name)
    assert release(source, student).unchanged == [FIXTURE.name]
    nb = nbformat.read(source / FIXTURE.name, as_version=4)
    nb.cells.append(new_markdown_cell("A new closing remark."))
    nbformat.write(nb, source / FIXTURE.name)
    assert release(source, student).updated == [FIXTURE.name]


def test_an_unreadable_manifest_keeps_every_existing_notebook(chapter, capsys):
    source, student = chapter
    release(source, student)
    (student / MANIFEST).write_text("{ not json")
    nb = nbformat.read(source / FIXTURE.name, as_version=4)
    nb.cells.append(new_markdown_cell("A new closing remark."))
    nbformat.write(nb, source / FIXTURE.name)
    assert main([str(source), str(student)]) == 0
    out = capsys.readouterr().out
    assert "warning:" in out and "treated as yours and kept" in out, out
    assert f"kept       {student / FIXTURE.name}: you have changed it, so it was not overwritten. For a" in out, out


def test_an_interrupted_write_leaves_the_old_notebook_whole(chapter, monkeypatch):
    source, student = chapter
    release(source, student)
    old = (student / FIXTURE.name).read_bytes()
    nb = nbformat.read(source / FIXTURE.name, as_version=4)
    nb.cells.append(new_markdown_cell("A new closing remark."))
    nbformat.write(nb, source / FIXTURE.name)

    real_fsync, calls = rel.os.fsync, []

    def failing_fsync(fd):  # the first write is the manifest, the second the notebook
        calls.append(fd)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        real_fsync(fd)

    monkeypatch.setattr(rel.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="simulated"):
        release(source, student)
    monkeypatch.undo()
    assert (student / FIXTURE.name).read_bytes() == old, "the old notebook was damaged"
    assert sorted(p.name for p in student.iterdir()) == sorted([MANIFEST, FIXTURE.name]), "a temporary file was left"
    assert release(source, student).updated == [FIXTURE.name], "after the interruption it is still seen as untouched"
    assert (student / FIXTURE.name).stat().st_mode & 0o777 == (student / MANIFEST).stat().st_mode & 0o777


# --- broken marker layouts ------------------------------------------------------------------------


def _notebook(*cells) -> nbformat.NotebookNode:
    return new_notebook(cells=list(cells))


START = new_markdown_cell("```{solution-start} x-one\n:class: dropdown\n```")
STOP = new_markdown_cell("```{solution-end}\n```")
GOOD = new_code_cell(f"def f(x):\n    {BEGIN}\n    return 2 * x\n    {END}")
BROKEN = {
    "marker at top level": (
        _notebook(START, new_code_cell(f"{BEGIN}\ny = 2\n{END}"), STOP),
        r"broken\.ipynb, cell 2.*line 1: '# BEGIN SOLUTION' must sit inside a function body",
    ),
    "marker inside an if at top level": (
        _notebook(START, new_code_cell(f"if True:\n    {BEGIN}\n    y = 2\n    {END}"), STOP),
        r"broken\.ipynb, cell 2.*line 2: '# BEGIN SOLUTION' must sit inside a function body",
    ),
    "unmatched END": (
        _notebook(START, new_code_cell(f"def f(x):\n    return x\n    {END}"), STOP),
        r"broken\.ipynb, cell 2.*line 3: '# END SOLUTION' without a matching '# BEGIN SOLUTION'",
    ),
    "BEGIN without END": (
        _notebook(START, new_code_cell(f"def f(x):\n    {BEGIN}\n    return x"), STOP),
        r"broken\.ipynb, cell 2.*without a matching '# END SOLUTION'",
    ),
    "malformed marker": (
        _notebook(START, new_code_cell("def f(x):\n    # begin solution\n    return x\n    # END SOLUTION"), STOP),
        r"broken\.ipynb, cell 2.*line 2: malformed marker '# begin solution'",
    ),
    "markers outside a gated solution": (
        _notebook(GOOD),
        r"broken\.ipynb, cell 1.*outside a \{solution-start\}",
    ),
    "solution code without markers": (
        _notebook(START, new_code_cell("def f(x):\n    return 2 * x"), STOP),
        r"broken\.ipynb, cell 2.*has no '# BEGIN SOLUTION' \.\.\. '# END SOLUTION' region",
    ),
    "solution-start never ended": (
        _notebook(START, GOOD),
        r"broken\.ipynb: \{solution-start\} x-one has no \{solution-end\}",
    ),
    "solution-end without a start": (
        _notebook(new_code_cell("x = 1"), STOP),
        r"broken\.ipynb, cell 2.*\{solution-end\} without a \{solution-start\}",
    ),
    "a directive never closed": (
        _notebook(new_markdown_cell("```{solution} x-one\nThe answer.")),
        r"broken\.ipynb, cell 1.*never closed",
    ),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_a_broken_layout_is_refused_and_nothing_is_written(chapter, case, capsys):
    source, student = chapter
    notebook, message = BROKEN[case]
    nbformat.write(notebook, source / "broken.ipynb")
    with pytest.raises(ReleaseError, match=message):
        release(source, student)
    assert not student.exists(), "a refused release wrote something"

    (source / "broken.ipynb").unlink()
    release(source, student)
    before = {p.name: p.read_bytes() for p in student.iterdir()}
    nbformat.write(notebook, source / "broken.ipynb")
    assert main([str(source), str(student)]) == 2
    assert "Nothing was written." in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in student.iterdir()} == before


def test_an_unreadable_chapter_is_named(chapter):
    source, student = chapter
    (source / "half_saved.ipynb").write_text('{"cells": [')
    with pytest.raises(ReleaseError, match=r"half_saved\.ipynb is not a readable notebook"):
        release(source, student)
    assert not student.exists()


# --- the real chapters ----------------------------------------------------------------------------


def _python(source: str) -> ast.Module:
    """A code cell as Python, with IPython magics and shell lines replaced by ``pass``."""
    return ast.parse("\n".join(re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in source.splitlines()))


def _bound(tree: ast.Module) -> set[str]:
    """The names a cell binds at top level (def, class, assignment, import, loop variable)."""
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
        else:
            names.update(n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return names


def answers_used_later(nb: nbformat.NotebookNode, name: str) -> list[str]:
    """Uses of a name defined by a solution in a later cell other than its check (a stub there)."""
    in_solution = {source for solution in solutions(nb, name).values() for source in solution.code.split("\n\n")}
    stubbed: set[str] = set()
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tree = _python(cell.source)
        defined = _bound(tree)
        if cell.source in in_solution:
            stubbed |= defined
            continue
        checks = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "ae.exercises.check"]
        exempt = {id(a) for c in checks for a in ast.walk(c)}
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in exempt and n.id in stubbed}
        used -= defined  # the cell defines its own (a redefinition of the name)
        problems += [f"{name}, cell {index + 1} uses {u}, the answer to an exercise (a stub for the student)" for u in sorted(used)]
        stubbed -= defined
    return problems


@pytest.mark.parametrize("path", CHAPTERS + [FIXTURE], ids=lambda p: p.stem)
def test_later_cells_do_not_use_exercise_answers(path):
    problems = answers_used_later(nbformat.read(path, as_version=4), path.name)
    assert not problems, "\n".join(problems)


def test_a_later_use_of_an_answer_is_found():
    nb = nbformat.read(FIXTURE, as_version=4)
    nb.cells.append(new_code_cell("print(centre(X))"))
    assert answers_used_later(nb, "fx.ipynb") == [
        f"fx.ipynb, cell {len(nb.cells)} uses centre, the answer to an exercise (a stub for the student)"
    ]


# The student notebooks are run top to bottom by `make check` under nbval (the student release of
# the plain notebooks, see the Makefile); here, without a kernel, what the release hides.
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_the_student_notebook_hides_every_solution(path, tmp_path):
    source, student = tmp_path / "chapters", tmp_path / "student"
    source.mkdir()
    shutil.copy(path, source / path.name)
    assert release(source, student).added == [path.name]
    problems = released_problems(path, student / path.name)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_the_student_release_of_the_plain_notebook_hides_every_solution(path, tmp_path):
    plain = REPO / "notebooks" / path.name
    if not plain.exists():
        pytest.fail(f"notebooks/{path.name} is missing: `make book` writes it")
    student = tmp_path / "student"
    release(plain.parent, student)
    nb = nbformat.read(student / path.name, as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    assert not MARKER.search(text), f"{path.name}: a solution marker is left"
    chapter = nbformat.read(path, as_version=4)
    chapter_solutions = solutions(chapter, path.name)
    # lines the chapter also has outside its solutions (a training loop's `loss.backward()`) may stay
    released = rel.student_notebook(chapter, path.name)
    outside = {line.strip() for c in released.cells for line in c.source.splitlines()}
    hidden = {line.strip() for sol in chapter_solutions.values() for line in sol.code.splitlines()
              if line.strip() and line.strip() not in sol.student_code and line.strip() not in outside}
    leaks = [line for line in text.splitlines() if line.strip() in hidden]
    assert not leaks, f"{path.name}: solution lines survive: {leaks[:5]}"
    assert set(STUB.findall(text)) == set(chapter_solutions), f"{path.name}: not one stub per exercise"
