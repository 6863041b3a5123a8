"""The student release: chapter notebooks with solutions replaced by stubs.

``python -m autoencoders.release chapters student`` (``make student``) writes one student notebook
per chapter. In a code cell, the lines between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` become
one line raising ``NotImplementedError`` that names the exercise; a prose solution (a
``{solution}`` directive) is replaced by a short note. Outputs are cleared.

A student's work is never lost: a manifest (``.release.json`` in the destination) records the hash
of every notebook as it was written. A notebook whose content no longer matches is the student's
and is left alone; a notebook the student has not touched is updated; every write is atomic.
"""

from __future__ import annotations

import argparse
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
_SOLUTION_ID = re.compile(r"\{solution(?:-start)?\}\s*([\w:-]+)")
_PROSE_SOLUTION = re.compile(r"^\s*(`{3,}|:{3,})\{solution\}")
REMOVED_NOTE = "*The solution is not part of the student edition: work it out, then compare with the book.*"


class ReleaseError(ValueError):
    """A chapter notebook breaks the solution-marker conventions; the message says where."""


def _stub_code(source: str, exercise_id: str | None, where: str) -> str:
    """Replace every BEGIN/END SOLUTION region of a code cell by a NotImplementedError stub."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ReleaseError(f"{where}, line {number}: {BEGIN!r} inside another solution region")
            indent = line[: len(line) - len(line.lstrip())]
            if not indent:
                raise ReleaseError(
                    f"{where}, line {number}: {BEGIN!r} must sit inside a function body, so that the "
                    "student notebook still runs top to bottom with the stub in place"
                )
            if exercise_id is None:
                raise ReleaseError(f"{where}: solution code outside a {{solution-start}} ... {{solution-end}} block")
            out.append(f'{indent}raise NotImplementedError("Exercise {exercise_id}: write your solution here")')
            inside = True
        elif stripped == END:
            if not inside:
                raise ReleaseError(f"{where}, line {number}: {END!r} without a matching {BEGIN!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ReleaseError(f"{where}: {BEGIN!r} without a matching {END!r}")
    return "\n".join(out)


def student_notebook(notebook: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """Return the student version of a chapter notebook (the input is not modified)."""
    nb = nbformat.from_dict(json.loads(json.dumps(notebook)))
    current_id: str | None = None
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        if cell.cell_type == "markdown":
            if "{solution-end}" in cell.source:
                current_id = None
            match = _SOLUTION_ID.search(cell.source)
            if match:
                current_id = match.group(1)
            if _PROSE_SOLUTION.match(cell.source):
                cell.source = REMOVED_NOTE
        elif cell.cell_type == "code":
            if BEGIN in cell.source or END in cell.source:
                cell.source = _stub_code(cell.source, current_id, where)
            cell.outputs = []
            cell.execution_count = None
    return nb


@dataclass
class ReleaseReport:
    """What a release did, notebook by notebook."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename it over the target."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def release(source_dir: Path, dest_dir: Path) -> ReleaseReport:
    """Write the student notebooks of ``source_dir`` into ``dest_dir`` without losing any edit.

    Raises
    ------
    ReleaseError
        If a chapter breaks the marker conventions (nothing is written in that case).
    """
    source_dir, dest_dir = Path(source_dir), Path(dest_dir)
    notebooks = sorted(source_dir.glob("*.ipynb"))
    if not notebooks:
        raise ReleaseError(f"no notebooks found in {source_dir}")
    # Build every student notebook before writing any, so a broken chapter writes nothing.
    built = {
        p.name: nbformat.writes(student_notebook(nbformat.read(p, as_version=4), p.name)).encode() + b"\n"
        for p in notebooks
    }
    dest_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = dest_dir / MANIFEST
    manifest: dict[str, str] = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    report = ReleaseReport()
    for name, data in built.items():
        target = dest_dir / name
        if target.exists():
            current = _digest(target.read_bytes())
            if manifest.get(name) != current:
                report.kept.append(name)
                continue
            if current == _digest(data):
                report.unchanged.append(name)
                continue
        _atomic_write(target, data)
        manifest[name] = _digest(data)
        report.written.append(name)
    _atomic_write(manifest_path, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder of chapter notebooks (chapters/)")
    parser.add_argument("dest", type=Path, help="folder for the student notebooks (student/)")
    args = parser.parse_args(argv)
    try:
        report = release(args.source, args.dest)
    except ReleaseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for name in report.written:
        print(f"wrote      {args.dest / name}")
    for name in report.unchanged:
        print(f"up to date {args.dest / name}")
    for name in report.kept:
        print(
            f"kept       {args.dest / name}: you have changed it, so it was not overwritten. For a fresh "
            f"copy, rename or delete it and run `make student` again."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
