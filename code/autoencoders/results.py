"""Measured results: glue numbers into the book's prose and gather a chapter's results table.

Numbers in the text come from the computation through myst-nb's ``glue``; when the notebook runs
outside the book build (Jupyter, Colab) without myst-nb installed, gluing does nothing.

A glued figure appears in the book where the text pastes it (``{glue:figure}``, with its caption).
Outside the book build it is also shown in the cell, so a student running the notebook sees every
figure; the Makefile sets ``AE_BOOK_BUILD=1`` for the build, so the book does not show it twice.
"""

from __future__ import annotations

import html
import os
from typing import Any

import numpy as np


def glue(name: str, value: Any, display: bool = False) -> None:
    """Glue ``value`` under ``name`` for the book (myst-nb).

    Returns nothing, so a cell ending with a glue call shows no stray value in the book.
    """
    if not display and not os.environ.get("AE_BOOK_BUILD") and type(value).__name__ == "Figure":
        from IPython.display import display as show

        show(value)  # running the notebook: show the figure in its cell
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # running outside the book build: nothing to glue into
        return
    if isinstance(value, np.generic):  # myst-nb formats Python numbers, not NumPy scalars
        value = value.item()
    myst_glue(name, value, display=display)


class ResultsTable:
    """The table of what a chapter measured: one row per quantity, with the claim it supports.

    Renders as HTML in Jupyter and in the book; ``glue`` it under ``<chapter>_results`` so the
    "What we measured" page can show every chapter's table.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[tuple[str, str, str]] = []

    def add(self, quantity: str, value: Any, claim: str = "", fmt: str = "{:.4g}") -> "ResultsTable":
        """Add a row; numbers are formatted with ``fmt``, anything else with ``str``."""
        text = fmt.format(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
        self.rows.append((quantity, text, claim))
        return self

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><td>{html.escape(q)}</td><td style='text-align:right'>{html.escape(v)}</td>"
            f"<td>{html.escape(c)}</td></tr>"
            for q, v, c in self.rows
        )
        return (
            f"<table class='results-table'><caption>{html.escape(self.title)}</caption>"
            "<thead><tr><th>quantity</th><th>measured</th><th>what it shows</th></tr></thead>"
            f"<tbody>{cells}</tbody></table>"
        )

    def __repr__(self) -> str:
        width = max((len(q) for q, _, _ in self.rows), default=8)
        lines = [self.title] + [f"  {q:<{width}}  {v:>12}  {c}" for q, v, c in self.rows]
        return "\n".join(lines)
