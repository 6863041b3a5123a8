"""Plain notebooks: every chapter as a notebook that any front end renders (JupyterLab, Colab, VS Code).

``python tools/plain_notebooks.py`` (run by ``make book`` after the build) writes
``notebooks/<chapter>.ipynb`` from ``chapters/<chapter>.ipynb`` and the built book, and copies them
over the ``.ipynb`` files the book's download button serves (``_build/html/_sources/chapters/``).
The book's MyST becomes plain Markdown:

- ``{glue:text}`key:fmt``` and ``{glue:}`key``` become the value the executed chapter glued
  (``_build/jupyter_execute``), formatted as the book formats it (myst-nb's own function); a
  ``{glue:}`` table fence becomes the table's Markdown;
- ``{ref}``, ``{doc}``, ``{numref}`` and ``{prf:ref}`` become links to the published book (the base
  URL is ``html.baseurl`` in ``_config.yml``; label addresses and titles come from the book's
  ``objects.inv``, figure and exercise numbers from its environment);
- ``{cite}`` becomes "Ballé et al. (2017)" linked to the bibliography page;
- an exercise becomes a Markdown section "### Exercise 3.1: Title (`id`)"; its answer cells follow,
  then its check cell ``ae.exercises.check("<id>", ...)``. The cells of a solution carry the tag
  ``solution`` and ``metadata.exercise_solution = "<id>"`` (``tools/make_student.py`` turns them into
  stubs and notes);
- a ``{glue:figure}`` becomes its caption, numbered, with a link to the figure in the book (the
  code cell that glues it draws it when the notebook runs, see ``ae.results.glue``);
- theorems, definitions, proofs, notes and admonitions become bold-titled paragraphs or
  blockquotes; ``(label)=`` targets and directive options are dropped.

Every code cell is kept as it is (also those the book removes, e.g. the Colab cell and cells that
only glue: later cells may use their variables), without outputs. Anything the exporter does not
know (an unknown role or directive) stops it with an error naming the notebook.

The notebooks are committed (Colab opens notebooks from a path in the repository);
``tests/test_plain_notebooks.py`` regenerates them from the built book and compares.
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
import shutil
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
SOLUTION_TAG = "solution"
SOLUTION_KEY = "exercise_solution"  # cell metadata: the id of the exercise whose solution the cell is
EXERCISE_KEY = "exercise"  # cell metadata of an exercise's heading cell: its id

#: Glued wall-clock measurements (a chapter's runtime, timed speed-ups and slopes): they differ from
#: build to build, so the tests that compare a plain notebook with another build leave them out.
TIMED_GLUE = re.compile(r"_(runtime|speedup|slope_[nd])$")
ROLE = re.compile(r"\{(?P<name>[a-zA-Z][\w:-]*)\}`(?P<content>[^`]*)`")
FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|:{3,})\{(?P<name>[^}]*)\}[ \t]*(?P<arg>.*?)\s*$")
TARGET = re.compile(r"^[ \t]*\((?P<label>[^()\s]+)\)=[ \t]*$")
DISPLAY_LABEL = re.compile(r"(\$\$)[ \t]*\((?P<label>[\w:.-]+)\)[ \t]*$", re.M)
FIGURE_TYPES = {"figure": "Figure", "table": "Table", "code-block": "Listing", "exercise": "Exercise"}
PROOF_KINDS = {
    "prf:theorem": "Theorem", "prf:definition": "Definition", "prf:lemma": "Lemma",
    "prf:proposition": "Proposition", "prf:corollary": "Corollary", "prf:example": "Example",
    "prf:remark": "Remark", "prf:algorithm": "Algorithm",
}
ADMONITIONS = {"note": "Note", "tip": "Tip", "hint": "Hint", "important": "Important",
               "warning": "Warning", "caution": "Caution", "attention": "Attention", "seealso": "See also"}


class ExportError(ValueError):
    """The chapter uses MyST the exporter cannot turn into plain Markdown; the message says where."""


def published_url(config: dict) -> str:
    """The book's published address (``html.baseurl``), ending in a slash."""
    url = (config.get("html") or {}).get("baseurl", "")
    if not url:
        raise ExportError("_config.yml has no html.baseurl (the address the book is published at)")
    return url.rstrip("/") + "/"


def github_pages_url(repository_url: str) -> str:
    """GitHub Pages' address for a repository: github.com/org/repo -> org.github.io/repo/."""
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?", repository_url)
    if not match:
        raise ValueError(f"not a GitHub repository URL: {repository_url}")
    return f"https://{match[1].lower()}.github.io/{match[2]}/"


# --- what the built book knows -------------------------------------------------------------------


@dataclass
class Book:
    """The facts the plain notebooks take from the built book: glued values, label URLs, numbers."""

    root: Path = ROOT
    build: Path = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.build = Path(self.build) if self.build else self.root / "_build"
        self.config = yaml.safe_load((self.root / "_config.yml").read_text(encoding="utf-8"))
        self.base = published_url(self.config)
        for needed in [self.build / "html" / "objects.inv", self.build / "jupyter_execute"]:
            if not needed.exists():
                raise ExportError(f"{needed} is missing: build the book first (`make book`)")

    @cached_property
    def inventory(self) -> dict[str, dict[str, tuple[str, str]]]:
        """objects.inv: {"std:label": {name: (uri, display name)}, ...}."""
        from sphinx.util.inventory import InventoryFile

        with open(self.build / "html" / "objects.inv", "rb") as f:
            inv = InventoryFile.load(f, "", lambda base, uri: uri)
        return {kind: {name: (item[2], item[3]) for name, item in items.items()} for kind, items in inv.items()}

    @cached_property
    def env(self):
        """Sphinx's build environment of the book (numbers of figures and exercises, labels)."""
        with open(self.build / ".doctrees" / "environment.pickle", "rb") as f:
            return pickle.load(f)

    @cached_property
    def numbers(self) -> dict[str, tuple[str, tuple[int, ...]]]:
        """Every numbered object of the book: label -> (kind, number), from Sphinx's environment."""
        env = self.env
        found: dict[str, tuple[str, tuple[int, ...]]] = {}
        for per_type in env.toc_fignumbers.values():
            for kind, ids in per_type.items():
                for ident, number in ids.items():
                    found[ident] = (kind, tuple(number))
        labels = env.domaindata["std"]["labels"]
        # an exercise or figure's label names its node id
        by_label = {}
        for label, (doc, node_id, _title) in labels.items():
            if node_id in found:
                by_label[label] = found[node_id]
        return {**found, **by_label}

    def label(self, name: str, where: str) -> tuple[str, str]:
        """URL and title of a label (a section, figure, exercise or theorem)."""
        for kind in ["std:label", "prf:proof", "prf:theorem", "prf:definition"]:
            hit = self.inventory.get(kind, {}).get(name)
            if hit:
                return self.base + hit[0], hit[1]
        for kind, items in self.inventory.items():
            if name in items:
                return self.base + items[name][0], items[name][1]
        proof = getattr(self.env, "proof_list", {}).get(name)  # sphinx-proof's theorems, definitions
        if proof:
            kind = proof["realtype"].title()
            number = ".".join(map(str, self.numbers.get(name, ("", ()))[1]))
            return f"{self.base}{proof['docname']}.html#{name}", f"{kind} {number}".strip()
        std = self.env.domaindata["std"]
        for table in ("labels", "anonlabels"):
            if name in std.get(table, {}):
                doc, anchor, *title = std[table][name]
                return f"{self.base}{doc}.html#{anchor}", (title[0] if title and title[0] else name)
        raise ExportError(f"{where}: the label {name!r} is not in the built book's objects.inv")

    def doc(self, docname: str, where: str) -> tuple[str, str]:
        """URL and title of a page."""
        hit = self.inventory.get("std:doc", {}).get(docname)
        if not hit:
            raise ExportError(f"{where}: the page {docname!r} is not in the built book's objects.inv")
        return self.base + hit[0], hit[1]

    def number(self, label: str, where: str) -> str:
        """'3.1' for the first numbered object of its kind in chapter 3."""
        if label not in self.numbers:
            raise ExportError(f"{where}: {label!r} has no number in the built book")
        return ".".join(map(str, self.numbers[label][1]))

    def glued(self, docname: str) -> dict[str, dict]:
        """The glued outputs of a chapter as the book executed it: key -> mime bundle."""
        cache = self.__dict__.setdefault("_glued", {})
        if docname not in cache:
            # myst-nb writes what a chapter glued next to the executed notebook
            path = self.build / "jupyter_execute" / f"{docname}.glue.json"
            if not path.exists():
                raise ExportError(f"{path} is missing: build the book first (`make book`)")
            data = json.loads(path.read_text(encoding="utf-8"))
            cache[docname] = {key: value.get("data", value) for key, value in data.items()}
        return cache[docname]

    @cached_property
    def citations(self) -> dict[str, str]:
        """key -> "Ballé et al. (2017)" (the book's author-year style, as a sentence uses it)."""
        from pybtex.database import parse_file
        from pybtex.richtext import Text

        def plain(latex: str) -> str:
            return str(Text.from_latex(latex)).replace("{", "").replace("}", "")

        out = {}
        for key, entry in parse_file(str(self.root / "references.bib")).entries.items():
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [plain(" ".join(p.prelast_names + p.last_names)) for p in people]
            who = (names[0] if len(names) == 1 else f"{names[0]} and {names[1]}" if len(names) == 2
                   else f"{names[0]} et al." if names else plain(entry.fields.get("title", key)))
            out[key] = f"{who} ({entry.fields.get('year', 'n.d.')})"
        return out


# --- MyST to plain Markdown ----------------------------------------------------------------------


@dataclass
class Context:
    """What converting one notebook needs: the book, the page's name, and where we are."""

    book: Book
    docname: str  # e.g. chapters/03_compression
    where: str = ""

    def _resolve_doc(self, target: str) -> str:
        target = target.strip().removesuffix(".md").removesuffix(".ipynb")
        if target.startswith("/"):
            return target.lstrip("/")
        parts = self.docname.split("/")[:-1] + target.split("/")
        out: list[str] = []
        for part in parts:
            if part == "..":
                out.pop()
            elif part != ".":
                out.append(part)
        return "/".join(out)

    def glue_value(self, content: str, where: str) -> str:
        """The text of ``{glue:text}`key:fmt``` as the book shows it."""
        from myst_nb.ext.glue.roles import format_plain_text

        docname = self.docname
        if "::" in content:
            doc, content = content.split("::", 1)
            docname = self._resolve_doc(doc)
        key, _, fmt = content.partition(":")
        bundle = self.book.glued(docname).get(key)
        if bundle is None or "text/plain" not in bundle:
            raise ExportError(f"{where}: nothing glued as {key!r} in {docname}")
        return format_plain_text(bundle["text/plain"], fmt)

    def role(self, match: re.Match) -> str:
        name, content = match["name"], match["content"]
        where = f"{self.where}: {{{name}}}`{content}`"
        text, _, target = _explicit(content)
        if name == "glue:text":
            return self.glue_value(content, where)
        if name in ("glue", "glue:"):
            return self.glue_value(content, where)
        if name == "ref":
            url, title = self.book.label(target, where)
            return f"[{text or title}]({url})"
        if name == "doc":
            url, title = self.book.doc(self._resolve_doc(target), where)
            return f"[{text or title}]({url})"
        if name == "numref":
            url, _ = self.book.label(target, where)
            kind, number = self.book.numbers.get(target, ("figure", ()))
            shown = ".".join(map(str, number))
            if text:
                label = text.replace("%s", shown).replace("{number}", shown)
            else:
                label = f"{FIGURE_TYPES.get(kind, kind.title())} {self.book.number(target, where)}"
            return f"[{label}]({url})"
        if name == "prf:ref":
            url, title = self.book.label(target, where)
            return f"[{text or title}]({url})"
        if name in ("cite", "cite:t", "cite:p", "cite:ps", "cite:ts"):
            bib = self.book.base + "bibliography.html"
            refs = []
            for key in [k.strip() for k in content.split(",")]:
                if key not in self.book.citations:
                    raise ExportError(f"{where}: {key!r} is not in references.bib")
                refs.append(f"[{self.book.citations[key]}]({bib})")
            joined = "; ".join(refs)
            return f"({joined})" if name.startswith("cite:p") else joined
        if name == "math":
            return f"${content}$"
        raise ExportError(f"{where}: the exporter does not know the role {{{name}}}")

    def inline(self, text: str) -> str:
        """Roles replaced, ``(label)=`` targets dropped, equation labels after ``$$`` dropped."""
        lines = [line for line in text.split("\n") if not TARGET.match(line)]
        text = ROLE.sub(self.role, "\n".join(lines))
        return DISPLAY_LABEL.sub(r"\1", text)


def _explicit(content: str) -> tuple[str, str, str]:
    """``text <target>`` -> (text, '', target); ``target`` -> ('', '', target)."""
    match = re.fullmatch(r"\s*(.*?)\s*<([^<>]+)>\s*", content, re.S)
    if match:
        return match[1], "", match[2]
    return "", "", content.strip()


@dataclass
class Directive:
    """A fenced directive: its name, argument, options and body lines."""

    name: str
    arg: str
    options: dict[str, str]
    body: str


def _split(source: str, where: str) -> list[str | Directive]:
    """A Markdown cell as a list of plain-text pieces and top-level directives."""
    lines = source.split("\n")
    pieces: list[str | Directive] = []
    text: list[str] = []
    i = 0
    while i < len(lines):
        match = FENCE_OPEN.match(lines[i])
        if not match:
            text.append(lines[i])
            i += 1
            continue
        fence = match["fence"]
        closing = re.compile(rf"^[ \t]{{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        nested = re.compile(rf"^[ \t]{{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\{{")
        depth, j = 0, i + 1
        while j < len(lines):
            if nested.match(lines[j]) and len(re.match(r"[ \t]*([`:]+)", lines[j])[1]) == len(fence):
                depth += 1
            elif closing.match(lines[j]):
                if depth == 0:
                    break
                depth -= 1
            j += 1
        else:
            raise ExportError(f"{where}: the directive {lines[i].strip()!r} is never closed")
        body = lines[i + 1 : j]
        options: dict[str, str] = {}
        while body and re.match(r"^\s*:[\w-]+:", body[0]):
            key, _, value = body.pop(0).strip()[1:].partition(":")
            options[key] = value.strip()
        while body and body[0].startswith("---"):  # YAML options block
            end = body.index("---", 1)
            options.update(yaml.safe_load("\n".join(body[1:end])) or {})
            body = body[end + 1 :]
        if text:
            pieces.append("\n".join(text))
            text = []
        pieces.append(Directive(match["name"], match["arg"], options, "\n".join(body).strip("\n")))
        i = j + 1
    if text:
        pieces.append("\n".join(text))
    return pieces


def _blockquote(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.split("\n"))


def _boxed(title: str, body: str) -> str:
    """A titled box: a blockquote, unless it holds display math (JupyterLab's math in a
    blockquote keeps the '>' of each line), then a bold title and the body as paragraphs."""
    if "$$" in body or "\\begin" in body:
        return f"**{title}**\n\n{body}"
    return _blockquote(f"**{title}** {body}" if "\n\n" not in body else f"**{title}**\n\n{body}")


@dataclass
class Converter:
    """Turns one chapter into a plain notebook."""

    ctx: Context
    cells: list = field(default_factory=list)
    solution: str | None = None  # the exercise whose solution block we are in
    exercise_titles: dict[str, str] = field(default_factory=dict)

    def _md(self, source: str, **meta) -> None:
        source = source.strip("\n")
        if not source.strip():
            return
        cell = nbformat.v4.new_markdown_cell(source)
        if self.solution is not None and EXERCISE_KEY not in meta:
            meta.setdefault(SOLUTION_KEY, self.solution)
        if SOLUTION_KEY in meta:
            cell.metadata["tags"] = [SOLUTION_TAG]
        cell.metadata.update(meta)
        self.cells.append(cell)

    def directive(self, d: Directive) -> str | None:
        """Plain Markdown for one directive (None: it starts or ends a cell of its own)."""
        where = f"{self.ctx.where}: {{{d.name}}} {d.arg}".rstrip()
        body = lambda: self.markdown_text(d.body)  # noqa: E731
        if d.name == "exercise":
            label = d.options.get("label")
            if not label:
                raise ExportError(f"{where}: an exercise needs a :label:")
            number = self.ctx.book.number(label, where)
            self.exercise_titles[label] = number
            title = self.ctx.inline(d.arg)
            heading = f"### Exercise {number}: {title} (`{label}`)" if title else f"### Exercise {number} (`{label}`)"
            self._md(f"{heading}\n\n{body()}", **{EXERCISE_KEY: label})
            return None
        if d.name == "solution-start":
            self.solution = d.arg.strip()
            number = self.exercise_titles.get(self.solution) or self.ctx.book.number(self.solution, where)
            self._md(f"#### Solution to Exercise {number}", **{SOLUTION_KEY: self.solution})
            return None
        if d.name == "solution-end":
            self.solution = None
            return None
        if d.name == "solution":
            label = d.arg.strip()
            number = self.exercise_titles.get(label) or self.ctx.book.number(label, where)
            self._md(f"#### Solution to Exercise {number}\n\n{body()}", **{SOLUTION_KEY: label})
            return None
        if d.name in ("glue", "glue:"):
            bundle = self.ctx.book.glued(self.ctx.docname).get(d.arg.strip())
            if bundle is None:
                raise ExportError(f"{where}: nothing glued under this name")
            for mime in ["text/markdown", "text/html"]:
                if mime in bundle:
                    return bundle[mime].strip()
            raise ExportError(f"{where}: the glued value is neither Markdown nor HTML")
        if d.name in ("glue:figure", "figure"):
            name = d.options.get("name")
            where_link = ""
            if name:
                url, _ = self.ctx.book.label(name, where)
                number = self.ctx.book.numbers.get(name)
                label = f"Figure {'.'.join(map(str, number[1]))}" if number else "Figure"
                where_link = f" ([in the book]({url}))"
            else:
                label = "Figure"
            drawn = "drawn by the code cell above" if d.name == "glue:figure" else "in the book"
            caption = body()
            return f"**{label}** ({drawn}{where_link}). {caption}".rstrip()
        if d.name in PROOF_KINDS:
            title = self.ctx.inline(d.arg)
            label = d.options.get("label")
            number = ".".join(map(str, self.ctx.book.numbers.get(label, ("", ()))[1])) if label else ""
            head = PROOF_KINDS[d.name] + (f" {number}" if number else "") + (f" ({title})" if title else "")
            return _boxed(f"{head}.", body())
        if d.name == "prf:proof":
            return f"*Proof.* {body()} $\\square$"
        if d.name == "admonition":
            return _boxed(self.ctx.inline(d.arg), body())
        if d.name in ADMONITIONS:
            return _boxed(f"{ADMONITIONS[d.name]}.", body())
        if d.name in ("math",):
            return f"$$\n{d.body}\n$$"
        if d.name in ("bibliography", "tableofcontents"):
            return f"[{d.name.title()} in the book]({self.ctx.book.base}{d.name}.html)"
        raise ExportError(f"{where}: the exporter does not know the directive {{{d.name}}}")

    def markdown_text(self, source: str) -> str:
        """Plain Markdown for text that may hold directives that do not start cells."""
        out = []
        for piece in _split(source, self.ctx.where):
            if isinstance(piece, str):
                out.append(self.ctx.inline(piece))
            else:
                text = self.directive(piece)
                if text is None:
                    raise ExportError(f"{self.ctx.where}: {{{piece.name}}} inside another directive")
                out.append(text)
        return "\n\n".join(p.strip("\n") for p in out if p.strip())

    def markdown_cell(self, source: str) -> None:
        pending: list[str] = []
        for piece in _split(source, self.ctx.where):
            if isinstance(piece, str):
                pending.append(self.ctx.inline(piece))
                continue
            if piece.name in ("exercise", "solution-start", "solution-end", "solution"):
                self._md("\n\n".join(p.strip("\n") for p in pending if p.strip()))
                pending = []
                self.directive(piece)
            else:
                pending.append(self.directive(piece) or "")
        self._md("\n\n".join(p.strip("\n") for p in pending if p.strip()))

    def code_cell(self, cell) -> None:
        new = nbformat.v4.new_code_cell(cell.source)
        tags = list(cell.metadata.get("tags", []))
        if self.solution is not None:
            new.metadata[SOLUTION_KEY] = self.solution
            tags.append(SOLUTION_TAG)
        if tags:
            new.metadata["tags"] = tags
        self.cells.append(new)


def plain_notebook(chapter: nbformat.NotebookNode, docname: str, book: Book) -> nbformat.NotebookNode:
    """The plain version of a chapter (the input is not modified)."""
    conv = Converter(Context(book, docname))
    for index, cell in enumerate(chapter.cells):
        conv.ctx.where = f"{docname}.ipynb, cell {index + 1}"
        if cell.cell_type == "markdown":
            conv.markdown_cell(cell.source)
        elif cell.cell_type == "code":
            conv.code_cell(cell)
        else:
            conv.cells.append(nbformat.from_dict(json.loads(json.dumps(cell))))
    if conv.solution is not None:
        raise ExportError(f"{docname}.ipynb: {{solution-start}} {conv.solution} has no {{solution-end}}")
    nb = nbformat.v4.new_notebook(cells=conv.cells)
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "plain_notebook": {"source": f"{docname}.ipynb", "book": book.base + docname + ".html"},
    }
    for i, cell in enumerate(nb.cells):  # stable ids: regenerating gives the same file
        cell.id = f"c{i:03d}"
    return nb


def dumps(nb: nbformat.NotebookNode) -> str:
    """The notebook's file content (what is committed)."""
    return nbformat.writes(nb) + "\n"


def is_timed(content: str) -> bool:
    """Whether the glue role content ``[doc::]key[:fmt]`` names a wall-clock measurement."""
    return bool(TIMED_GLUE.search(content.split("::", 1)[-1].partition(":")[0]))


def export(root: Path = ROOT, dest: Path | None = None, build: Path | None = None) -> dict[str, str]:
    """Plain notebooks of every chapter: file name -> file content (nothing is written)."""
    book = Book(root, build)
    out = {}
    for path in sorted((root / "chapters").glob("*.ipynb")):
        chapter = nbformat.read(path, as_version=4)
        out[path.name] = dumps(plain_notebook(chapter, f"chapters/{path.stem}", book))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=ROOT / "notebooks", help="where to write (notebooks/)")
    parser.add_argument("--build", type=Path, default=ROOT / "_build", help="the built book (_build/)")
    parser.add_argument("--no-serve", action="store_true", help="do not copy them into the built book")
    args = parser.parse_args(argv)
    try:
        files = export(ROOT, build=args.build)
    except ExportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    args.dest.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        target = args.dest / name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            print(f"wrote      {target}")
        served = args.build / "html" / "_sources" / "chapters" / name
        if not args.no_serve and served.parent.exists():
            shutil.copyfile(target, served)  # the book's download button gives the plain notebook
    return 0


if __name__ == "__main__":
    sys.exit(main())
