"""Headless Chromium on the built book: pages render, maths is typeset, links are not broken.

The HTML comes from the session's ``built_book`` (conftest.py) and is served by
``http.server`` on 127.0.0.1 in a background thread. Needs ``chromium`` and
``chromedriver`` on the PATH (``make browser`` installs them as root); skipped otherwise.

The pages load MathJax 3 from a CDN. Where a local copy of MathJax 3 exists (the
``django-static-mathjax`` wheel, ``$DLCOURSE_MATHJAX_ES5`` or Debian's
``/usr/share/nodejs/mathjax-full``), the test server serves it instead, so that the
typesetting check runs offline with the book's own MathJax configuration and macros.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import io
import os
import re
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
CHROMEDRIVER = shutil.which("chromedriver")
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip(
        "headless browser check skipped: chromium and chromedriver are not installed "
        "(run `make browser` as root, or apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.common.exceptions import TimeoutException  # noqa: E402

MATHJAX_CDN = re.compile(r"https://cdn\.jsdelivr\.net/npm/mathjax@3/es5/")
LOCAL_MATHJAX = "/_local_mathjax/"


def local_mathjax() -> Path | None:
    """A folder holding MathJax 3's ``es5`` bundle (``tex-mml-chtml.js``), if one exists."""
    candidates = []
    if os.environ.get("DLCOURSE_MATHJAX_ES5"):
        candidates.append(Path(os.environ["DLCOURSE_MATHJAX_ES5"]))
    spec = importlib.util.find_spec("mathjax")  # the django-static-mathjax wheel
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidates.append(Path(location) / "static" / "mathjax" / "es5")
    for share in ("/usr/share/nodejs", "/usr/share/javascript"):
        candidates.append(Path(share) / "mathjax-full" / "es5")
    return next((c for c in candidates if (c / "tex-mml-chtml.js").exists()), None)


class _BookHandler(http.server.SimpleHTTPRequestHandler):
    """Serve the book; map MathJax to a local copy when there is one."""

    mathjax: Path | None = None

    def log_message(self, *args):  # keep the test output clean
        pass

    def translate_path(self, path):
        if self.mathjax is not None and path.startswith(LOCAL_MATHJAX):
            rest = urllib.parse.unquote(path[len(LOCAL_MATHJAX) :].split("?")[0])
            return str(self.mathjax / rest)
        return super().translate_path(path)

    def send_head(self):
        path = self.translate_path(self.path)
        if self.mathjax is None or not path.endswith(".html") or not os.path.isfile(path):
            return super().send_head()
        body = MATHJAX_CDN.sub(LOCAL_MATHJAX, Path(path).read_text(encoding="utf-8")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


@pytest.fixture(scope="module")
def server(built_book):
    if not (built_book.html / "index.html").exists():
        pytest.skip("the book did not build; see test_build.py")
    handler_class = type("Handler", (_BookHandler,), {"mathjax": local_mathjax()})
    handler = functools.partial(handler_class, directory=str(built_book.html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,2000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait_for(driver, script, timeout=30):
    """Poll ``script`` until it returns something truthy (promises are awaited)."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script))


def test_pages_render_with_title(server, browser, toc):
    for doc in toc:
        browser.get(f"{server}/{doc}.html")
        heading = browser.execute_script(
            "const h = document.querySelector('main h1, article h1');"
            "return h ? h.textContent.trim() : '';"
        )
        assert heading, f"{doc}.html shows no page heading"
        assert browser.title, f"{doc}.html has no <title>"


def test_mathjax_typesets_chapter_one(server, browser):
    browser.get(f"{server}/book/01_perceptrons.html")
    markup = browser.execute_script("return document.querySelectorAll('.math').length;")
    assert markup >= 20, f"Chapter 1 holds only {markup} maths elements"
    loaded = browser.execute_script(
        "return Array.from(document.images).filter(i => i.src.endsWith('.png'))"
        ".every(i => i.complete && i.naturalWidth > 0);"
    )
    assert loaded, "some figures of Chapter 1 did not load"
    try:
        _wait_for(browser, "return (window.MathJax && MathJax.version) || null;", timeout=20)
    except TimeoutException:
        pytest.skip(
            "MathJax could not be loaded: the pages fetch it from a CDN that this machine "
            "cannot reach, and no local MathJax 3 was found (install django-static-mathjax "
            "or set DLCOURSE_MATHJAX_ES5)"
        )
    count = _wait_for(
        browser,
        "return MathJax.startup.promise.then(() => "
        "document.querySelectorAll('mjx-container').length);",
    )
    assert count >= markup, f"MathJax typeset {count} of {markup} formulas on Chapter 1"
    errors = browser.execute_script("return document.querySelectorAll('mjx-merror').length;")
    assert errors == 0, f"MathJax reports {errors} errors (an undefined macro or bad TeX)"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        refresh = re.search(r"url=(\S+)", attrs.get("content") or "", flags=re.I)
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh" and refresh:
            self.links.append(refresh.group(1).strip("'\""))
        for key in ("href", "src"):
            if tag in ("a", "link", "script", "img") and attrs.get(key):
                self.links.append(attrs[key])


def test_no_broken_internal_links(server, toc):
    seen: set[str] = set()
    queue = [f"{server}/index.html"] + [f"{server}/{doc}.html" for doc in toc]
    broken: list[str] = []
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read()
                kind = response.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            broken.append(f"{url} ({exc.code})")
            continue
        if kind != "text/html":
            continue
        parser = _Links()
        parser.feed(body.decode("utf-8", errors="replace"))
        for link in parser.links:
            target = urllib.parse.urljoin(url, link).split("#")[0]
            if target.startswith(server) and target not in seen:
                queue.append(target)
    assert len(seen) > 5, "the crawl found almost no pages"
    assert not broken, f"broken internal links: {broken}"
