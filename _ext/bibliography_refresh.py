"""Rewrite the bibliography page whenever another page changes.

sphinxcontrib-bibtex numbers the anchors of the bibliography's entries (``#id30``) when it reads
the page with the ``{bibliography}`` directive. An incremental build that re-reads only a changed
chapter gives that chapter's new citations anchors the unchanged bibliography page does not have,
so their links break. Re-reading the bibliography page with every changed page keeps them in step;
it costs a fraction of a second.
"""

from __future__ import annotations

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment


def _bibliography_pages(env: BuildEnvironment) -> list[str]:
    """The pages that hold a ``{bibliography}`` directive (their source mentions it)."""
    pages = []
    for docname in env.found_docs:
        path = env.doc2path(docname)
        try:
            text = open(path, encoding="utf-8").read()
        except OSError:
            continue
        if "{bibliography}" in text:
            pages.append(docname)
    return pages


def _outdate_bibliography(app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str],
                          removed: set[str]) -> list[str]:
    """Mark the bibliography pages for re-reading when any other page is re-read."""
    if not (added or changed or removed):
        return []
    return [page for page in _bibliography_pages(env) if page not in added | changed]


def setup(app: Sphinx) -> dict[str, bool]:
    """Register the extension with Sphinx."""
    app.connect("env-get-outdated", _outdate_bibliography)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
