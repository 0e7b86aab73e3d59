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
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait_for(driver, script, timeout=30):
    """Poll ``script`` until it returns something truthy (promises are awaited)."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script))


def _axe_violations(browser, source: str) -> list[str]:
    browser.execute_script(source)
    browser.set_script_timeout(120)
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(r.violations.filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => v.id + ' (' + v.impact + ', ' + v.nodes.length + ' nodes: ' + "
        "v.nodes.slice(0, 2).map(n => n.target.join(' ')).join('; ') + ')')))"
        ".catch(e => done(['axe failed: ' + e]));"
    )


@pytest.fixture(scope="module")
def survey(once, server, browser, toc) -> dict:
    """Every page of the book loaded once (typesetting a page is most of the cost of these
    tests) and checked for what the tests below assert, each kind of problem in its own list:
    ``title`` (a heading and a <title>), ``clean`` (console errors, broken images, TeX left
    untypeset, MathJax errors), ``axe`` (serious axe-core violations at 1,280 px; None when
    axe-core is not installed) and ``narrow`` (the same loaded page at 400 px: sideways
    scrolling, formulas cut off; five pages saved as 400 px screenshots). Done once per
    test run (``once``), whichever xdist worker gets there first."""
    return once("browser-survey", lambda: _survey(server, browser, toc))


def _survey(server, browser, toc) -> dict:
    try:
        axe = _axe_source()
    except pytest.skip.Exception:
        axe = None
    shots = Path(__file__).resolve().parents[2] / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    found: dict = {"title": [], "clean": [], "axe": None if axe is None else [], "narrow": []}
    for doc in toc:
        browser.set_window_size(1280, 2000)
        browser.get_log("browser")  # drop what earlier pages logged
        browser.get(f"{server}/{doc}.html")
        heading = browser.execute_script(
            "const h = document.querySelector('main h1, article h1');"
            "return h ? h.textContent.trim() : '';"
        )
        if not heading:
            found["title"].append(f"{doc}.html shows no page heading")
        if not browser.title:
            found["title"].append(f"{doc}.html has no <title>")
        typeset = _mathjax_ready(browser)
        severe = [
            e["message"] for e in browser.get_log("browser")
            if e["level"] == "SEVERE" and not _tolerated(e["message"], server)
        ]  # fmt: skip
        if severe:
            found["clean"].append(f"{doc}: console errors {severe[:3]}")
        broken = browser.execute_script(
            "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
            ".map(i => i.getAttribute('src'));"
        )
        if broken:
            found["clean"].append(f"{doc}: images that did not load {broken[:5]}")
        if typeset:
            raw = browser.execute_script(TEX_LEFT)
            if raw:
                found["clean"].append(f"{doc}: TeX left untypeset ({raw})")
            errors = browser.execute_script(
                "return document.querySelectorAll('mjx-merror').length;"
            )
            if errors:
                found["clean"].append(f"{doc}: {errors} MathJax errors")
        if axe is not None:
            found["axe"] += [f"{doc}: {v}" for v in _axe_violations(browser, axe)]
        browser.set_window_size(400, 900)
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth;"
        )
        if overflow > 1:
            culprits = browser.execute_script(WIDE_ELEMENTS)
            found["narrow"].append(f"{doc}: {overflow} px too wide ({culprits})")
        clipped = browser.execute_script(CLIPPED_MATH)
        if clipped:
            found["narrow"].append(f"{doc}: formulas cut off at the line's end {clipped}")
        if doc in SCREENSHOT_PAGES:
            browser.execute_script("window.scrollTo(0, 0);")
            browser.save_screenshot(str(shots / f"{doc.split('/')[-1]}-400px.png"))
    browser.set_window_size(1280, 2000)
    return found


def test_pages_render_with_title(survey):
    problems = survey["title"]
    assert not problems, "\n".join(problems)


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
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        refresh = re.search(r"url=(\S+)", attrs.get("content") or "", flags=re.I)
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh" and refresh:
            self.links.append(refresh.group(1).strip("'\""))
        for key in ("href", "src"):
            if tag in ("a", "link", "script", "img") and attrs.get(key):
                self.links.append(attrs[key])


def test_no_broken_internal_links(server, toc):
    """Every internal link leads to a page that exists, and every #anchor to an element."""
    seen: set[str] = set()
    queue = [f"{server}/index.html"] + [f"{server}/{doc}.html" for doc in toc]
    broken: list[str] = []
    ids: dict[str, set[str]] = {}
    anchors: list[tuple[str, str, str]] = []  # (page linking, target page, fragment)
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
        ids[url] = parser.ids
        for link in parser.links:
            target, _, fragment = urllib.parse.urljoin(url, link).partition("#")
            if target.startswith(server):
                if target not in seen:
                    queue.append(target)
                if fragment and target.endswith(".html"):
                    anchors.append((url, target, urllib.parse.unquote(fragment)))
    assert len(seen) > 5, "the crawl found almost no pages"
    assert not broken, f"broken internal links: {broken}"
    dangling = sorted(
        {f"{page} -> {target}#{frag}" for page, target, frag in anchors
         if target in ids and frag not in ids[target]}
    )  # fmt: skip
    assert not dangling, f"links to anchors that do not exist: {dangling[:20]}"


# ----------------------------------------------------------------------------- every page
TEX_LEFT = """
const body = document.querySelector('main') || document.body;
const copy = body.cloneNode(true);
copy.querySelectorAll('pre, code, script, style, .highlight, mjx-container, textarea')
    .forEach(e => e.remove());
const text = copy.textContent;
const found = [];
const bs = String.fromCharCode(92);  // a backslash, spelled so no layer of quoting eats it
for (const token of ['$$', bs + 'begin{', bs + 'frac', bs + '(', bs + '[']) {
    if (text.includes(token)) found.push(token);
}
return found;
"""


def _mathjax_ready(browser) -> bool:
    try:
        _wait_for(
            browser, "return (window.MathJax && MathJax.startup && MathJax.version) || null;", 20
        )
    except TimeoutException:
        return False
    _wait_for(browser, "return MathJax.startup.promise.then(() => true);", 60)
    return True


# Console messages that are not the book's: resources on other hosts (this machine has no
# network; the published site loads them), and two known messages of the Jupyter Book 1 theme
# (sphinx-book-theme declares THEBE_JS_URL in two scripts when launch buttons are on, and
# pydata-sphinx-theme logs an empty stored theme mode on a first visit).
THEME_NOISE = ("Identifier 'THEBE_JS_URL' has already been declared", "Got invalid theme mode")


def _tolerated(message: str, server: str) -> bool:
    url = message.split(" ", 1)[0]
    if url.startswith("http") and not url.startswith(server) and "Failed to load" in message:
        return True
    return "favicon" in message or any(noise in message for noise in THEME_NOISE)


def test_every_page_loads_cleanly_and_typesets(survey):
    """No console errors, all images loaded, no raw TeX left after MathJax ran."""
    problems = survey["clean"]
    assert not problems, "\n".join(problems)


def test_launch_buttons_point_at_the_page_s_notebook(built_book, toc_sources):
    """Binder opens the chapter's own notebook in JupyterLab, Colab the same file on GitHub."""
    for doc, source in toc_sources.items():
        if source is None or source.suffix != ".ipynb":
            continue
        html = built_book.page(doc).read_text(encoding="utf-8")
        path = f"{doc}.ipynb"
        binder = re.findall(r'href="(https://mybinder\.org/[^"]+)"', html)
        colab = re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', html)
        assert binder and all(urllib.parse.unquote(b).endswith(f"urlpath=lab/tree/{path}")
                               for b in binder), f"{doc}: Binder button {binder}"  # fmt: skip
        assert colab and all(c.endswith(f"/blob/main/{path}") for c in colab), (
            f"{doc}: Colab button {colab}"
        )


def test_search_finds_backpropagation(server, browser):
    browser.get(f"{server}/search.html?q=backpropagation")
    hits = _wait_for(
        browser,
        "const r = document.querySelectorAll('#search-results li, ul.search li');"
        "return r.length > 0 ? r.length : null;",
        timeout=60,
    )
    assert hits >= 3, f"the search found only {hits} pages for 'backpropagation'"


def test_the_exercise_index_keeps_its_columns_readable(server, browser):
    """At a desktop width no column of the exercise index is squeezed to a few letters: the
    prose rule ``overflow-wrap: anywhere`` once lowered every cell's minimum width to one
    letter, and the table layout shrank two columns to 63 px at 1,280 px (now 86 and 237)."""
    browser.set_window_size(1280, 2000)
    browser.get(f"{server}/book/exercise_index.html")
    widths = browser.execute_script(
        "return Array.from(document.querySelectorAll('main table th'))"
        ".map(th => Math.round(th.getBoundingClientRect().width));"
    )
    assert len(widths) == 5, f"expected the five columns of the exercise index, got {widths}"
    assert min(widths) >= 80, f"a column of the exercise index is {min(widths)} px wide: {widths}"


AXE = Path(__file__).resolve().parents[2] / ".venv" / "npm" / "node_modules" / "axe-core"


def _axe_source() -> str:
    for candidate in (
        Path(os.environ.get("DLCOURSE_AXE", "/nonexistent")),
        AXE / "axe.min.js",
        Path("/usr/share/nodejs/axe-core/axe.min.js"),
    ):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    pytest.skip(
        "axe-core is not installed (make setup installs it with npm into .venv/npm when "
        "npm is available)"
    )


def test_accessibility_axe_finds_no_serious_violation(survey):
    """axe-core on each whole page, the theme's navigation bars, sidebars and footer included,
    after MathJax has typeset it: no serious or critical violation. dlcourse-a11y.js fixes
    what the theme produces (labels that omit visible text, icon titles in labelled
    buttons, the bibliography's list role)."""
    if survey["axe"] is None:
        _axe_source()  # skips with the reason
    found = survey["axe"]
    assert not found, "axe-core reports:\n" + "\n".join(found)


SCREENSHOT_PAGES = (
    "book/01_perceptrons",
    "book/05_backprop",
    "book/06_autodiff",
    "book/07_optimization",
    "book/08_regularization",
)


# A formula wider than its line must scroll inside itself: the theme clips inline maths at the
# line's width (overflow hidden), which hides the end of a long formula on a phone.
CLIPPED_MATH = """
return Array.from(document.querySelectorAll('main span.math')).filter(s => {
  const f = s.querySelector('mjx-container');
  if (!f || f.getBoundingClientRect().width <= s.getBoundingClientRect().width + 1) return false;
  return !['auto', 'scroll'].includes(getComputedStyle(s).overflowX);
}).slice(0, 3).map(s => s.textContent.slice(0, 40));
"""

# The elements that stick out of a narrow page, outside anything that scrolls by itself.
WIDE_ELEMENTS = """
const inside = e => { for (let a = e.parentElement; a; a = a.parentElement)
  if (getComputedStyle(a).overflowX !== 'visible') return true; return false; };
return Array.from(document.querySelectorAll('main *')).filter(e =>
  e.getBoundingClientRect().right > window.innerWidth + 1 && !inside(e) &&
  getComputedStyle(e).position !== 'fixed')
  .slice(0, 3).map(e => e.tagName + '.' + e.className + ' in ' + e.parentElement.tagName);
"""


def test_narrow_screens_and_screenshots(survey, server, browser, toc):
    """At 400 px no page scrolls sideways (code blocks, tables and over-long formulas scroll
    inside themselves) and no formula is cut off; five representative pages are saved as
    screenshots: 400 px, desktop, and 800 px wide scrolled to a figure."""
    shots = Path(__file__).resolve().parents[2] / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    wide = list(survey["narrow"])
    try:
        browser.set_window_size(1280, 2000)
        for doc in SCREENSHOT_PAGES:
            if doc in toc:
                browser.get(f"{server}/{doc}.html")
                _mathjax_ready(browser)
                browser.save_screenshot(str(shots / f"{doc.split('/')[-1]}-desktop.png"))
        # issue 14: the figures must read at a page width of 800 px; one figure per page
        browser.set_window_size(800, 1000)
        for doc in SCREENSHOT_PAGES:
            if doc in toc:
                browser.get(f"{server}/{doc}.html")
                _mathjax_ready(browser)
                browser.execute_script(
                    "const f = document.querySelectorAll('figure img');"
                    "if (f.length) f[Math.floor(f.length / 2)].scrollIntoView();"
                )
                browser.save_screenshot(str(shots / f"{doc.split('/')[-1]}-800px-figure.png"))
    finally:
        browser.set_window_size(1280, 2000)
    assert not wide, "pages that do not fit a 400 px screen:\n" + "\n".join(wide)
    assert len(list(shots.glob("*.png"))) >= 4


# Chapters whose ipywidgets explorer has a kernel-free twin (dlcourse.widgets.static_player).
PLAYER_PAGES = (
    "book/01_perceptrons",
    "book/02_mlps",
    "book/03_activations",
    "book/05_backprop",
    "book/07_optimization",
)


def test_static_widget_players_move_without_a_kernel(server, browser):
    """On the static page (no kernel), pressing keys on a player's slider swaps its figure."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    for doc in PLAYER_PAGES:
        browser.get(f"{server}/{doc}.html")
        players = browser.find_elements(By.CSS_SELECTOR, "div.dlcourse-player")
        assert players, f"{doc}.html shows no kernel-free slider (dlcourse-player)"
        player = players[0]
        img = player.find_element(By.TAG_NAME, "img")
        slider = player.find_element(By.CSS_SELECTOR, "input[type=range]")
        shown = player.find_element(By.TAG_NAME, "output")
        assert img.get_attribute("alt"), f"the player on {doc}.html has no alt text"
        before = (img.get_attribute("src"), shown.text, slider.get_attribute("value"))
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", slider)
        # a reader moving the slider: the keyboard fires the same `input` event as a drag
        key = Keys.END if before[2] != slider.get_attribute("max") else Keys.HOME
        slider.send_keys(key)
        after = (img.get_attribute("src"), shown.text, slider.get_attribute("value"))
        assert after[2] != before[2], f"the slider on {doc}.html did not move"
        assert after[0] != before[0], f"moving the slider on {doc}.html left the figure as it was"
        assert after[1] != before[1], f"moving the slider on {doc}.html left its value label"
        loaded = browser.execute_script(
            "const i = arguments[0]; return i.complete && i.naturalWidth > 0;", img
        )
        assert loaded, f"the new frame on {doc}.html did not load"
        # an `input` event sent by script (a drag back to the start) restores the first frame
        browser.execute_script(
            "arguments[0].value = arguments[1];"
            "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
            slider,
            before[2],
        )
        assert img.get_attribute("src") == before[0], f"{doc}.html: dragging back was ignored"


def test_figures_stay_readable_in_dark_mode(server, browser):
    """In the theme's dark mode no figure of Chapters 1-8 shows dark ink on a see-through
    background: every image is opaque at its corners or sits on a white background."""
    for doc in [*PLAYER_PAGES, "book/04_losses", "book/06_autodiff"]:
        browser.get(f"{server}/{doc}.html")
        browser.execute_script("document.documentElement.dataset.theme = 'dark';")
        _wait_for(
            browser,
            "return Array.from(document.images).every(i => i.complete);",
        )
        unreadable = browser.execute_script(
            """
            const bad = [];
            for (const img of document.querySelectorAll('.bd-content img')) {
              if (!img.naturalWidth || img.naturalWidth < 50) continue;  // icons, badges
              const c = document.createElement('canvas');
              c.width = img.naturalWidth; c.height = img.naturalHeight;
              const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
              const w = c.width - 1, h = c.height - 1;
              const opaque = [[0, 0], [w, 0], [0, h], [w, h]].every(
                ([x, y]) => ctx.getImageData(x, y, 1, 1).data[3] === 255);
              const bg = getComputedStyle(img).backgroundColor;
              if (!opaque && bg !== 'rgb(255, 255, 255)') bad.push(img.src.slice(-60));
            }
            return bad;
            """
        )
        assert not unreadable, f"{doc}: see-through figures in dark mode: {unreadable}"
