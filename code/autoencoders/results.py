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
from typing import Any, Sequence

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


MISSING = "\N{EM DASH}"


def format_cell(value: Any, fmt: str = "{:.4g}") -> str:
    """One table cell as text: one number per cell, never ``-0.00``, ``inf`` or ``nan``.

    ``None`` and non-finite numbers show as a dash (say what it means in the table's note);
    a ``(mean, spread)`` pair shows as ``mean ± spread``, both with ``fmt``; integers get
    thousands separators; strings are kept as they are.
    """
    if value is None:
        return MISSING
    if isinstance(value, tuple) and len(value) == 2:
        mean, spread = (format_cell(v, fmt) for v in value)
        return f"{mean}\N{NO-BREAK SPACE}\N{PLUS-MINUS SIGN}\N{NO-BREAK SPACE}{spread}"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return MISSING
        text = fmt.format(float(value))
        if text.startswith("-") and not any(c in "123456789" for c in text.split("e")[0]):
            text = text[1:]  # a value that rounds to zero has no sign
        return text.replace("-", "\N{MINUS SIGN}")
    return str(value)


class Table:
    """A table a reader sees, in the book's one style (Jupyter, the book, and ``print``).

    Every table of results in the chapters is one of these: columns with a header, rows of
    cells formatted by :func:`format_cell` (numbers right-aligned), a caption saying what the
    table shows and an optional note under it (for example what a dash means).

    Parameters
    ----------
    columns
        Column headers; the first column names the rows.
    caption
        What the table shows, with units (``"PSNR (dB) on 500 test digits"``).
    fmt
        Format of numbers: one string for every column, or a dict from column header to format.
    note
        A sentence shown under the table.
    """

    def __init__(self, columns: Sequence[str], caption: str = "", fmt: str | dict[str, str] = "{:.4g}",
                 note: str = "") -> None:
        self.columns = list(columns)
        self.caption = caption
        self.fmt = fmt
        self.note = note
        self.rows: list[list[str]] = []
        self.numeric: list[list[bool | None]] = []  # per cell: a number, text, or None (a dash)

    @classmethod
    def from_mapping(cls, mapping: dict[str, dict[str, Any]], row_header: str = "", **kwargs) -> "Table":
        """A table from ``{row name: {column header: value}}`` (the columns of the first row)."""
        if not mapping:
            raise ValueError("from_mapping needs at least one row")
        headers = list(next(iter(mapping.values())))
        table = cls([row_header, *headers], **kwargs)
        for name, row in mapping.items():
            table.add(name, *(row.get(h) for h in headers))
        return table

    def add(self, *cells: Any, fmt: str | None = None) -> "Table":
        """Add one row (one value per column); ``fmt`` overrides the number format of this row."""
        if len(cells) != len(self.columns):
            raise ValueError(f"a row of this table has {len(self.columns)} cells ({', '.join(self.columns)}), "
                             f"got {len(cells)}")
        formats = [fmt or (self.fmt.get(h, "{:.4g}") if isinstance(self.fmt, dict) else self.fmt)
                   for h in self.columns]
        self.rows.append([format_cell(c, f) for c, f in zip(cells, formats)])
        self.numeric.append([None if c is None else not isinstance(c, str) for c in cells])
        return self

    def _repr_html_(self) -> str:
        # "n = 10" never breaks around its "=" on a narrow screen.
        def esc(text: str) -> str:
            return html.escape(text).replace(" = ", "\N{NO-BREAK SPACE}=\N{NO-BREAK SPACE}")

        # A column of mostly numbers is right-aligned, header, dashes and all (class "num"); a column
        # of mostly text stays on the left, its dashes too.
        numeric_column = [j > 0 and sum(row[j] is True for row in self.numeric)
                          >= max(1, sum(row[j] is False for row in self.numeric))
                          for j in range(len(self.columns))]
        head = "".join(f"<th class='num'>{esc(h)}</th>" if numeric_column[j] else f"<th>{esc(h)}</th>"
                       for j, h in enumerate(self.columns))
        body = "".join(
            "<tr>" + "".join(f"<td class='num'>{esc(c)}</td>" if numeric_column[j] else f"<td>{esc(c)}</td>"
                             for j, c in enumerate(row)) + "</tr>"
            for row in self.rows
        )
        caption = f"<caption>{esc(self.caption)}</caption>" if self.caption else ""
        note = f"<p class='results-note'>{html.escape(self.note)}</p>" if self.note else ""
        return (f"<div class='results'><table class='results-table'>{caption}<thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table>{note}</div>")

    def __repr__(self) -> str:
        rows = [self.columns, *self.rows]
        widths = [max(len(r[j]) for r in rows) for j in range(len(self.columns))]
        lines = [self.caption] if self.caption else []
        lines += ["  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths)))
                  for r in rows]
        return "\n".join(lines + ([self.note] if self.note else []))


class ResultsTable(Table):
    """The table of what a chapter measured: one row per quantity, with the claim it supports.

    ``glue`` it under ``<chapter>_results`` so the "What we measured" page shows every chapter's
    table.
    """

    def __init__(self, title: str, note: str = "") -> None:
        super().__init__(["quantity", "measured", "what it shows"], caption=title, note=note)

    def add(self, quantity: str, value: Any, claim: str = "", fmt: str = "{:.4g}") -> "ResultsTable":
        """Add a row; numbers are formatted with ``fmt`` (see :func:`format_cell`)."""
        return super().add(quantity, value, claim, fmt=fmt)
