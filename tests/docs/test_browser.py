"""The built site, as a reader's browser sees it (``sharpsim docs build``, headless Chromium).

The site is built once (``conftest.built_site``), served on a free localhost port, and opened in
Debian's Chromium (``/usr/bin/chromium``) driven by Playwright for Python; Playwright's own browser
downloads are never used. Each page checked must load with no JavaScript error (an uncaught
exception or a console error), no image that failed to load (``naturalWidth`` 0), no request
that leaves localhost (the site works offline), and every same-site link must answer HTTP 200.
A full-page screenshot of each is saved to ``$SHARPSIM_SCREENSHOTS`` (default
``.ci/artifacts/screenshots``).

On CI (``CI=true``) a missing Chromium or Playwright fails these tests; elsewhere they skip.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import re
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from docs.conftest import require

pytestmark = pytest.mark.docs

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LECTURES = sorted(p.stem for p in (ROOT / "docs" / "seminar").glob("lecture[0-9]*_*.md"))
THEORY = sorted(p.stem for p in (ROOT / "theory").glob("*.md") if p.name != "README.md")


def screenshots_dir() -> Path:
    """Where the screenshots go: ``$SHARPSIM_SCREENSHOTS`` or ``.ci/artifacts/screenshots``."""
    env = os.environ.get("SHARPSIM_SCREENSHOTS")
    if env:
        path = Path(env)
    else:
        artifacts = ROOT / ".ci" / "artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        ignore = artifacts / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# test artifacts (screenshots of the site): never committed\n*\n")
        path = artifacts / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


# pydata-sphinx-theme (under sphinx-book-theme) logs this with console.error on a profile's first
# visit (no colour mode stored yet) and then uses the default, "auto": benign, and the only message
# let through (exactly this text).
BENIGN_CONSOLE_ERRORS = ("Got invalid theme mode: . Resetting to auto.",)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A browser that stops a transfer midway (a request it no longer needs) is not an error.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def _text(html: str) -> str:
    """The text of an HTML page (tags removed, entities decoded)."""
    import html as html_lib

    return html_lib.unescape(re.sub(r"<[^>]+>", "", html))


@pytest.fixture(scope="module")
def server(built_site):
    """``built_site`` served by ``http.server`` on a free localhost port: its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    httpd = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium (Debian's) with a fresh profile, driven by Playwright."""
    require(importlib.util.find_spec("playwright") is not None,
            "Playwright for Python is not installed: pip install playwright")
    require(CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900},
        )
        yield context
        context.close()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


# --- the test ---------------------------------------------------------------------------------
# One test function: the build is shared by every check, and one test is never split across
# pytest-xdist workers (a second worker would only wait for the first one's build).

PAGES = ["index.html", *(f"seminar/{lec}.html" for lec in LECTURES[:1]), "_generated/api/index.html",
         "_generated/api/sharpsim.html", "_generated/figures.html"]


def test_site_in_browser(built_site, server, browser):
    """The site is built (every page, the lectures executed) and reads well in a browser."""
    errors = check_every_page_is_built(built_site)
    errors += [e for page_path in PAGES for e in check_page_in_browser(page_path, server, browser)]
    assert not errors, "\n".join(errors)


def check_every_page_is_built(built_site: Path) -> list[str]:
    """The landing page, the seminar (every lecture, executed: with outputs and a figure), every
    theory note, the figures gallery and the API reference are in the site (each missing thing an
    error line)."""
    from sharpsim import figures, site

    errors = [] if LECTURES else ["no lecture in docs/seminar"]
    for page in ["index", "seminar/index", "_generated/theory/index", "_generated/figures",
                 "_generated/api/index", *(f"_generated/api/{m}" for m in site.API_MODULES),
                 *(f"seminar/{lec}" for lec in LECTURES), *(f"_generated/theory/{n}" for n in THEORY)]:
        if not (built_site / f"{page}.html").is_file():
            errors.append(f"{page}.html was not built")
    for lec in LECTURES:
        path = built_site / "seminar" / f"{lec}.html"
        html = path.read_text(encoding="utf-8") if path.is_file() else ""
        if "cell_output" not in html:
            errors.append(f"{lec}: no cell output (was it executed?)")
        if "<img" not in html:
            errors.append(f"{lec}: no figure")
    path = built_site / "_generated" / "figures.html"
    gallery = _text(path.read_text(encoding="utf-8")) if path.is_file() else ""
    for name in figures.FIGURES:
        if f"sharpsim figures --only {name}" not in gallery:
            errors.append(f"the gallery lacks the command that redraws {name}")
        if not (built_site / "_images" / f"{name}.png").is_file():
            errors.append(f"{name}.png is not in the site")
    landing = _text((built_site / "index.html").read_text(encoding="utf-8"))
    if "bash .ci/run" not in landing or "sharpsim figures --quick --out figures" not in landing:
        errors.append("the landing page lacks the two commands for a fresh machine")
    return errors


def check_page_in_browser(page_path: str, server: str, browser) -> list[str]:
    """Opens one page: its JavaScript errors, images not loaded, requests off localhost and
    same-site links that do not answer HTTP 200 (each an error line); saves a full-page screenshot."""
    base = urllib.parse.urlsplit(server)
    errors: list[str] = []
    page = browser.new_page()

    def on_console(msg):
        if msg.type == "error" and msg.text not in BENIGN_CONSOLE_ERRORS:
            errors.append(f"console error: {msg.text}")

    def on_route(route):
        url = urllib.parse.urlsplit(route.request.url)
        if url.scheme in ("data", "blob") or url.netloc == base.netloc:
            route.continue_()
        else:
            errors.append(f"request off the site (the site must work offline): {route.request.url}")
            route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"uncaught JavaScript error: {exc}"))
    page.route("**/*", on_route)
    hrefs: list[str] = []
    try:
        response = page.goto(server + page_path, wait_until="load")
        if response is None or response.status != 200:
            return [f"{page_path}: HTTP {response and response.status}"]
        # Scroll through the page so that lazily loaded images load, then wait for every image.
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.evaluate("""() => Promise.all([...document.images].map(img => img.complete ? null :
            new Promise(resolve => { img.addEventListener('load', resolve); img.addEventListener('error', resolve); })))""")
        page.wait_for_load_state("networkidle")
        broken = page.evaluate("[...document.images].filter(i => i.naturalWidth === 0).map(i => i.currentSrc || i.src)")
        errors += [f"image not loaded: {src}" for src in broken]
        hrefs = page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.href)")
        page.evaluate("window.scrollTo(0, 0)")
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", page_path.removesuffix(".html"))
        page.screenshot(path=str(screenshots_dir() / f"{name}.png"), full_page=True)
    finally:
        page.close()
    internal = sorted({urllib.parse.urldefrag(h).url for h in hrefs
                       if urllib.parse.urlsplit(h).netloc == base.netloc})
    if not internal:
        errors.append("no same-site link found")
    errors += [f"broken link: {url} (HTTP {code})" for url in internal if (code := _status(url)) != 200]
    return [f"{page_path}: {e}" for e in errors]
