"""The package as a student installs it: every module is imported by ``import autoencoders``, and
everything the chapters and the package import is the standard library or a declared runtime
dependency (``[project].dependencies`` in pyproject.toml), which is all that Binder and
``pip install -e .`` install."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

import autoencoders as ae

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "code" / "autoencoders"
CHAPTERS = sorted((REPO / "chapters").glob("*.ipynb"))
MODULES = sorted(PACKAGE.rglob("*.py"))


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_distributions() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {_canonical(Requirement(dep).name) for dep in project["dependencies"]}


def _optional(tree: ast.AST) -> set[int]:
    """Ids of the nodes inside ``try: ... except ImportError`` (an import the code can do without)."""
    optional = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            h.type is not None and {n.id for n in ast.walk(h.type) if isinstance(n, ast.Name)}
            & {"ImportError", "ModuleNotFoundError"}
            for h in node.handlers
        ):
            optional.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return optional


def imported_modules(source: str) -> set[str]:
    """Top-level names of the absolute imports in Python source that the code cannot do without
    (IPython ``%``/``!`` lines and imports guarded by ``except ImportError`` are skipped)."""
    tree = ast.parse("\n".join(re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in source.splitlines()))
    optional = _optional(tree)
    names = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def undeclared(source: str, where: str) -> list[str]:
    """The imports of ``source`` that are neither the standard library, nor ``autoencoders``, nor
    provided by a declared runtime dependency."""
    declared, providers = declared_distributions(), packages_distributions()
    problems = []
    for name in sorted(imported_modules(source)):
        if name in sys.stdlib_module_names or name == "autoencoders":
            continue
        dists = {_canonical(d) for d in providers.get(name, [])}
        if not dists & declared:
            found = f"it comes from {', '.join(sorted(dists))}" if dists else "no installed distribution provides it"
            problems.append(
                f"{where} imports {name}, which is not a runtime dependency ({found}); use a declared "
                "dependency instead, or add it to [project].dependencies in pyproject.toml"
            )
    return problems


def code_of(notebook: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    return "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_a_chapter_imports_only_the_standard_library_and_runtime_dependencies(path):
    problems = undeclared(code_of(path), path.name)
    assert not problems, "\n".join(problems)


def test_the_package_imports_only_the_standard_library_and_runtime_dependencies():
    problems = [p for path in MODULES for p in undeclared(path.read_text(), str(path.relative_to(REPO)))]
    assert not problems, "\n".join(problems)


def test_an_undeclared_import_is_found():
    source = (
        "import os\nimport torch.nn.functional as F\nimport pandas as pd\nfrom mlxtend.data import x\n"
        "%matplotlib inline\ntry:\n    import myst_nb\nexcept ImportError:\n    pass\n"
    )
    problems = undeclared(source, "fixture.ipynb")
    assert [p.split(",")[0] for p in problems] == [
        "fixture.ipynb imports mlxtend", "fixture.ipynb imports pandas"
    ], problems
    assert "it comes from pandas" in problems[1]


def test_import_autoencoders_imports_every_module_of_the_package():
    """Nothing is loaded behind the reader's back: ``__init__`` names every module it has."""
    modules = {p.stem if p.name != "__init__.py" else p.parent.name for p in PACKAGE.iterdir()
               if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    assert sorted(ae.__all__) == sorted(modules | {"device", "seed_everything"})
    checks = {p.stem for p in (PACKAGE / "exercises").glob("*.py")} - {"__init__", "core"}
    missing = sorted(c for c in checks if f"autoencoders.exercises.{c}" not in sys.modules)
    assert not missing, f"autoencoders/exercises/__init__.py does not import the checks of {missing}"
