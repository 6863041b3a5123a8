"""The Colab and Binder buttons open the plain notebooks; the download button gives them.

A chapter ``chapters/NN_x.ipynb`` is written in MyST, which plain JupyterLab, Colab and VS Code
show as markup. ``notebooks/NN_x.ipynb`` is the same chapter as a plain notebook
(``tools/plain_notebooks.py``, committed). This extension points the theme's launch buttons at it
(html-page-context, after sphinx-book-theme has made them) and, when the build ends, copies it over
the ``_sources/chapters/NN_x.ipynb`` file that the download button serves.
"""

from __future__ import annotations

import shutil
from pathlib import Path

PLAIN = "notebooks"


def _plain(app, pagename: str) -> Path | None:
    if not pagename.startswith("chapters/"):
        return None
    path = Path(app.srcdir) / PLAIN / (pagename.split("/", 1)[1] + ".ipynb")
    return path if path.exists() else None


def _retarget(app, pagename, templatename, context, doctree) -> None:
    plain = _plain(app, pagename)
    if plain is None:
        return
    old, new = f"{pagename}.ipynb", f"{PLAIN}/{plain.name}"
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if button.get("url"):
                button["url"] = button["url"].replace(old, new)


def _serve(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for plain in sorted((Path(app.srcdir) / PLAIN).glob("*.ipynb")):
        served = Path(app.outdir) / "_sources" / "chapters" / plain.name
        if served.exists():
            shutil.copyfile(plain, served)


def setup(app):
    app.connect("html-page-context", _retarget, priority=900)
    app.connect("build-finished", _serve)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
