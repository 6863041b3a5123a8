"""The built book in a real browser: every page renders offline, as a student would read it.

Headless Chromium (the Debian package, driven by Playwright) opens every page of ``_build/html``
served on 127.0.0.1 and checks that math is typeset by MathJax, every image loads, exercise
solutions are hidden until a reader clicks, no script fails, every internal link resolves, and
nothing is requested from any host but 127.0.0.1. Run after ``make book`` with ``make browser``.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest
import yaml
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build" / "html"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Folders of the build that hold assets and copies of the sources, not pages of the book.
NOT_PAGES = {"_static", "_sources", "_images", "_downloads", "build", "mathjax"}


def book_pages() -> list[str]:
    """Every HTML page of the built book, relative to ``_build/html``."""
    return sorted(
        path.relative_to(BUILD).as_posix()
        for path in BUILD.rglob("*.html")
        if not NOT_PAGES.intersection(path.relative_to(BUILD).parts[:-1])
    )


def require_build() -> None:
    """Fail with the command to run when there is no built book to test."""
    if not (BUILD / "index.html").is_file():
        pytest.fail(f"{BUILD} does not exist (or has no index.html): run `make book` first", pytrace=False)


class _Ids(HTMLParser):
    """Collect the ``id`` (and legacy ``name``) anchors of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key == "id" or (tag == "a" and key == "name"):
                self.ids.add(value or "")


@functools.lru_cache(maxsize=None)
def anchors(page: Path) -> frozenset[str]:
    """The anchors a link to ``page#fragment`` may point at."""
    parser = _Ids()
    parser.feed(page.read_text(encoding="utf-8"))
    return frozenset(parser.ids)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serve the build without logging every request to the test output."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The built book served on 127.0.0.1 on a free port; yields its base URL."""
    require_build()
    handler = functools.partial(_QuietHandler, directory=str(BUILD))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium from the Debian package (never a Playwright browser download)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser`, which installs the Debian package", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageVisit:
    """One page opened in a fresh browser context, with every problem the browser reported."""

    def __init__(self, browser, base: str, page_path: str) -> None:
        self.base = base
        self.path = page_path
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.external: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"console: {msg.text}"))
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on(
            "response",
            lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status} for {r.url}"),
        )
        self.page.goto(base + page_path, wait_until="load")
        self.page.wait_for_load_state("networkidle")

    def _route(self, route) -> None:
        """Let requests to 127.0.0.1 through; record and block anything else."""
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1" or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module", params=book_pages() if (BUILD / "index.html").is_file() else ["index.html"])
def visit(request, browser, server) -> Iterator[PageVisit]:
    """Each page of the book, opened once for the read-only checks (pytest groups them by page)."""
    opened = PageVisit(browser, server, request.param)
    yield opened
    opened.close()


def solution_pages() -> list[str]:
    """The pages that hold at least one exercise solution (a sphinx-exercise dropdown)."""
    return [p for p in book_pages() if 'class="solution dropdown' in (BUILD / p).read_text(encoding="utf-8")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One solution test per page with exercises (one failing test when there is none or no build)."""
    built = (BUILD / "index.html").is_file()
    if "solution_page" in metafunc.fixturenames:
        metafunc.parametrize("solution_page", (solution_pages() or [None]) if built else ["index.html"])


def test_page_renders_offline(visit: PageVisit) -> None:
    """Math typeset, images loaded, no script error, nothing fetched from the network."""
    page, page_path = visit.page, visit.path
    n_math = page.locator(".math").count()
    if n_math:
        try:
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20_000)
        except PlaywrightTimeout:
            pytest.fail(f"{page_path}: MathJax did not start within 20 s (is _assets/mathjax built? run `make book`)")
        page.evaluate("() => MathJax.startup.promise")
        untypeset = page.evaluate(
            "() => [...document.querySelectorAll('.math')]"
            ".filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 60))"
        )
        assert not untypeset, f"{page_path}: {len(untypeset)} of {n_math} formulas not typeset by MathJax: {untypeset[:3]}"
        tex_errors = page.locator("mjx-merror").count()
        assert tex_errors == 0, f"{page_path}: MathJax reports {tex_errors} TeX error(s)"
    # Images inside closed dropdowns may be lazy: make every one load before judging it.
    broken = page.evaluate(
        """async () => {
            const imgs = [...document.images];
            imgs.forEach(i => { i.loading = 'eager'; });
            await Promise.all(imgs.map(i => i.decode().catch(() => null)));
            return imgs.filter(i => i.naturalWidth === 0).map(i => i.getAttribute('src'));
        }"""
    )
    assert not broken, f"{page_path}: images that did not load: {broken}"
    missing_alt = page.evaluate(
        "() => [...document.querySelectorAll('figure img, .cell_output img')]"
        ".filter(i => !(i.getAttribute('alt') || '').trim()).map(i => i.getAttribute('src'))"
    )
    assert not missing_alt, f"{page_path}: figures without alt text: {missing_alt}"
    page.wait_for_load_state("networkidle")
    assert not visit.errors, f"{page_path}: the browser reported errors: {visit.errors}"
    assert not visit.external, f"{page_path}: requests to hosts other than 127.0.0.1: {visit.external}"


def test_internal_links_resolve(visit: PageVisit) -> None:
    """Every link that stays inside the book points at an existing page and anchor."""
    page_path = visit.path
    hrefs = visit.page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
    broken = []
    for href in hrefs:
        url, fragment = urldefrag(href)
        if not url.startswith(visit.base):
            continue  # external links (launch buttons, the repository) are not followed offline
        target = BUILD / unquote(url[len(visit.base):])
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{href} (no such file)")
        elif fragment and target.suffix == ".html" and unquote(fragment) not in anchors(target):
            broken.append(f"{href} (no anchor #{fragment})")
    assert not broken, f"{page_path}: broken internal links: {broken}"


def test_solutions_hidden_until_clicked(browser, server, request, solution_page: str | None) -> None:
    """A solution is hidden when the page opens and shown after a click on its toggle button."""
    assert solution_page is not None, "no page of the book has an exercise solution (sphinx-exercise dropdown)"
    visit = PageVisit(browser, server, solution_page)  # a fresh visit: this test clicks
    request.addfinalizer(visit.close)
    solutions = visit.page.locator("div.solution.dropdown")
    for i in range(solutions.count()):
        solution = solutions.nth(i)
        body = solution.locator(":scope > :not(.admonition-title)")
        assert body.count() > 0, f"{solution_page}: solution {i + 1} has no content"
        assert not any(body.nth(j).is_visible() for j in range(body.count())), (
            f"{solution_page}: solution {i + 1} is visible before the reader clicks"
        )
        solution.locator("button.toggle-button").first.click()
        body.first.wait_for(state="visible", timeout=5_000)
    assert solutions.count() > 0, f"{solution_page}: no solution found in the browser"
    assert not visit.errors, f"{solution_page}: the browser reported errors while toggling: {visit.errors}"


def chapter_pages() -> list[str]:
    """The built pages of the chapter notebooks."""
    return [p for p in book_pages() if p.startswith("chapters/")]


@pytest.mark.parametrize("chapter_page", chapter_pages() or ["chapters/(none built)"])
def test_launch_and_download_buttons_name_the_configured_repository(chapter_page: str) -> None:
    """Colab, Binder and the .ipynb download point at this chapter in repository.url."""
    require_build()
    repo = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]
    slug = urlsplit(repo["url"]).path.strip("/")
    notebook = chapter_page.removesuffix(".html") + ".ipynb"
    page = BUILD / chapter_page
    assert page.is_file(), f"no chapter page was built under {BUILD / 'chapters'}"
    html = page.read_text(encoding="utf-8")
    expected = {
        "Colab": f"https://colab.research.google.com/github/{slug}/blob/{repo['branch']}/{notebook}",
        "Binder": f"https://mybinder.org/v2/gh/{slug}/{repo['branch']}?urlpath=lab/tree/{notebook}",
        "download": f"../_sources/{notebook}",
    }
    missing = {name: url for name, url in expected.items() if f'href="{url}"' not in html}
    assert not missing, f"{chapter_page}: launch/download buttons missing or pointing elsewhere: {missing}"
