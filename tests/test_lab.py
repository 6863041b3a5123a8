"""A plain student notebook in JupyterLab, in a real browser (marker ``browser``; ``make browser``).

JupyterLab (the one ``make lab`` starts; a dev dependency) serves the student release of the plain
notebooks (``notebooks/``); headless Debian Chromium, driven by Playwright, opens one. An exercise
statement must render as a heading and text with typeset math (a MathJax element) and no MyST
markup. The screenshot is saved as ``_build/lab_exercise.png``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

import make_student

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOT = ROOT / "_build" / "lab_exercise.png"
PLAIN = ROOT / "notebooks"
MARKUP = re.compile(r"\{[a-zA-Z][\w:-]*\}`|```|:::|^\s*\([^()\s]+\)=\s*$|:label:", re.M)

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exercise_with_math(folder: Path) -> tuple[str, str]:
    """(notebook name, heading text) of the first exercise whose statement has inline math."""
    for path in sorted(folder.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.metadata.get("exercise") and re.search(r"\$[^$\n]+\$", cell.source):
                return path.name, cell.source.split("\n")[0].removeprefix("### ")
    raise AssertionError(f"no exercise statement with math in {folder}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 serving a fresh student release; yields (base URL, folder)."""
    lab_bin = Path(sys.executable).parent / "jupyter-lab"
    if not lab_bin.exists():
        pytest.fail("JupyterLab is missing: `make install` installs it (a dev dependency)", pytrace=False)
    folder = tmp_path_factory.mktemp("student")
    make_student.release(PLAIN, folder)
    settings = tmp_path_factory.mktemp("lab-settings")
    # Render every cell (JupyterLab only puts cells near the viewport in the page by default).
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port = _free_port()
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(settings)}
    proc = subprocess.Popen(
        [str(lab_bin), "--allow-root", "--no-browser", f"--port={port}", "--IdentityProvider.token=",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={folder}", "--ServerApp.password="],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(base + "api", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"JupyterLab exited: {proc.stderr.read()[-2000:]}")
                time.sleep(0.5)
        yield base, folder
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_an_exercise_renders_as_text_with_typeset_math_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser`, which installs the Debian package", pytrace=False)
    base, folder = lab
    name, heading = exercise_with_math(folder)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}lab/tree/{name}", wait_until="domcontentloaded")
            page.wait_for_selector(".jp-Notebook .jp-MarkdownCell", timeout=120_000)
            title = heading.split(" (`")[0]  # the id in backticks renders as code
            cell = page.locator(".jp-MarkdownCell", has=page.get_by_role("heading", name=re.compile(re.escape(title))))
            try:
                cell.first.wait_for(timeout=60_000)
            except Exception:
                SCREENSHOT.parent.mkdir(exist_ok=True)
                page.screenshot(path=str(SCREENSHOT))
                raise
            cell = cell.first
            cell.evaluate("e => e.scrollIntoView({block: 'start'})")
            cell.locator("mjx-container").first.wait_for(timeout=60_000)  # MathJax has typeset the math
            text = cell.inner_text()
            maths = cell.locator("mjx-container").count()
            whole = page.locator(".jp-Notebook").inner_text()
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
        finally:
            browser.close()
    assert heading.split(" (`")[0] in text, f"the heading {heading!r} is not shown as text: {text[:300]!r}"
    assert maths >= 1, "no typeset math (mjx-container) in the exercise statement"
    assert "$" not in text, f"math left as $...$ source: {text[:300]!r}"
    assert not MARKUP.search(text), f"markup in the rendered statement: {MARKUP.search(text)[0]!r}"
    assert not MARKUP.search(whole), f"markup in the rendered notebook: {MARKUP.search(whole)[0]!r}"
