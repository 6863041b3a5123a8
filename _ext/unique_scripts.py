"""Drop repeated inline scripts from every page of the book.

sphinx-thebe and sphinx-togglebutton add inline configuration scripts with a filename of
``None``; Sphinx 7.4 later re-registers them with a filename of ``""``, so its own check for
duplicates misses them and every page declares ``const THEBE_JS_URL`` twice, which the browser
reports as a SyntaxError. Keeping the first of equal scripts removes the error.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _drop_repeated_scripts(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Keep the first of scripts with the same file (or inline body) and attributes."""
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", script) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app: Sphinx) -> dict[str, bool]:
    """Register the extension; it runs after every other page-context handler."""
    app.connect("html-page-context", _drop_repeated_scripts, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
