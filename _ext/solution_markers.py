"""Show solution code in the book without the ``# BEGIN SOLUTION`` / ``# END SOLUTION`` lines.

The notebooks mark the code a student writes with these two comment lines: ``make student``
replaces what lies between them by a stub. A reader of the book needs the code, not the markers,
so this extension removes the two lines from every code cell the book shows (the notebooks, and
the ``.ipynb`` a reader downloads, keep them). The indentation of the code between them is kept.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.application import Sphinx

MARKER = re.compile(r"^[ \t]*# (?:BEGIN|END) SOLUTION[ \t]*$")


def strip_markers(code: str) -> str:
    """``code`` without its solution marker lines (other lines unchanged)."""
    lines = code.split("\n")
    kept = [line for line in lines if not MARKER.match(line)]
    return code if len(kept) == len(lines) else "\n".join(kept)


def _is_cell_source(block: nodes.literal_block) -> bool:
    """Whether ``block`` is the source of a notebook code cell (not a code block in the prose)."""
    parent = block.parent
    return parent is not None and (
        parent.get("nb_element") == "cell_code_source" or "cell_input" in parent.get("classes", [])
    )


def _strip_solution_markers(app: Sphinx, doctree: nodes.document) -> None:
    """Remove the marker lines from every code cell source of the page being read."""
    for block in list(doctree.findall(nodes.literal_block)):
        if not _is_cell_source(block):
            continue
        text = block.astext()
        stripped = strip_markers(text)
        if stripped != text:
            new = block.copy()  # same attributes (language, classes), new text
            new += nodes.Text(stripped)
            new.rawsource = stripped
            block.replace_self(new)


def setup(app: Sphinx) -> dict[str, bool]:
    """Register the extension with Sphinx."""
    app.connect("doctree-read", _strip_solution_markers)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
