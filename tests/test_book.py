"""Static checks of the book's sources: fast, no build, no kernel.

They catch what would otherwise surface as a warning deep in a long build, or not at all: a
chapter missing from the table of contents, a notebook committed with outputs, a Colab cell that
clones another repository than the launch buttons name (or that the book shows), a code line too
long for the page, a cell that only glues but is shown, a citation key missing from
``references.bib``, a figure without alt text, a chapter whose results the "What we measured"
page cannot find, a row of the claims page without its link, status or number.
"""

from __future__ import annotations

import ast
import re
import subprocess
import textwrap
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
# Glue keys start with the chapter's prefix (CONTRIBUTING.md); "What we measured" pastes
# <prefix>_results and <prefix>_runtime from every chapter.
PREFIXES = {
    "01_transfer_learning": "transfer",
    "02_autoencoders": "autoencoders",
    "03_compression": "compression",
    "04_restoration": "restoration",
    "05_generation": "generation",
    "06_pca": "pca",
}
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
GLUE_CALL = re.compile(r"""\bglue\(\s*(?:name\s*=\s*)?["']([^"']+)["']""")
GLUE_FIGURE = re.compile(r"^(`{3,}|:{3,})\{glue:figure\}[ \t]*(\S*)[ \t]*\n(.*?)^\1[ \t]*$", re.M | re.S)
CHAPTER_IDS = [path.stem for path in CHAPTERS]


def config() -> dict:
    """The book's ``_config.yml``."""
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def toc_files() -> list[str]:
    """Every file the table of contents lists (without suffix), the root first."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [entry["file"] for entry in part.get("chapters", [])]
    return files


def notebook(stem: str) -> nbformat.NotebookNode:
    """The chapter notebook ``chapters/<stem>.ipynb``."""
    return nbformat.read(ROOT / "chapters" / f"{stem}.ipynb", as_version=4)


def markdown_sources() -> dict[str, str]:
    """The text of every page of the book: Markdown files and the notebooks' Markdown cells."""
    texts = {}
    for name in toc_files():
        md = ROOT / f"{name}.md"
        if md.exists():
            texts[md.name] = md.read_text(encoding="utf-8")
    for path in CHAPTERS:
        cells = notebook(path.stem).cells
        texts[path.name] = "\n\n".join(c.source for c in cells if c.cell_type == "markdown")
    return texts


def bib_keys() -> list[str]:
    """The keys of ``references.bib`` in file order (duplicates kept, so a test can see them)."""
    text = (ROOT / "references.bib").read_text(encoding="utf-8")
    return re.findall(r"^@\w+\s*\{\s*([^,\s]+)\s*,", text, flags=re.M)


def canonical_setup_cell() -> str:
    """The Colab setup cell that CONTRIBUTING.md prescribes as every chapter's first code cell."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    match = re.search(r"first code cell, identical in every chapter.*?\n( *)```python\n(.*?)\n\1```", text, re.S)
    assert match, "CONTRIBUTING.md no longer shows the canonical first code cell in a ```python block"
    return textwrap.dedent(match.group(2))


def test_toc_lists_every_chapter_and_only_existing_files():
    listed = toc_files()
    chapters = [f"chapters/{stem}" for stem in CHAPTER_IDS]
    missing = [c for c in chapters if c not in listed]
    assert not missing, f"chapters not in _toc.yml (they would not be built): {missing}"
    absent = [f for f in listed if not any((ROOT / f"{f}{ext}").exists() for ext in (".md", ".ipynb"))]
    assert not absent, f"_toc.yml lists files that do not exist: {absent}"
    assert set(PREFIXES) == set(CHAPTER_IDS), "a chapter was added or renamed: update PREFIXES and measured.md"


@pytest.mark.parametrize("stem", CHAPTER_IDS)
def test_notebook_is_stored_without_outputs(stem):
    dirty = [
        i for i, cell in enumerate(notebook(stem).cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{stem}.ipynb has outputs or execution counts in cells {dirty}: clear them before committing"


@pytest.mark.parametrize("stem", CHAPTER_IDS)
def test_first_code_cell_is_the_colab_setup_naming_the_configured_repository(stem):
    url = config()["repository"]["url"].rstrip("/")
    canonical = canonical_setup_cell()
    example_url = re.search(r"https://\S+(?= /content/notes)", canonical).group(0)
    expected = canonical.replace(example_url, url)
    code = [c.source for c in notebook(stem).cells if c.cell_type == "code"]
    assert code, f"{stem}.ipynb has no code cell"
    assert code[0].strip() == expected.strip(), (
        f"{stem}.ipynb: the first code cell must be the Colab setup cell of CONTRIBUTING.md, cloning "
        f"repository.url from _config.yml ({url}).\nExpected:\n{expected}\nFound:\n{code[0]}"
    )
    first = next(c for c in notebook(stem).cells if c.cell_type == "code")
    assert "remove-cell" in first.metadata.get("tags", []), (
        f"{stem}.ipynb: the Colab setup cell must carry the tag 'remove-cell' (the notebook keeps it, "
        "the book does not show it)"
    )


MAX_CODE_LINE = 90


@pytest.mark.parametrize("stem", CHAPTER_IDS)
def test_code_lines_fit_the_page(stem):
    """No code cell scrolls sideways in the book: lines of at most MAX_CODE_LINE characters."""
    code = [(i, cell) for i, cell in enumerate(notebook(stem).cells) if cell.cell_type == "code"]
    long_lines = [
        f"cell {i}, line {j + 1} ({len(line)} characters): {line.strip()[:60]}"
        for i, cell in code[1:]  # not the Colab cell: the book does not show it, its URL is configured
        for j, line in enumerate(cell.source.splitlines())
        if len(line) > MAX_CODE_LINE
    ]
    assert not long_lines, (
        f"{stem}.ipynb: code lines longer than {MAX_CODE_LINE} characters:\n" + "\n".join(long_lines)
    )


def _glue_calls(statements: list[ast.stmt]) -> list[str] | None:
    """Names of the functions called by ``statements`` if they are only calls (or loops of calls)."""
    names = []
    for stmt in statements:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            func = stmt.value.func
            names.append(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
        elif isinstance(stmt, ast.For) and not stmt.orelse:
            inner = _glue_calls(stmt.body)
            if inner is None:
                return None
            names += inner
        else:
            return None
    return names


def _only_glues(source: str) -> bool:
    """Whether a code cell does nothing but glue values (and close figures) for the prose."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: not a glue-only cell
        return False
    names = _glue_calls(tree.body)
    return bool(names) and "glue" in names and set(names) <= {"glue", "close"}


@pytest.mark.parametrize("stem", CHAPTER_IDS)
def test_machinery_cells_are_hidden_in_the_book(stem):
    """The setup cell is folded (hide-input); a cell that only glues is not shown (remove-cell)."""
    cells = [c for c in notebook(stem).cells if c.cell_type == "code"]
    problems = []
    setup = next((c for c in cells if "import autoencoders as ae" in c.source), None)
    if setup is None:
        problems.append("no cell does `import autoencoders as ae`")
    elif not {"hide-input", "remove-input", "remove-cell"} & set(setup.metadata.get("tags", [])):
        problems.append("the setup cell (`import autoencoders as ae`) needs the tag 'hide-input'")
    for i, cell in enumerate(cells):
        if _only_glues(cell.source) and "remove-cell" not in cell.metadata.get("tags", []):
            problems.append(f"code cell {i + 1} only glues values; tag it 'remove-cell': {cell.source[:60]!r}")
    assert not problems, f"{stem}.ipynb:\n" + "\n".join(problems)


@pytest.mark.parametrize("stem", CHAPTER_IDS)
def test_chapter_opens_with_objectives_and_closes_with_summary_and_results(stem):
    cells = notebook(stem).cells
    first = cells[0].source if cells and cells[0].cell_type == "markdown" else ""
    assert re.search(r"^(\(\S+\)=\s*\n)?# \S", first), f"{stem}: the first cell must be Markdown starting with '# Title'"
    assert "learning objectives" in first.lower(), f"{stem}: the first cell must list the learning objectives"
    markdown = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    assert re.search(r"^#+ Summary", markdown, re.M), f"{stem}: no 'Summary' section"
    glued = {key for c in cells if c.cell_type == "code" for key in GLUE_CALL.findall(c.source)}
    prefix = PREFIXES[stem]
    for key in (f"{prefix}_results", f"{prefix}_runtime"):
        assert key in glued, f"{stem}: must glue {key!r} (the 'What we measured' page pastes it)"
    foreign = sorted(k for k in glued if not k.startswith(prefix + "_"))
    assert not foreign, f"{stem}: glue keys must start with {prefix + '_'!r}, found {foreign}"


def test_measured_page_pastes_every_chapters_results_and_runtime():
    text = (ROOT / "measured.md").read_text(encoding="utf-8")
    for stem, prefix in PREFIXES.items():
        doc = f"chapters/{stem}.ipynb"
        assert re.search(rf"\{{glue:any\}}[ \t]+{prefix}_results[ \t]*\n:doc:[ \t]+{re.escape(doc)}[ \t]*$", text, re.M), (
            f"measured.md must paste {prefix}_results with a glue:any directive and ':doc: {doc}'"
        )
        assert f"{doc}::{prefix}_runtime" in text, f"measured.md must paste `{doc}::{prefix}_runtime`"


def test_every_citation_key_is_in_references_bib():
    keys = bib_keys()
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    assert not duplicated, f"references.bib defines these keys more than once: {duplicated}"
    unknown = {
        page: sorted({key.strip() for group in CITE.findall(text) for key in group.split(",")} - set(keys))
        for page, text in markdown_sources().items()
    }
    unknown = {page: missing for page, missing in unknown.items() if missing}
    assert not unknown, f"{{cite}} keys missing from references.bib: {unknown}"


def test_papers_the_notes_rely_on_are_in_the_bibliography():
    """The works the chapters build on must be citable."""
    needed = {
        "balle2017end", "eckart1936approximation", "hinton2006reducing", "vincent2008extracting",
        "kingma2014auto", "halko2011finding", "yosinski2014transferable", "heusel2017gans",
    }
    missing = sorted(needed - set(bib_keys()))
    assert not missing, f"references.bib lacks {missing}"


def test_glued_figures_have_name_alt_text_and_caption():
    problems = []
    for page, text in markdown_sources().items():
        for _, key, body in GLUE_FIGURE.findall(text):
            options = dict(re.findall(r"^:(\w+):[ \t]*(.*)$", body, re.M))
            caption = re.sub(r"^:\w+:.*$", "", body, flags=re.M).strip()
            if not options.get("alt", "").strip():
                problems.append(f"{page}: figure {key!r} has no :alt: text")
            if not options.get("name", "").strip():
                problems.append(f"{page}: figure {key!r} has no :name: (it cannot be referenced)")
            if not caption:
                problems.append(f"{page}: figure {key!r} has no caption")
    assert not problems, "\n".join(problems)


def test_landing_page_links_every_chapter():
    intro = (ROOT / "intro.md").read_text(encoding="utf-8")
    unlinked = [stem for stem in CHAPTER_IDS if f"chapters/{stem}" not in intro]
    assert not unlinked, f"intro.md's map of the chapters does not link {unlinked}"


def test_launch_buttons_are_configured_from_one_repository_url():
    cfg = config()
    url = cfg["repository"]["url"]
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+/?", url), f"repository.url is not a GitHub URL: {url!r}"
    buttons = cfg["launch_buttons"]
    assert buttons.get("binderhub_url") and buttons.get("colab_url"), "Binder and Colab launch buttons must be on"
    assert (ROOT / "binder" / "requirements.txt").is_file(), "binder/requirements.txt (what Binder installs) is missing"


def test_offline_assets_are_built_not_committed():
    """MathJax comes from npm at install time; Jupyter Book's _static/ must not exist."""
    assert not (ROOT / "_static").exists(), "never create _static/: Jupyter Book injects every file in it into every page"
    assert config()["sphinx"]["config"]["mathjax_path"] == "mathjax/tex-chtml.js"
    tracked = subprocess.run(
        ["git", "ls-files", "_assets/mathjax"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not tracked, f"MathJax must not be committed (the Makefile installs it from npm): {tracked[:3]}"


LABEL = re.compile(r"^\(([^)\s]+)\)=\s*$|^:(?:label|name):[ \t]*(\S+)", re.M)
XREF = re.compile(r"\{(ref|numref|prf:ref|doc)\}`(?:[^`<]*<)?([^`>]+)>?`")
MD_LINK = re.compile(r"\]\((?:\.{1,2}/)*(?:chapters/)?(\d\d_\w+)\.(?:ipynb|md)[)#]")


def test_every_chapter_cross_references_another_chapter():
    """Chapters refer to each other ({ref}, {numref}, {prf:ref}, {doc} or a link): one book, not six."""
    texts = {stem: markdown_sources()[f"{stem}.ipynb"] for stem in CHAPTER_IDS}
    owner = {
        label: stem
        for stem, text in texts.items()
        for match in LABEL.finditer(text)
        for label in match.groups()
        if label
    }
    isolated = []
    for stem, text in texts.items():
        targets = set(MD_LINK.findall(text))
        for role, target in XREF.findall(text):
            if role == "doc":
                targets.add(Path(target).stem)
            elif target in owner:
                targets.add(owner[target])
        if not targets - {stem}:
            isolated.append(stem)
    assert not isolated, f"these chapters refer to no other chapter ({{ref}}, {{numref}}, {{prf:ref}} or {{doc}}): {isolated}"


STATUSES = ("holds", "holds in miniature", "does not hold here", "discussed, not computed")


def status_of(cell: str) -> str:
    """The status in a claims row's status cell, which may add a qualifier in parentheses:
    "holds in miniature (k = 2 only)" has the status "holds in miniature"."""
    text = cell.strip("*_ ")
    for status in sorted(STATUSES, key=len, reverse=True):
        if text == status or (text.startswith(status + " (") and text.endswith(")")):
            return status
    return text
GLUE_FSTRING = re.compile(r"""\bglue\(\s*(?:name\s*=\s*)?f["']([^"']+)["']""")


def glued_keys(stem: str) -> tuple[set[str], list[re.Pattern]]:
    """The glue keys of a chapter: literal ones, and patterns for keys built with f-strings."""
    code = [c.source for c in notebook(stem).cells if c.cell_type == "code"]
    literal = {k for source in code for k in GLUE_CALL.findall(source)}
    patterns = [
        re.compile("".join(".+" if part.startswith("{") else re.escape(part)
                           for part in re.split(r"(\{[^}]*\})", key)) + "$")
        for source in code for key in GLUE_FSTRING.findall(source)
    ]
    return literal, patterns
CROSS_GLUE = re.compile(r"\{glue(?::text)?\}`(chapters/[\w.]+\.ipynb)::(\w+)(?::[^`]*)?`")
DASH = "\N{EM DASH}"


def claims_rows() -> dict[str, list[list[str]]]:
    """The rows of every section's table on the claims page: {section title: [cells of a row]}."""
    sections: dict[str, list[list[str]]] = {}
    title = None
    for line in (ROOT / "claims.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
            sections[title] = []
        elif title and line.lstrip().startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells[0].lower().startswith("claim") or all(set(c) <= set(":- ") for c in cells):
                continue  # the header row and the alignment row
            sections[title].append(cells)
    return sections


def test_intro_points_to_the_claims_page():
    intro = (ROOT / "intro.md").read_text(encoding="utf-8")
    assert re.search(r"\{(?:ref|doc)\}`(?:[^`<]*<)?claims>?`", intro), "intro.md must link the claims page"
    assert "claims" in toc_files(), "_toc.yml must list claims.md"


def test_every_claim_row_is_linked_statused_and_measured():
    """Each row: claim, {ref} to a section of a chapter, one of the four statuses, and the measured
    number glued from the chapter (a dash, possibly with a remark, for a discussed claim)."""
    labels = {
        label
        for stem in CHAPTER_IDS
        for match in LABEL.finditer(markdown_sources()[f"{stem}.ipynb"])
        for label in match.groups()
        if label
    }
    glued = {f"chapters/{stem}.ipynb": glued_keys(stem) for stem in CHAPTER_IDS}
    sections = claims_rows()
    assert len(sections) == len(CHAPTER_IDS), f"claims.md needs one section per chapter, found {list(sections)}"
    problems = [f"section {title!r} has no row" for title, rows in sections.items() if not rows]
    for title, rows in sections.items():
        for cells in rows:
            where = f"{title}: {cells[0][:50]!r}"
            if len(cells) != 4:
                problems.append(f"{where}: {len(cells)} cells instead of 4 (claim, checked in, status, measured)")
                continue
            claim, link, status, measured = cells
            refs = re.findall(r"\{(?:ref|numref)\}`(?:[^`<]*<)?([^`>]+)>?`", link)
            if not claim:
                problems.append(f"{where}: no claim")
            if not refs:
                problems.append(f"{where}: no {{ref}} link to the section that checks it")
            problems += [f"{where}: {{ref}} to {r!r}, which no chapter defines" for r in refs if r not in labels]
            status = status_of(status)
            if status not in STATUSES:
                problems.append(f"{where}: status {status!r} is not one of {STATUSES} "
                                "(optionally followed by a qualifier in parentheses)")
                continue
            glues = CROSS_GLUE.findall(measured)
            if not glues and not measured.startswith(DASH):
                problems.append(f"{where}: 'measured' must be cross-document glue or {DASH}, found {measured!r}")
            elif not glues and status != "discussed, not computed":
                problems.append(f"{where}: a claim that {status} is measured: glue its number from the chapter")
            for doc, key in glues:
                literal, patterns = glued.get(doc, (set(), []))
                if key not in literal and not any(p.match(key) for p in patterns):
                    problems.append(f"{where}: {doc} does not glue {key!r}")
            for pasted in re.findall(r"\{glue:text\}`([^`]*::[^`]*)`", measured):
                if ":" not in pasted.split("::", 1)[1]:
                    problems.append(f"{where}: {{glue:text}}`{pasted}` needs a format (`...::key:d`, `:.2f` or `:s`): "
                                    "without one myst-nb reads the key wrongly")
    assert not problems, "claims.md:\n" + "\n".join(problems)


def test_tables_follow_the_books_one_style():
    """ae.results.Table: one number per cell, no -0.00 or inf, numbers right-aligned, caption and note."""
    from autoencoders.results import MISSING, Table, format_cell

    assert format_cell(-0.0001, "{:.2f}") == "0.00"
    assert format_cell(float("inf")) == format_cell(float("nan")) == format_cell(None) == MISSING
    assert format_cell((52.31, 1.4), "{:.1f}") == "52.3\N{NO-BREAK SPACE}\N{PLUS-MINUS SIGN}\N{NO-BREAK SPACE}1.4"
    assert format_cell(-1.5, "{:.1f}") == "\N{MINUS SIGN}1.5"
    assert format_cell(12345) == "12,345"
    table = Table(["codec", "PSNR (dB)", "remark"], caption="Quality <at 0.25 bpp>", fmt={"PSNR (dB)": "{:.2f}"},
                  note="A dash: not reached.")
    table.add("JPEG", 27.123, "baseline").add("learned", None, "ours")
    html = table._repr_html_()
    assert html.startswith("<div class='results'><table class='results-table'><caption>Quality &lt;at 0.25 bpp&gt;")
    assert "<th>codec</th><th class='num'>PSNR (dB)</th><th>remark</th>" in html, "numeric columns are marked"
    assert "<td class='num'>27.12</td>" in html and f"<td class='num'>{MISSING}</td>" in html
    assert "<p class='results-note'>A dash: not reached.</p>" in html
    with pytest.raises(ValueError, match="3 cells"):
        table.add("too short", 1.0)
