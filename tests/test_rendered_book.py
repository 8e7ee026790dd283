"""Build the book from the smoke-executed notebooks and check every page in headless Chromium.

Runs after test_notebooks_execute.py (files run in alphabetical order), which leaves executed
copies in _build/smoke-notebooks/; run alone, this file executes the missing ones first.
tools/build_book.py renders them with Sphinx warnings as errors, then every HTML page is
loaded as a file:// URL, offline, and checked as a reader sees it:

- math is typeset by MathJax: every Sphinx math element holds an mjx-container, no MathJax
  error, and no raw TeX left in the text outside code: no $$, \\(, \\[, \\begin{, and no
  single $...$ (what computed Markdown showed before it was parsed as MyST);
- no display equation is wider than the text column (it would be cut at the right margin);
- no progress bar in any output (tqdm's "42%|" or "[00:01, 3.2step/s]");
- no visible code that only builds prose, tables or listings (Markdown(, table(, show_source():
  such cells are tagged remove-input;
- no pandas table (a DataFrame's HTML or a .style table): tables come from nlpbook.table;
- every figure is shown at (nearly) its own width: none is shrunk into the column;
- MathJax and every other script come from the book's own files: no http(s) script anywhere,
  MathJax from _static/mathjax/ and loaded once, no request to the network at all;
- the browser console shows no JavaScript error;
- every image loads (the Colab badge, the one remote image allowed, excepted);
- every page made from a notebook has a Colab link to that notebook on GitHub;
- the intro page and two chapters are saved as screenshots under _build/ for a look.

NLPBOOK_RENDERED_HTML=<folder> checks an HTML build that already exists (an older build, say)
instead of building one.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import pytest
import yaml

from notebooks import ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))
import build_book  # noqa: E402
from colab import colab_url  # noqa: E402

# Building and checking take about a minute; executing notebooks that are missing takes longer.
NOTEBOOK_TIMEOUT_S = int(os.environ.get("NLPBOOK_NOTEBOOK_TIMEOUT", "240"))
RENDER_TIMEOUT_S = int(os.environ.get("NLPBOOK_RENDER_TIMEOUT",
                                      900 + NOTEBOOK_TIMEOUT_S * len(build_book.to_execute())))
HTML = os.path.join(ROOT, "_build", "smoke-html")
SCREENSHOT = os.path.join(ROOT, "_build", "intro-screenshot.png")
# Two chapter pages, whole, as a reader scrolls them (figures, tables, answers).
PAGE_SCREENSHOTS = {"book/rnn/gradient_clipping.html": os.path.join(ROOT, "_build", "screenshot-gradient_clipping.png"),
                    "book/word2vec/negative_sampling.html": os.path.join(ROOT, "_build", "screenshot-negative_sampling.png")}
PREBUILT_HTML = os.environ.get("NLPBOOK_RENDERED_HTML")
CHROMIUM = os.environ.get("NLPBOOK_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("NLPBOOK_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1280,1600"]
# Remote images a page may show although they cannot load offline (alt text shows instead).
REMOTE_IMAGES_ALLOWED = ("https://colab.research.google.com/assets/colab-badge.svg",)
# Console errors of the toolchain itself, harmless: sphinx-thebe 0.3 declares its settings twice
# (the first declaration wins); pydata-sphinx-theme complains once about a fresh profile.
CONSOLE_NOISE = re.compile(r"Identifier 'THEBE_JS_URL' has already been declared|Got invalid theme mode")

pytestmark = [pytest.mark.render, pytest.mark.timeout(RENDER_TIMEOUT_S)]

# Wait for MathJax to finish typesetting (if the page loads it at all), then report. A page with a few
# hundred formulas takes seconds on a loaded machine: wait up to a minute before calling it missing.
WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
const started = Date.now();
(function poll() {
  const mj = window.MathJax;
  if (document.readyState !== "complete" || location.href === "about:blank") {
    setTimeout(poll, 50);            // the page is still loading: its scripts may not be there yet
  } else if (mj && mj.startup && mj.startup.promise) {
    mj.startup.promise.then(() => done(mj.version || "loaded"), e => done("error: " + e));
  } else if (!document.querySelector("script[src*='mathjax' i]") || Date.now() - started > 60000) {
    done(mj ? "never started" : null);
  } else {
    setTimeout(poll, 50);
  }
})();
"""

# Load every image eagerly and wait until each has loaded or failed.
WAIT_FOR_IMAGES = """
const done = arguments[arguments.length - 1];
const imgs = Array.from(document.images);
imgs.forEach(img => { img.loading = "eager"; });
const settled = imgs.map(img => img.complete ? Promise.resolve() :
  new Promise(ok => { img.addEventListener("load", ok); img.addEventListener("error", ok); }));
const timeout = new Promise(ok => setTimeout(ok, 20000));
Promise.race([Promise.all(settled), timeout]).then(() => done(imgs.map(img => ({
  src: img.currentSrc || img.getAttribute("src") || "", ok: img.complete && img.naturalWidth > 0}))));
"""

# What the page shows once MathJax is done.
INSPECT = r"""
const CODE = "pre, code, script, style, textarea, mjx-container, .highlight";
const text = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  if (!node.parentElement.closest(CODE)) text.push(node.nodeValue);
}
const all = text.join(" ").replace(/\s+/g, " ");
const at = Math.min(...["$$", "\\(", "\\)", "\\[", "\\]", "\\begin{"]
  .map(mark => all.indexOf(mark)).filter(i => i >= 0));
const raw = at < Infinity ? [JSON.stringify(all.slice(Math.max(0, at - 40), at + 60))] : [];
// A single $...$ left as text: math that was never parsed (computed Markdown, say).
const dollar = all.match(/\$[^$\s][^$\n]{0,120}?[^$\s]\$|\$[^$\s]\$/);
if (dollar) raw.push(JSON.stringify(all.slice(Math.max(0, dollar.index - 40), dollar.index + 60)));
const outputs = Array.from(document.querySelectorAll(".cell_output")).map(el => el.textContent).join("\n");
const bar = outputs.match(/\d+%\|[^\n]{0,60}|\[\d\d:\d\d(?::\d\d)?(?:<[^,\]]*)?, [^\]\n]*\/s\]/);
const MACHINERY = /\bMarkdown\(|(?:^|[^\w.])(?:nlpbook\.)?table\(|show_source\(/m;
const machinery = Array.from(document.querySelectorAll(".cell_input"))
  .filter(el => !el.closest("details") && MACHINERY.test(el.textContent))
  .map(el => el.textContent.trim().slice(0, 100));
const framed = Array.from(document.querySelectorAll(".cell_output table.dataframe, .cell_output table[id^='T_']"))
  .map(el => el.textContent.replace(/\s+/g, " ").trim().slice(0, 80));
const shrunk = Array.from(document.querySelectorAll(".cell_output img")).map(img => {
  const styled = parseFloat((img.getAttribute("style") || "").match(/width:\s*([\d.]+)px/)?.[1] || "0");
  const own = styled || parseFloat(img.getAttribute("width") || "0") || img.naturalWidth;
  const shown = img.getBoundingClientRect().width;
  return {src: (img.getAttribute("src") || "").slice(-40), own: Math.round(own), shown: Math.round(shown)};
}).filter(f => f.own > 0 && f.shown < 0.9 * f.own);
const wide = Array.from(document.querySelectorAll("mjx-container[display='true']")).map(el => {
  const math = el.querySelector("mjx-math");
  return {tex: (el.getAttribute("aria-label") || el.textContent).slice(0, 60),
          width: math ? Math.round(math.getBoundingClientRect().width) : 0,
          column: Math.round(el.getBoundingClientRect().width)};
}).filter(eq => eq.width > eq.column + 1);
const mathEls = Array.from(document.querySelectorAll(".math"));
return {
  mjx: document.querySelectorAll("mjx-container").length,
  math: mathEls.length,
  untypeset: mathEls.filter(el => !el.querySelector("mjx-container")).map(el => el.textContent.slice(0, 80)),
  errors: Array.from(document.querySelectorAll("mjx-merror, [data-mjx-error]"))
    .map(el => (el.getAttribute("data-mjx-error") || el.textContent).slice(0, 80)),
  raw_tex: raw,
  progress_bar: bar ? [bar[0].slice(0, 80)] : [],
  machinery: machinery,
  pandas_tables: framed,
  shrunk_figures: shrunk,
  wide_equations: wide,
  remote_scripts: Array.from(document.querySelectorAll("script[src]")).map(s => s.getAttribute("src"))
    .filter(src => /^(https?:)?\/\//i.test(src.trim())),
  mathjax_scripts: Array.from(document.querySelectorAll("script[src]")).map(s => s.src)
    .filter(src => /mathjax/i.test(src)),
  remote_requests: performance.getEntriesByType("resource").map(r => r.name)
    .filter(name => /^https?:/i.test(name) && !ALLOWED.includes(name)),
  colab: Array.from(document.querySelectorAll("a[href]")).map(a => a.href)
    .filter(href => /^https?:\/\/[^\/]*colab/i.test(href) && !ALLOWED.includes(href)),
};
""".replace("ALLOWED", repr(list(REMOTE_IMAGES_ALLOWED)))


@dataclass
class Page:
    rel: str                        # path under the HTML folder, e.g. book/intro.html
    mathjax: str | None = None      # MathJax's version once typeset, None if not loaded
    images: list = field(default_factory=list)
    info: dict = field(default_factory=dict)
    console: list = field(default_factory=list)


def chromium():
    """A headless Chromium driven by the system chromedriver; fails (never skips) if missing."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not found: the rendered-book test needs a headless browser; "
                    "install it with `sudo apt-get install chromium chromium-driver` (make install does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="nlpbook-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(60)
    return driver, profile


def html_pages(html_dir: str) -> list[str]:
    """Every HTML page of a build, except redirect stubs (the root index.html)."""
    pages = []
    for folder, _, files in os.walk(html_dir):
        if os.path.relpath(folder, html_dir).split(os.sep)[0] in ("_static", "_sources", "_images"):
            continue
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".html"):
                with open(path, encoding="utf-8") as handle:
                    if 'http-equiv="Refresh"' in handle.read(2000):
                        continue
                pages.append(os.path.relpath(path, html_dir))
    return sorted(pages)


def inspect(driver, html_dir: str, rel: str) -> Page:
    driver.get("file://" + os.path.join(html_dir, rel))
    page = Page(rel)
    page.mathjax = driver.execute_async_script(WAIT_FOR_MATHJAX)
    page.images = driver.execute_async_script(WAIT_FOR_IMAGES)
    page.info = driver.execute_script(INSPECT)
    page.console = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"
                    and not e["message"].startswith(REMOTE_IMAGES_ALLOWED)
                    and not CONSOLE_NOISE.search(e["message"])]
    return page


def inspect_book(html_dir: str, screenshot: str | None = SCREENSHOT) -> dict[str, Page]:
    driver, profile = chromium()
    try:
        pages = {rel: inspect(driver, html_dir, rel) for rel in html_pages(html_dir)}
        if screenshot:
            intro = os.path.join("book", "intro.html")
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",  # the page itself 1280x1600
                                   {"width": 1280, "height": 1600, "deviceScaleFactor": 1, "mobile": False})
            driver.get("file://" + os.path.join(html_dir, intro))
            driver.execute_async_script(WAIT_FOR_MATHJAX)
            driver.save_screenshot(screenshot)
            for rel, path in PAGE_SCREENSHOTS.items():
                if os.path.exists(os.path.join(html_dir, rel)):
                    save_whole_page(driver, os.path.join(html_dir, rel), path)
        return pages
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def save_whole_page(driver, page: str, path: str, width: int = 1280) -> None:
    """A screenshot of the whole page at ``width`` px, top to bottom (capped at 16,000 px)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": 1600, "deviceScaleFactor": 1, "mobile": False})
    driver.get("file://" + page)
    driver.execute_async_script(WAIT_FOR_MATHJAX)
    driver.execute_async_script(WAIT_FOR_IMAGES)
    height = min(int(driver.execute_script("return document.documentElement.scrollHeight")), 16000)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    driver.save_screenshot(path)


def notebook_pages(root: str = ROOT) -> list[str]:
    """The toc pages made from notebooks, as repository paths (book/intro.ipynb)."""
    pages = build_book.toc_pages(os.path.join(root, "_toc.yml"))
    return [p + ".ipynb" for p in pages if os.path.exists(os.path.join(root, p + ".ipynb"))]


# ---- fixtures: execute what is missing, build, load every page once --------------------------

@pytest.fixture(scope="module")
def built_book():
    if PREBUILT_HTML:
        return os.path.abspath(PREBUILT_HTML)
    todo = build_book.to_execute()
    if todo:
        import test_notebooks_execute as smoke  # the same papermill run, into the same folder
        for nb_path in todo:
            smoke.execute_alone(nb_path, os.path.join(smoke.OUT_DIR, nb_path))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build_book.py"), "--out", HTML],
                          capture_output=True, text=True, cwd=ROOT)
    print(f"build_book.py: {time.perf_counter() - start:.1f} s")
    if proc.returncode != 0:
        warnings = build_book.warnings_in(proc.stdout + proc.stderr)
        pytest.fail(f"tools/build_book.py exited {proc.returncode}; Sphinx warnings and errors:\n"
                    + "\n".join(warnings or [proc.stderr[-5000:]]), pytrace=False)
    return HTML


@pytest.fixture(scope="module")
def pages(built_book):
    start = time.perf_counter()
    found = inspect_book(built_book)
    print(f"checked {len(found)} pages in Chromium in {time.perf_counter() - start:.1f} s")
    return found


# ---- the checks ----------------------------------------------------------------------------

def test_every_toc_page_is_rendered(built_book, pages):
    expected = {p + ".html" for p in build_book.toc_pages(os.path.join(ROOT, "_toc.yml"))}
    missing = sorted(p for p in expected if p.replace("/", os.sep) not in pages)
    assert not missing, f"pages in _toc.yml missing from the HTML: {missing}"


def test_math_is_typeset_by_mathjax(pages):
    problems = []
    for rel, page in pages.items():
        info = page.info
        if info["math"] and not page.mathjax:
            problems.append(f"{rel}: {info['math']} math elements but MathJax never loaded")
        if page.mathjax and not str(page.mathjax)[0].isdigit():
            problems.append(f"{rel}: MathJax {page.mathjax}")
        if info["untypeset"]:
            problems.append(f"{rel}: math left untypeset: {info['untypeset'][:3]}")
        if info["errors"]:
            problems.append(f"{rel}: MathJax errors: {info['errors'][:3]}")
        if info["raw_tex"]:
            problems.append(f"{rel}: raw TeX in the text: {', '.join(info['raw_tex'][:3])}")
    assert not problems, "math does not render:\n" + "\n".join(problems)
    assert sum(p.info["mjx"] for p in pages.values()) > 0, "no page of the book shows any typeset math"


def test_no_equation_is_wider_than_the_column(pages):
    problems = [f"{rel}: {eq['width']} px wide in a {eq['column']} px column: {eq['tex']!r}"
                for rel, page in pages.items() for eq in page.info["wide_equations"]]
    assert not problems, ("display equations cut at the right margin (break them over lines with "
                          "aligned):\n" + "\n".join(problems))


def test_no_progress_bar_in_the_page(pages):
    problems = [f"{rel}: {page.info['progress_bar'][0]!r}" for rel, page in pages.items() if page.info["progress_bar"]]
    assert not problems, ("progress bars in the rendered page (route them through nlpbook.display.progress; "
                          "the build sets NLPBOOK_PROGRESS=0):\n" + "\n".join(problems))


def test_no_visible_prose_building_code(pages):
    problems = [f"{rel}: {code!r}" for rel, page in pages.items() for code in page.info["machinery"]]
    assert not problems, ("code that only builds prose, a table or a listing is on show (tag its cell "
                          "remove-input):\n" + "\n".join(problems[:20]))


def test_tables_are_the_books_own(pages):
    problems = [f"{rel}: {t!r}" for rel, page in pages.items() for t in page.info["pandas_tables"]]
    assert not problems, ("pandas tables (a bare DataFrame or .style) lose the theme's look and print raw "
                          "numbers; use nlpbook.table:\n" + "\n".join(problems[:20]))


def test_figures_fit_the_column(pages):
    problems = [f"{rel}: a figure {f['own']} px wide shown at {f['shown']} px (...{f['src']})"
                for rel, page in pages.items() for f in page.info["shrunk_figures"]]
    assert not problems, ("figures shrunk into the text column (make them at most "
                          "nlpbook.display.FIGURE_MAX_WIDTH_IN inches wide):\n" + "\n".join(problems))


def test_mathjax_and_all_scripts_are_local(built_book, pages):
    local_mathjax = "file://" + os.path.join(built_book, "_static", "mathjax") + "/"
    problems = []
    for rel, page in pages.items():
        info = page.info
        if info["remote_scripts"]:
            problems.append(f"{rel}: remote scripts {info['remote_scripts']}")
        if info["remote_requests"]:
            problems.append(f"{rel}: requests to the network {info['remote_requests'][:5]}")
        elsewhere = [src for src in info["mathjax_scripts"] if not src.startswith(local_mathjax)]
        if elsewhere:
            problems.append(f"{rel}: MathJax scripts not from _static/mathjax/: {elsewhere[:3]}")
        if page.mathjax and not info["mathjax_scripts"]:
            problems.append(f"{rel}: MathJax {page.mathjax} runs but no MathJax script was loaded")
        with open(os.path.join(built_book, rel), encoding="utf-8") as handle:
            in_html = re.findall(r"<script[^>]*\bsrc=\"[^\"]*mathjax[^\"]*\"", handle.read(), re.I)
        if len(in_html) > 1:  # jupyter-book adds every .js under _static/ to every page
            problems.append(f"{rel}: {len(in_html)} MathJax <script>s, not one (is MathJax vendored under "
                            f"_static/? jupyter-book then loads all its files): {in_html[:2]}")
    assert not problems, ("scripts must be the book's own and MathJax loaded once from _static/mathjax/ "
                          "(readers and CI are offline):\n" + "\n".join(problems))


def test_no_javascript_errors(pages):
    problems = [f"{rel}: {msg}" for rel, page in pages.items() for msg in page.console]
    assert not problems, "JavaScript errors in the browser console:\n" + "\n".join(problems[:30])


def test_every_image_loads(pages):
    broken = [f"{rel}: {img['src'][:150]}" for rel, page in pages.items() for img in page.images
              if not img["ok"] and img["src"] not in REMOTE_IMAGES_ALLOWED]
    assert not broken, f"{len(broken)} images do not load:\n" + "\n".join(broken)


def test_notebook_pages_link_to_their_notebook_on_colab(pages):
    problems = []
    for notebook in notebook_pages():
        rel = os.path.splitext(notebook)[0].replace("/", os.sep) + ".html"
        links = pages[rel].info["colab"] if rel in pages else []
        expected = colab_url(notebook)
        if not links:
            problems.append(f"{rel}: no Colab launch link")
        bad = [href for href in links if not (href.startswith("https://colab.research.google.com/github/")
                                              and href.endswith(".ipynb"))]
        if bad:
            problems.append(f"{rel}: Colab links that do not open a notebook on GitHub: {bad}")
        wrong = [href for href in links if href not in bad and href != expected]
        if wrong:
            problems.append(f"{rel}: Colab links to another notebook: {wrong} (expected {expected})")
    assert not problems, "\n".join(problems)


def test_screenshots(pages):
    for path in [SCREENSHOT, *PAGE_SCREENSHOTS.values()]:
        assert os.path.exists(path) and os.path.getsize(path) > 10_000, f"{path} is missing or looks empty"
