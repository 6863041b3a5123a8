"""The built book in a real browser: every page renders offline, as a student would read it.

Headless Chromium (the Debian package, driven by Playwright) opens every page of ``_build/html``
served on 127.0.0.1 and checks that math is typeset by MathJax, every image loads, exercise
solutions are hidden until a reader clicks, no script fails, every internal link resolves, and
nothing is requested from any host but 127.0.0.1. It also reads each page as a reader would:

- on a phone (390 pixels wide) nothing but code scrolls sideways or is cut off, and every table
  fits the text column;
- in dark mode every results table (caption, header, cells, note) has text that contrasts with
  its background (WCAG ratio of at least 4.5);
- on a laptop (1280 pixels wide) no figure is shrunk below 80 % of its natural width, so text
  drawn at the figure style's font size stays readable, and no code cell scrolls sideways;
- the solution markers of the notebooks (``# BEGIN SOLUTION``) never reach the page.

Run after ``make book`` with ``make browser``.
"""

from __future__ import annotations

import functools
import http.server
import threading
import re
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

    def __init__(self, browser, base: str, page_path: str, width: int = 1280, scheme: str = "light") -> None:
        self.base = base
        self.path = page_path
        self.context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
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
    """Colab and Binder open this chapter's plain notebook (notebooks/) in repository.url; the
    download button gives the .ipynb the build serves (the plain notebook, see _ext/plain_launch.py)."""
    require_build()
    repo = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]
    slug = urlsplit(repo["url"]).path.strip("/")
    notebook = chapter_page.removesuffix(".html") + ".ipynb"
    plain = "notebooks/" + notebook.split("/", 1)[1]
    page = BUILD / chapter_page
    assert page.is_file(), f"no chapter page was built under {BUILD / 'chapters'}"
    html = page.read_text(encoding="utf-8")
    expected = {
        "Colab": f"https://colab.research.google.com/github/{slug}/blob/{repo['branch']}/{plain}",
        "Binder": f"https://mybinder.org/v2/gh/{slug}/{repo['branch']}?urlpath=lab/tree/{plain}",
        "download": f"../_sources/{notebook}",
    }
    missing = {name: url for name, url in expected.items() if f'href="{url}"' not in html}
    assert not missing, f"{chapter_page}: launch/download buttons missing or pointing elsewhere: {missing}"
    served = BUILD / "_sources" / notebook
    assert served.read_bytes() == (ROOT / plain).read_bytes(), f"{chapter_page}: the download is not {plain}"


# ---- The page as a reader sees it: phone width, dark mode, figure sizes, no machinery ----

PHONE = 390
MIN_FIGURE_SCALE = 0.8
MIN_CONTRAST = 4.5
SOLUTION_MARKER = re.compile(r"#\s*(BEGIN|END) SOLUTION")


def pages_or_placeholder() -> list[str]:
    """Every page, or one placeholder that fails with the build command when nothing is built."""
    return book_pages() if (BUILD / "index.html").is_file() else ["index.html"]


@pytest.mark.parametrize("page_path", pages_or_placeholder())
def test_no_solution_markers_in_the_page(page_path: str) -> None:
    """Solution code is shown without the ``# BEGIN SOLUTION`` / ``# END SOLUTION`` lines."""
    require_build()
    html = (BUILD / page_path).read_text(encoding="utf-8")
    found = [m.group(0) for m in SOLUTION_MARKER.finditer(html)]
    assert not found, f"{page_path}: {len(found)} solution marker(s) reach the page, e.g. {found[0]!r}"


# Elements inside the article that stick out of the viewport (right or left), except code blocks
# and content of a box that scrolls on its own (a long equation) when that box itself fits.
OVERFLOW_JS = """(viewport) => {
    const describe = (el) => {
        const cls = (el.className && el.className.baseVal === undefined) ? el.className : "";
        const text = (el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 50);
        return `${el.tagName.toLowerCase()}${cls ? "." + cls.split(" ").join(".") : ""} `
             + `(${Math.round(el.getBoundingClientRect().width)} px wide): ${text}`;
    };
    const scrollsOnItsOwn = (el) => {
        for (let a = el.parentElement; a && a.tagName !== "ARTICLE"; a = a.parentElement) {
            const o = getComputedStyle(a).overflowX;
            if (o === "auto" || o === "scroll") return true;
        }
        return false;
    };
    const bad = [];
    for (const el of document.querySelectorAll("article.bd-article *")) {
        if (el.closest("pre, div.highlight, mjx-assistive-mml")) continue;  // code blocks may scroll
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue;
        if (r.right <= viewport + 1 && r.left >= -1) continue;
        if (scrollsOnItsOwn(el)) continue;
        bad.push(describe(el));
    }
    const tables = [...document.querySelectorAll("article.bd-article table")]
        .filter(t => t.getBoundingClientRect().width > 0 && !t.closest("pre, div.highlight"))
        .filter(t => t.getBoundingClientRect().right > document.querySelector("article.bd-article")
                     .getBoundingClientRect().right + 1)
        .map(t => describe(t));
    const root = document.scrollingElement;
    return {page: [root.scrollWidth, root.clientWidth], bad: bad.slice(0, 5), tables: tables.slice(0, 5)};
}"""


@pytest.mark.parametrize("page_path", pages_or_placeholder())
def test_nothing_but_code_scrolls_sideways_on_a_phone(browser, server, request, page_path: str) -> None:
    """At 390 pixels the page does not scroll sideways or cut anything off, and tables fit."""
    visit = PageVisit(browser, server, page_path, width=PHONE)
    request.addfinalizer(visit.close)
    if visit.page.locator(".math").count():
        visit.page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                     timeout=20_000)
        visit.page.evaluate("() => MathJax.startup.promise")
    found = visit.page.evaluate(OVERFLOW_JS, PHONE)
    scroll_width, client_width = found["page"]
    assert scroll_width <= client_width, (
        f"{page_path}: at {PHONE} px the page scrolls sideways ({scroll_width} px of content); "
        f"too wide: {found['bad']}"
    )
    assert not found["bad"], f"{page_path}: at {PHONE} px these stick out of the page (cut off): {found['bad']}"
    assert not found["tables"], f"{page_path}: at {PHONE} px these tables are wider than the text: {found['tables']}"


# The WCAG contrast ratio of each text element of a results table against the colour behind it
# (the first opaque background among its ancestors, translucent ones blended on top).
CONTRAST_JS = """() => {
    const rgba = (c) => { const m = c.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
    const background = (el) => {
        const layers = [];
        for (let a = el; a; a = a.parentElement) {
            const c = rgba(getComputedStyle(a).backgroundColor);
            if (c[3] > 0) layers.push(c);
            if (c[3] >= 1) break;
        }
        let out = [255, 255, 255];
        for (const c of layers.reverse()) out = out.map((v, i) => c[3] * c[i] + (1 - c[3]) * v);
        return out;
    };
    const luminance = (rgb) => {
        const lin = rgb.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
    };
    const results = [];
    const selector = "table.results-table caption, table.results-table th, table.results-table td, p.results-note";
    for (const el of document.querySelectorAll(selector)) {
        if (!el.textContent.trim() || el.getBoundingClientRect().width === 0) continue;
        const fg = rgba(getComputedStyle(el).color), bg = background(el);
        const text = fg.slice(0, 3).map((v, i) => fg[3] * v + (1 - fg[3]) * bg[i]);
        const [hi, lo] = [luminance(text), luminance(bg)].sort((a, b) => b - a);
        results.push({tag: el.tagName.toLowerCase(), text: el.textContent.trim().slice(0, 40),
                      ratio: (hi + 0.05) / (lo + 0.05)});
    }
    return {theme: document.documentElement.dataset.theme, cells: results};
}"""


def results_pages() -> list[str]:
    """The pages that show at least one results table (ae.results.Table)."""
    if not (BUILD / "index.html").is_file():
        return ["index.html"]
    return [p for p in book_pages() if "results-table" in (BUILD / p).read_text(encoding="utf-8")] or ["(none)"]


@pytest.mark.parametrize("page_path", results_pages())
def test_results_tables_are_readable_in_dark_mode(browser, server, request, page_path: str) -> None:
    """In dark mode the caption, header, cells and note of every results table contrast with
    what is behind them (no light slab with light text, no caption in its background's colour)."""
    require_build()
    assert page_path != "(none)", "no page of the book shows a results table (ae.results.Table)"
    visit = PageVisit(browser, server, page_path, scheme="dark")
    request.addfinalizer(visit.close)
    found = visit.page.evaluate(CONTRAST_JS)
    assert found["theme"] == "dark", f"{page_path}: the page did not switch to dark mode ({found['theme']!r})"
    assert found["cells"], f"{page_path}: no results table text found in the browser"
    low = [c for c in found["cells"] if c["ratio"] < MIN_CONTRAST]
    assert not low, (
        f"{page_path}: {len(low)} results table texts have a contrast below {MIN_CONTRAST} in dark mode: "
        + "; ".join(f"{c['tag']} {c['text']!r} ({c['ratio']:.1f})" for c in low[:5])
    )


def test_figures_are_shown_at_about_their_natural_size(visit: PageVisit) -> None:
    """At 1280 pixels no figure is shrunk below MIN_FIGURE_SCALE of its width, so its text,
    drawn at the figure style's font size, renders at about body-text size."""
    shrunk = visit.page.evaluate(
        """async (minScale) => {
            const imgs = [...document.querySelectorAll("article figure img, article .cell_output img")];
            imgs.forEach(i => { i.loading = "eager"; });
            await Promise.all(imgs.map(i => i.decode().catch(() => null)));
            return imgs.filter(i => i.naturalWidth > 0 && i.getBoundingClientRect().width > 0)
                .map(i => ({src: i.getAttribute("src"), natural: i.naturalWidth,
                            shown: i.getBoundingClientRect().width}))
                .filter(i => i.shown < minScale * i.natural);
        }""",
        MIN_FIGURE_SCALE,
    )
    assert not shrunk, f"{visit.path}: figures shown below {MIN_FIGURE_SCALE:.0%} of their width (text too small): " + "; ".join(
        f"{f['src']} {f['shown']:.0f} of {f['natural']} px ({f['shown'] / f['natural']:.0%})" for f in shrunk
    )


def test_code_cells_fit_the_column_on_a_laptop(visit: PageVisit) -> None:
    """At 1280 pixels no code cell scrolls sideways (its lines are at most 90 characters)."""
    scrolling = visit.page.evaluate(
        """() => [...document.querySelectorAll("article div.cell div.highlight pre")]  // inputs and outputs
            .filter(p => p.getBoundingClientRect().width > 0 && p.scrollWidth > p.clientWidth + 1)
            .map(p => p.textContent.split("\\n").reduce((a, l) => l.length > a.length ? l : a, ""))"""
    )
    assert not scrolling, f"{visit.path}: code cells scroll sideways at 1280 px; longest lines: " + "; ".join(
        f"{line[:50]!r}... ({len(line)} characters)" for line in scrolling[:5]
    )
