"""The student release: chapter notebooks with solutions replaced by stubs.

``python tools/make_student.py notebooks student`` (``make student``) writes one student notebook
per chapter from the plain notebooks (``notebooks/``, see ``tools/plain_notebooks.py``: cells of a
solution carry the tag ``solution`` and ``metadata.exercise_solution``); it also reads chapters
written in MyST (``chapters/``, the tests' fixture). In a code cell, the lines between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` become
one line raising ``NotImplementedError`` that names the exercise; solution prose (a ``{solution}``
directive, or markdown inside a ``{solution-start}`` ... ``{solution-end}`` block) is replaced by a
short note. Outputs are cleared. A notebook that breaks these conventions stops the release with a
:class:`ReleaseError` naming the notebook and cell, before anything is written.

A student's work is never lost: a manifest (``.release.json`` in the destination) records a hash of
every notebook's cells as they were written. A notebook whose cells no longer match is the
student's and is left alone; a notebook the student has not touched is updated; every write is
atomic (a temporary file renamed over the target), so an interruption leaves the old file whole.
When the chapter behind an edited notebook changes, the new version is written to
``updates/<name>`` in the destination, and the command that shows the difference is printed
(nbdime's ``nbdiff``).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
MANIFEST = ".release.json"
UPDATES = "updates"  # the folder, inside the destination, for newer versions of edited notebooks
SOLUTION_KEY = "exercise_solution"  # a plain notebook's cell of the solution of this exercise
_MANIFEST_FORMAT = 2
_DIRECTIVE = re.compile(r"^\s*(?P<fence>`{3,}|:{3,})\{(?P<kind>solution-start|solution-end|solution)\}\s*(?P<label>\S*)")
_IPYTHON_MAGIC = re.compile(r"^(\s*)[%!]")  # a %magic or !shell line
REMOVED_NOTE = "*The solution is not part of the student edition: work it out, then compare with the book.*"


class ReleaseError(ValueError):
    """A chapter notebook breaks the solution-marker conventions; the message says where."""


def _stub_line(indent: str, exercise_id: str) -> str:
    """The line that replaces a solution: it names the exercise, so the student knows what to write."""
    return f'{indent}raise NotImplementedError("Exercise {exercise_id}: write your solution here")'


def _closing_fence(lines: list[str], start: int, fence: str, where: str) -> int:
    """Index of the line that closes the directive opened at ``lines[start]`` with ``fence``."""
    closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
    for j in range(start + 1, len(lines)):
        if closing.match(lines[j]):
            return j
    raise ReleaseError(f"{where}: the directive {lines[start].strip()!r} is never closed with {fence}")


def _add_note(lines: list[str]) -> None:
    """Put the removed-solution note on its own paragraph."""
    if lines and lines[-1].strip():
        lines.append("")
    lines.append(REMOVED_NOTE)


def _student_markdown(source: str, gated: str | None, where: str) -> tuple[str, str | None]:
    """Remove solution prose from a markdown cell; return it and the open gated solution after it."""
    if gated is None and "{solution" not in source:
        return source, None
    lines = source.splitlines()
    out: list[str] = []
    noted = False
    i = 0
    while i < len(lines):
        match = _DIRECTIVE.match(lines[i])
        if not match:
            if gated is None:
                out.append(lines[i])
            elif lines[i].strip() and not noted:  # prose inside a gated solution
                _add_note(out)
                noted = True
            i += 1
            continue
        kind, label = match["kind"], match["label"]
        end = _closing_fence(lines, i, match["fence"], where)
        if kind != "solution-end" and gated is not None:
            raise ReleaseError(f"{where}: {{{kind}}} {label} inside the solution of {gated} (no {{solution-end}})")
        if kind == "solution":
            _add_note(out)
        elif kind == "solution-start":
            if not label:
                raise ReleaseError(f"{where}: {{solution-start}} needs the exercise label")
            out.extend(lines[i : end + 1])
            gated, noted = label, False
        else:
            if gated is None:
                raise ReleaseError(f"{where}: {{solution-end}} without a {{solution-start}} before it")
            out.extend(lines[i : end + 1])
            gated = None
        i = end + 1
    return "\n".join(out), gated


def _student_code(source: str, exercise_id: str | None, where: str) -> str:
    """Replace every BEGIN/END SOLUTION region of a code cell by a NotImplementedError stub."""
    if exercise_id is None and not re.search(r"SOLUTION", source, re.IGNORECASE):
        return source
    out: list[str] = []
    stubs: dict[int, int] = {}  # line number of a stub in the output -> line of its BEGIN in the source
    inside = False
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped not in (BEGIN, END) and re.search(r"(BEGIN|END)\s+SOLUTION", line, re.IGNORECASE):
            raise ReleaseError(f"{where}, line {number}: malformed marker {stripped!r}; write exactly {BEGIN!r} or {END!r}")
        if stripped == BEGIN:
            if exercise_id is None:
                raise ReleaseError(
                    f"{where}, line {number}: {BEGIN!r} outside a {{solution-start}} ... {{solution-end}} block"
                )
            if inside:
                raise ReleaseError(f"{where}, line {number}: {BEGIN!r} inside another solution region")
            out.append(_stub_line(line[: len(line) - len(line.lstrip())], exercise_id))
            stubs[len(out)] = number
            inside = True
        elif stripped == END:
            if not inside:
                raise ReleaseError(f"{where}, line {number}: {END!r} without a matching {BEGIN!r} before it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ReleaseError(f"{where}: {BEGIN!r} without a matching {END!r}")
    if exercise_id is not None and not stubs:
        raise ReleaseError(
            f"{where}: a code cell inside the solution of {exercise_id} has no {BEGIN!r} ... {END!r} "
            "region, so the student edition would show the solution"
        )
    if stubs:
        _check_stubs_run("\n".join(out), stubs, where)
    return "\n".join(out)


def _check_stubs_run(code: str, stubs: dict[int, int], where: str) -> None:
    """Every stub must be valid Python inside a function body, so the student notebook still runs."""
    plain = "\n".join(_IPYTHON_MAGIC.sub(r"\1pass  # ", line) for line in code.splitlines())
    try:
        tree = ast.parse(plain)
    except SyntaxError as err:
        raise ReleaseError(f"{where}: the student version is not valid Python ({err.msg}, line {err.lineno})") from None
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_function.update(getattr(n, "lineno", 0) for n in ast.walk(node) if n is not node)
    for out_line, src_line in stubs.items():
        if out_line not in in_function:
            raise ReleaseError(
                f"{where}, line {src_line}: {BEGIN!r} must sit inside a function body, so that the "
                "student notebook still runs top to bottom with the stub in place"
            )


@dataclass(frozen=True)
class Solution:
    """A gated exercise's code: as the book has it (markers kept), and as the student gets it."""

    code: str
    student_code: str


def _process(notebook: nbformat.NotebookNode, name: str) -> tuple[nbformat.NotebookNode, dict[str, Solution]]:
    """The student notebook, and the solution code of each gated exercise, in one pass."""
    nb = nbformat.from_dict(json.loads(json.dumps(notebook)))
    gated: str | None = None
    blocks: dict[str, list[tuple[str, str]]] = {}
    kept_cells = []
    noted: set[str] = set()
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index + 1}" + (f" (id {cell.id})" if cell.get("id") else "")
        kept_cells.append(cell)
        plain = cell.get("metadata", {}).get(SOLUTION_KEY)
        if plain is not None:  # a plain notebook's solution cell (tools/plain_notebooks.py)
            if gated is not None:
                raise ReleaseError(f"{where}: a plain solution cell inside the MyST solution of {gated}")
            blocks.setdefault(plain, [])
            if cell.cell_type == "code":
                original = cell.source
                cell.source = _student_code(original, plain, where)
                blocks[plain].append((original, cell.source))
                cell.outputs = []
                cell.execution_count = None
            elif cell.source.lstrip().startswith("#### Solution to Exercise") and "\n" not in cell.source.strip():
                kept_cells.pop()  # the heading of a code solution: the stub follows the statement
            elif plain in noted:
                kept_cells.pop()
            else:
                cell.source = REMOVED_NOTE
                noted.add(plain)
            continue
        if cell.cell_type == "markdown":
            before = gated
            cell.source, gated = _student_markdown(cell.source, gated, where)
            if gated is not None and gated != before:
                if gated in blocks:
                    raise ReleaseError(f"{where}: a second {{solution-start}} {gated}")
                blocks[gated] = []
        elif cell.cell_type == "code":
            original = cell.source
            cell.source = _student_code(original, gated, where)
            if gated is not None:
                blocks[gated].append((original, cell.source))
            cell.outputs = []
            cell.execution_count = None
    if gated is not None:
        raise ReleaseError(f"{name}: {{solution-start}} {gated} has no {{solution-end}}")
    nb.cells = kept_cells
    return nb, {
        label: Solution("\n\n".join(c for c, _ in cells), "\n\n".join(s for _, s in cells))
        for label, cells in blocks.items()
    }


def student_notebook(notebook: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """Return the student version of a chapter notebook (the input is not modified)."""
    return _process(notebook, name)[0]


def solutions(notebook: nbformat.NotebookNode, name: str = "notebook") -> dict[str, Solution]:
    """The code of each gated exercise (exercise id -> :class:`Solution`), for the tests."""
    return _process(notebook, name)[1]


@dataclass
class ReleaseReport:
    """What a release did, notebook by notebook."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    newer_available: list[str] = field(default_factory=list)  # kept, and the chapter has changed since
    updates: dict[str, str] = field(default_factory=dict)  # kept name -> path of the newer version
    manifest_problem: str = ""


def _cells_digest(nb: nbformat.NotebookNode) -> str:
    """Hash of what a student writes (cell types and sources); outputs and metadata do not count."""
    cells = [[cell.cell_type, cell.source] for cell in nb.cells]
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()


def _file_digest(path: Path) -> str | None:
    """The cells digest of a notebook file, or None if it cannot be read as a notebook."""
    try:
        return _cells_digest(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))
    except Exception:  # noqa: BLE001 - unreadable means "not as we wrote it": it is kept
        return None


def _read_manifest(path: Path) -> tuple[dict[str, list[str]], str]:
    """The manifest's digests per notebook, and a problem description if it could not be used."""
    if not path.exists():
        return {}, ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        notebooks = data["notebooks"]
        if data.get("format") != _MANIFEST_FORMAT or not all(
            isinstance(v, list) and all(isinstance(d, str) for d in v) for v in notebooks.values()
        ):
            raise ValueError("unknown format")
        return notebooks, ""
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        return {}, f"{path} could not be read ({err}); every existing notebook is treated as yours and kept"


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename it over the target."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; use the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_manifest(path: Path, notebooks: dict[str, list[str]]) -> None:
    """Record, per notebook, the digests that count as untouched by the student."""
    data = {"format": _MANIFEST_FORMAT, "notebooks": notebooks}
    _atomic_write(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


def _read_chapter(path: Path) -> nbformat.NotebookNode:
    """A chapter notebook, or a ReleaseError naming it if it cannot be read."""
    try:
        return nbformat.read(path, as_version=4)
    except Exception as err:  # noqa: BLE001 - JSON or schema errors: name the file
        raise ReleaseError(f"{path.name} is not a readable notebook ({type(err).__name__}: {err})") from None


def release(source_dir: Path, dest_dir: Path) -> ReleaseReport:
    """Write the student notebooks of ``source_dir`` into ``dest_dir`` without losing any edit.

    Raises
    ------
    ReleaseError
        If there is no notebook, or a chapter breaks the marker conventions (nothing is written).
    """
    source_dir, dest_dir = Path(source_dir), Path(dest_dir)
    paths = sorted(source_dir.glob("*.ipynb"))
    if not paths:
        raise ReleaseError(f"no notebooks found in {source_dir}")
    # Build every student notebook before writing any, so a broken chapter writes nothing.
    built = {p.name: student_notebook(_read_chapter(p), p.name) for p in paths}
    dest_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = dest_dir / MANIFEST
    manifest, problem = _read_manifest(manifest_path)
    report = ReleaseReport(manifest_problem=problem)
    to_write: dict[str, tuple[bytes, str]] = {}
    for name, nb in built.items():
        target, digest = dest_dir / name, _cells_digest(nb)
        if not target.exists():
            report.added.append(name)
        else:
            current = _file_digest(target)
            if current == digest:
                report.unchanged.append(name)
                continue
            if current is None or current not in manifest.get(name, []):
                report.kept.append(name)
                if name in manifest and digest not in manifest[name]:
                    report.newer_available.append(name)
                    newer = dest_dir / UPDATES / name
                    report.updates[name] = str(newer)
                    if _file_digest(newer) != digest:
                        newer.parent.mkdir(exist_ok=True)
                        _atomic_write(newer, nbformat.writes(nb).encode() + b"\n")
                continue
            report.updated.append(name)
        to_write[name] = (nbformat.writes(nb).encode() + b"\n", digest)
    if to_write:
        # While writing, both the old and the new version count as untouched, so an interruption
        # between a notebook and the manifest never makes an untouched notebook look edited.
        during = {**manifest, **{n: manifest.get(n, []) + [d] for n, (_, d) in to_write.items()}}
        _write_manifest(manifest_path, during)
        for name, (data, _) in to_write.items():
            _atomic_write(dest_dir / name, data)
    if to_write or problem or not manifest_path.exists():
        _write_manifest(manifest_path, {**manifest, **{n: [d] for n, (_, d) in to_write.items()}})
    return report


def main(argv: list[str] | None = None) -> int:
    """The command line: ``python tools/make_student.py SOURCE DEST``; prints what it did."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder of chapter notebooks (chapters/)")
    parser.add_argument("dest", type=Path, help="folder for the student notebooks (student/)")
    args = parser.parse_args(argv)
    try:
        report = release(args.source, args.dest)
    except ReleaseError as err:
        print(f"error: {err}. Nothing was written.", file=sys.stderr)
        return 2
    if report.manifest_problem:
        print(f"warning: {report.manifest_problem}")
    for label, names in [("added", report.added), ("updated", report.updated), ("up to date", report.unchanged)]:
        for name in names:
            print(f"{label:<10} {args.dest / name}")
    for name in report.kept:
        newer = " A newer version of this chapter is available." if name in report.newer_available else ""
        print(
            f"kept       {args.dest / name}: you have changed it, so it was not overwritten.{newer} "
            f"For a fresh copy, rename or delete it and run `make student` again."
        )
        if name in report.updates:
            print(
                f"newer      {report.updates[name]}: the new version of the chapter. What changed: "
                f"`nbdiff {args.dest / name} {report.updates[name]}` (nbdime; `.venv/bin/nbdiff` in "
                "this repository, `nbdiff-web` shows it in the browser)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
