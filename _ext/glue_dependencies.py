"""Rebuild a page that pastes glue from another notebook when that notebook changes.

myst-nb resolves cross-document glue (``{glue:text}`doc.ipynb::key` ``, ``:doc:`` option) when a
page is written, but does not tell Sphinx that the page depends on the other notebook, so an
incremental (cached) build keeps showing the old numbers on, e.g., the "What we measured" page.
This extension records that dependency.
"""

from __future__ import annotations

from docutils import nodes
from myst_nb.ext.glue.utils import PendingGlueReference
from sphinx.application import Sphinx


def _note_glue_sources(app: Sphinx, doctree: nodes.document) -> None:
    """Make the page being read depend on every notebook it pastes glue from."""
    env = app.env
    for refdoc in {node.refdoc for node in doctree.findall(PendingGlueReference)}:
        env.note_dependency(str(env.doc2path(refdoc)))


def setup(app: Sphinx) -> dict[str, bool]:
    """Register the extension with Sphinx."""
    app.connect("doctree-read", _note_glue_sources)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
