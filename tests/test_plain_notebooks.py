"""The plain notebooks (``notebooks/``, made by ``tools/plain_notebooks.py``): every notebook a
student opens (Colab, Binder, the download button, the student release) renders in any front end.

Without a build: the conversion of the fixture chapter, the student release made from a plain
notebook (stubs, notes, the grading layout "heading, answer cells, check cell"), the published URL.
With the built book (marker ``built``, run by ``make browser`` after the build): the committed
plain notebooks are what the book gives now, no notebook a student can open holds MyST (roles,
directive fences, ``(label)=`` targets), glued numbers equal the book's, the launch buttons open
the plain notebooks.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import nbformat
import pytest
import yaml

import make_student
import plain_notebooks as plain
from exercise_answers import FIXTURES

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
HTML = BUILD / "html"
PLAIN = ROOT / "notebooks"
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
FIXTURE = FIXTURES / "fixture_chapter.ipynb"

# What a front end without MyST shows as markup: a role, a directive fence, a (label)= target.
MYST_ROLE = re.compile(r"\{[a-zA-Z][\w:-]*\}`[^`]*`")
MYST_FENCE = re.compile(r"^\s*(`{3,}|:{3,})\s*\{[^}]*\}", re.M)
MYST_TARGET = re.compile(r"^\s*\([^()\s]+\)=\s*$", re.M)
CHECK = re.compile(r'^ae\.exercises\.check\("(?P<id>[\w-]+)", \w+\)\s*$')


def myst_places(nb: nbformat.NotebookNode) -> list[str]:
    """Every piece of MyST in a notebook's Markdown cells, as 'cell N: text'."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for pattern in (MYST_ROLE, MYST_FENCE, MYST_TARGET):
            found += [f"cell {index + 1}: {m.group(0).strip()[:60]!r}" for m in pattern.finditer(cell.source)]
    return found


def exercise_layout(nb: nbformat.NotebookNode) -> dict[str, int]:
    """Exercise id -> number of answer cells: the code cells between an exercise's heading cell
    ("### Exercise N.M: Title (`id`)") and its check cell (the layout the grading tool relies on)."""
    layout, current, answers = {}, None, 0
    for cell in nb.cells:
        heading = re.match(r"### Exercise \d+\.\d+: .+ \(`(?P<id>[\w-]+)`\)$", cell.source.split("\n")[0])
        if cell.cell_type == "markdown" and heading:
            current, answers = heading["id"], 0
        elif cell.cell_type == "code" and current:
            check = CHECK.match(cell.source.strip())
            if check:
                assert check["id"] == current, f"the check of {check['id']} follows the heading of {current}"
                layout[current], current = answers, None
            else:
                answers += 1
    return layout


class FakeBook:
    """The built book's facts for the fixture chapter (no build needed)."""

    base = "https://example-org.github.io/notes/"
    numbers = {"fx-centre": ("exercise", (7, 1)), "fx-count": ("exercise", (7, 2)),
               "fx-linear": ("exercise", (7, 3)), "fx-why": ("exercise", (7, 4)), "fig-x": ("figure", (7, 2))}
    citations = {"balle2017end": "Ballé et al. (2017)"}

    def label(self, name, where):
        return f"{self.base}chapters/fx.html#{name}", f"Title of {name}"

    def doc(self, docname, where):
        return f"{self.base}{docname}.html", f"Page {docname}"

    def number(self, label, where):
        return ".".join(map(str, self.numbers[label][1]))

    def glued(self, docname):
        return {"fx_n": {"text/plain": "np.float64(3.14159)"}, "fx_k": {"text/plain": "12345"},
                "fx_name": {"text/plain": "'Kodak'"}}


def fixture_plain() -> nbformat.NotebookNode:
    nb = nbformat.read(FIXTURE, as_version=4)
    nb.cells[0].source += (
        "\n\n(fx-target)=\n## A section\n\nSee {ref}`fx-target`, {numref}`fig-x`, {doc}`06_pca` and "
        "{cite}`balle2017end`; the rate is {glue:text}`fx_k:,d` bits, {glue:text}`fx_name:s`.\n\n"
        "```{note}\nA note with $x$.\n```\n\n```{prf:theorem} Eckart-Young\n:label: thm-x\n\nFor all $B$,\n\n"
        "$$\n\\|X - B\\| \\ge 0\n$$\n```"
    )
    return plain.plain_notebook(nb, "chapters/07_fixture", FakeBook())


def test_fixture_becomes_plain_markdown():
    nb = fixture_plain()
    assert myst_places(nb) == []
    first = nb.cells[0].source
    assert "See [Title of fx-target](https://example-org.github.io/notes/chapters/fx.html#fx-target)" in first
    assert "[Figure 7.2](https://example-org.github.io/notes/chapters/fx.html#fig-x)" in first
    assert "[Page chapters/06_pca](https://example-org.github.io/notes/chapters/06_pca.html)" in first
    assert "[Ballé et al. (2017)](https://example-org.github.io/notes/bibliography.html)" in first
    assert "the rate is 12,345 bits, Kodak." in first
    assert "> **Note.** A note with $x$." in first
    assert "**Theorem (Eckart-Young).**\n\nFor all $B$,\n\n$$" in first
    headings = [c.source.split("\n")[0] for c in nb.cells if c.metadata.get("exercise")]
    assert headings == [
        "### Exercise 7.1: Centre the data (`fx-centre`)", "### Exercise 7.2: Counting images (`fx-count`)",
        "### Exercise 7.3: A linear autoencoder (`fx-linear`)", "### Exercise 7.4: Why a bottleneck? (`fx-why`)",
    ]
    assert exercise_layout(nb) == {"fx-centre": 1, "fx-count": 1, "fx-linear": 2}
    # every code cell of the chapter is kept, in order, also the Colab cell
    chapter = nbformat.read(FIXTURE, as_version=4)
    assert [c.source for c in nb.cells if c.cell_type == "code"] == [c.source for c in chapter.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_an_unknown_role_stops_the_export():
    nb = nbformat.read(FIXTURE, as_version=4)
    nb.cells[0].source += "\n\nA {term}`bottleneck`."
    with pytest.raises(plain.ExportError, match=r"cell 1: \{term\}`bottleneck`: the exporter does not know the role"):
        plain.plain_notebook(nb, "chapters/07_fixture", FakeBook())


def test_student_release_from_a_plain_notebook(tmp_path):
    source, student = tmp_path / "notebooks", tmp_path / "student"
    source.mkdir()
    nbformat.write(fixture_plain(), source / "07_fixture.ipynb")
    assert make_student.release(source, student).added == ["07_fixture.ipynb"]
    nb = nbformat.read(student / "07_fixture.ipynb", as_version=4)
    text = json.dumps(nb)
    for gone in ["BEGIN SOLUTION", "X - X.mean(axis=0)", "Every one of the", "Then the decoder", "the set S is small",
                 "#### Solution to Exercise"]:
        assert gone not in text, f"{gone!r} survives in the student notebook"
    assert myst_places(nb) == []
    assert exercise_layout(nb) == {"fx-centre": 1, "fx-count": 1, "fx-linear": 2}
    assert text.count(make_student.REMOVED_NOTE) == 3  # fx-count, fx-linear (prose) and fx-why
    stubs = re.findall(r"Exercise ([\w-]+): write your solution here", text)
    assert stubs == ["fx-centre", "fx-count", "fx-linear", "fx-linear"]
    from test_release import execute, printed

    error, ran = execute(student / "07_fixture.ipynb", cwd=FIXTURES)
    assert error == ""
    for label in ["fx-centre", "fx-count", "fx-linear"]:
        assert f"[not attempted] {label} " in printed(ran)


def test_an_edited_notebook_gets_its_update_next_to_it(tmp_path, capsys):
    source, student = tmp_path / "notebooks", tmp_path / "student"
    source.mkdir()
    nbformat.write(fixture_plain(), source / "07_fixture.ipynb")
    make_student.main([str(source), str(student)])
    mine = nbformat.read(student / "07_fixture.ipynb", as_version=4)
    mine.cells[4].source += "\n# my work"
    nbformat.write(mine, student / "07_fixture.ipynb")
    edited = (student / "07_fixture.ipynb").read_bytes()
    chapter = nbformat.read(source / "07_fixture.ipynb", as_version=4)
    chapter.cells.append(nbformat.v4.new_markdown_cell("A fix of the chapter."))
    nbformat.write(chapter, source / "07_fixture.ipynb")
    capsys.readouterr()
    assert make_student.main([str(source), str(student)]) == 0
    out = capsys.readouterr().out
    assert (student / "07_fixture.ipynb").read_bytes() == edited, "the student's edit was overwritten"
    update = student / "updates" / "07_fixture.ipynb"
    assert "A fix of the chapter." in update.read_text()
    command = f"nbdiff {student / '07_fixture.ipynb'} {update}"
    assert f"newer      {update}: the new version of the chapter. What changed: `{command}`" in out, out
    nbdiff = ROOT / ".venv" / "bin" / "nbdiff"
    if nbdiff.exists():  # the one-line command works and shows the change
        shown = subprocess.run([str(nbdiff), "--no-color", str(student / "07_fixture.ipynb"), str(update)],
                               capture_output=True, text=True, timeout=120)
        assert "A fix of the chapter." in shown.stdout and "my work" in shown.stdout, shown.stdout + shown.stderr
    # an unchanged chapter leaves the update as it is; the edit is still never touched
    assert make_student.main([str(source), str(student)]) == 0
    assert (student / "07_fixture.ipynb").read_bytes() == edited


def test_make_clean_keeps_the_students_work(tmp_path):
    (tmp_path / "student").mkdir()
    (tmp_path / "student" / "01_mine.ipynb").write_text("{}")
    (tmp_path / "_build").mkdir()
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    done = subprocess.run(["make", "-C", str(tmp_path), "clean"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "student" / "01_mine.ipynb").read_text() == "{}", "make clean deleted student/"
    assert not (tmp_path / "_build").exists()
    assert "student/ kept" in done.stdout


def test_the_published_url_is_the_repository_s_github_pages():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert plain.published_url(config) == plain.github_pages_url(config["repository"]["url"])


def test_every_chapter_has_a_committed_plain_notebook():
    assert sorted(p.name for p in PLAIN.glob("*.ipynb")) == [p.name for p in CHAPTERS], (
        "notebooks/ must hold one plain notebook per chapter: `make book` (or `make plain` after it) writes them"
    )


def test_committed_plain_notebooks_have_no_myst_and_the_grading_layout():
    for path in sorted(PLAIN.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert myst_places(nb) == [], f"{path.name}: MyST left: {myst_places(nb)[:5]}"
        ids = [c.metadata["exercise"] for c in nb.cells if c.metadata.get("exercise")]
        checked = exercise_layout(nb)
        assert set(checked) <= set(ids)
        assert all(n >= 1 for n in checked.values()), f"{path.name}: an exercise without answer cells: {checked}"


# --- with the built book -----------------------------------------------------------------------------


def require_build():
    if not (HTML / "objects.inv").exists():
        pytest.fail("the book is not built: run `make book` first (`make test` builds it before these tests)")


@pytest.mark.built
def test_plain_notebooks_are_in_step_with_the_book(monkeypatch):
    """notebooks/ is what this build gives, but for timed values (plain.is_timed): any number there."""
    require_build()
    glue_value, timed = plain.Context.glue_value, "@@timed@@"
    monkeypatch.setattr(plain.Context, "glue_value", lambda self, content, where: (
        timed if plain.is_timed(content) else glue_value(self, content, where)))
    files = plain.export(ROOT)
    stale = [name for name, text in files.items()
             if not (PLAIN / name).exists() or not re.fullmatch(
                 r"[-+0-9.,]+".join(map(re.escape, text.split(timed))),
                 (PLAIN / name).read_text(encoding="utf-8"))]
    assert not stale, f"notebooks/ is not what the built book gives for {stale}: run `make plain` and commit notebooks/"


def served_notebooks() -> list[Path]:
    """Every .ipynb the built book serves (the download button's, and any linked one)."""
    return sorted(p for p in HTML.rglob("*.ipynb") if "mathjax" not in p.parts)


@pytest.mark.built
def test_no_myst_in_any_notebook_a_student_can_open(tmp_path):
    require_build()
    student = tmp_path / "student"
    make_student.release(PLAIN, student)
    opened = {f"notebooks/{p.name}": p for p in PLAIN.glob("*.ipynb")}
    opened |= {f"student/{p.name}": p for p in student.glob("*.ipynb")}
    opened |= {str(p.relative_to(ROOT)): p for p in served_notebooks()}
    linked = set()
    for page in HTML.rglob("*.html"):
        linked |= {m for m in re.findall(r'href="([^"#?]+\.ipynb)"', page.read_text(encoding="utf-8"))}
    for href in linked:  # links within the book (the download buttons) point to files it serves
        if not href.startswith("http"):
            assert any(str(p).endswith(href.lstrip("./").replace("../", "")) for p in served_notebooks()), href
    assert len(served_notebooks()) >= len(CHAPTERS)
    places = {name: myst_places(nbformat.read(p, as_version=4)) for name, p in opened.items()}
    total = sum(map(len, places.values()))
    assert total == 0, "MyST a plain front end shows as markup:\n" + "\n".join(
        f"{name}: {found[:3]}" for name, found in places.items() if found)


def page_text(html: str) -> str:
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", text)))


@pytest.mark.built
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_numbers_in_the_plain_notebook_equal_the_books(path):
    """Every glued number of a chapter's prose reads the same in the plain notebook and the page;
    every exercise heading has the book's number and title."""
    require_build()
    book = plain.Book(ROOT)
    ctx = plain.Context(book, f"chapters/{path.stem}")
    html = page_text((HTML / "chapters" / f"{path.stem}.html").read_text(encoding="utf-8"))
    nb = nbformat.read(PLAIN / path.name, as_version=4)
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    chapter = nbformat.read(path, as_version=4)
    values = {m["content"]: ctx.glue_value(m["content"], path.name)
              for c in chapter.cells if c.cell_type == "markdown"
              for m in plain.ROLE.finditer(c.source)
              if m["name"] == "glue:text" and not plain.is_timed(m["content"])}
    missing = [f"{k} = {v!r}" for k, v in values.items() if v not in html or v not in prose]
    assert not missing, f"glued values not shown alike in the book and the plain notebook: {missing[:5]}"
    for cell in nb.cells:
        if cell.metadata.get("exercise"):
            number, title = re.match(r"### Exercise (\S+): (.+) \(`", cell.source).groups()
            assert f"Exercise {number}" in html
            plain_title = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", title).replace("`", "")
            assert plain_title.replace("$", "") in html.replace("$", "") or "$" in title, (number, title)


