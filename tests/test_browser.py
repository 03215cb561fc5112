"""The built book in a real browser: every page loads in headless Chromium without a JavaScript
error, every plotly figure draws, every internal link resolves, and no page shows ``NaN``, a
traceback, a machine path or a log warning. Every table fits its column (or scrolls inside
it), a table is captioned "Table", a chapter shows one parameters box, an empty table is a
sentence, and the front page reaches its first figure on the first screen."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: What no page may show, by what it is.
BAD_TEXT: dict[str, re.Pattern[str]] = {
    "NaN": re.compile(r"\bNaN\b"),
    "a traceback": re.compile(r"Traceback \(most recent call last\)"),
    "the build machine's path": re.compile(r"(?<![\w.])/(?:work|tmp|home|root)/"),
    # root-anchored: "/raw/MobiAct", "/user/…"; not "<data>/raw/UCI", "m/s²" or a URL
    "a machine path": re.compile(r"""(?:^|(?<=[\s"'(\[=]))/[A-Za-z_][\w.-]*/[\w.-]+"""),
    "warning text": re.compile(r"\bWARNING\b|\b[A-Z][a-z]*Warning\b|tf\.function retracing"),
}
#: The screen a reader first sees (the test's viewport).
VIEWPORT = {"width": 1280, "height": 800}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.mirror,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]

#: Layout problems of one page, found in the browser: tables running out of the text column,
#: captions that misname what they caption, parameter boxes, empty tables, a bare "none".
LAYOUT_JS = """() => {
  const out = [];
  const art = document.querySelector('article.bd-article') || document.querySelector('main');
  const col = art.getBoundingClientRect();
  for (const t of art.querySelectorAll('table')) {
    let box = t, a = t.parentElement;  // what shows of the table: its scrolling box, if any
    while (a && a !== art) {
      if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX)) { box = a; break; }
      a = a.parentElement;
    }
    const r = box.getBoundingClientRect();
    const head = t.innerText.slice(0, 50).replace(/\\s+/g, ' ');
    if (r.right > col.right + 1 || r.left < col.left - 1)
      out.push(`table ${Math.round(t.getBoundingClientRect().width)} px wide runs out of its `
               + `${Math.round(col.width)} px column: ${head}`);
    if (t.tHead && !t.querySelector('tbody tr'))
      out.push(`a table with a header and no row: ${head}`);
  }
  for (const f of art.querySelectorAll('figure')) {
    const num = (f.querySelector('.caption-number') || {}).innerText || '';
    const hasTable = !!f.querySelector('table'), hasPlot = !!f.querySelector('.plotly-graph-div');
    if (hasTable && num.startsWith('Figure')) out.push(`a table captioned "${num.trim()}"`);
    if (hasPlot && num.startsWith('Table')) out.push(`a figure captioned "${num.trim()}"`);
  }
  for (const p of art.querySelectorAll('p, td'))
    if (/^\\s*none\\s*$/i.test(p.innerText)) out.push('a bare "none"');
  const params = art.querySelectorAll('.cell.tag_parameters').length;
  const injected = art.querySelectorAll('.cell.tag_injected-parameters').length;
  const plot = art.querySelector('.plotly-graph-div');
  return {problems: out, params: params + injected,
          firstFigure: plot ? plot.getBoundingClientRect().top + window.scrollY : null};
}"""


def _pages(html: Path) -> list[Path]:
    skip = {"genindex.html", "search.html"}
    return sorted(
        p for p in html.rglob("*.html") if p.name not in skip and "_static" not in p.parts
    )


def broken_links(page: Path, hrefs: list[str], root: Path) -> list[str]:
    """Relative links of ``page`` whose target file is not in the site."""
    bad = []
    for h in hrefs:
        u = urlparse(h)
        if u.scheme or h.startswith(("#", "mailto:", "javascript:")) or not u.path:
            continue
        target = (page.parent / unquote(u.path)).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.exists() or root.resolve() not in target.parents:
            bad.append(h)
    return bad


#: A page's text without the code listings of its prose (a usage example's placeholder path,
#: ``HARNB_DATA=/shared/harnb``, is meant); cells' own code and outputs stay.
TEXT_BUT_LISTINGS_JS = """() => {
  const listings = [...document.querySelectorAll('div[class*="highlight-"]')]
    .filter(e => !e.closest('.cell'));
  listings.forEach(e => { e.dataset.display = e.style.display; e.style.display = 'none'; });
  const text = document.body.innerText;
  listings.forEach(e => { e.style.display = e.dataset.display; });
  return text;
}"""


def bad_text(text: str, kinds: tuple[str, ...] = tuple(BAD_TEXT)) -> list[str]:
    """What ``text`` shows that no page may (of ``kinds``), each with its context."""
    found = []
    for what in kinds:
        for m in BAD_TEXT[what].finditer(text):
            ctx = text[max(0, m.start() - 40) : m.end() + 40].replace("\n", " ")
            found.append(f"shows {what} {m.group(0)!r}: …{ctx}…")
    return found


def test_bad_text_pattern() -> None:
    for shown in (
        "macro-F1 NaN",
        "in /work/main/data/raw",
        "Dataset folder: /user/MotionSense_csv-1-2-3-8-10",  # <data> eaten as a tag
        "location\t/raw/MobiAct",
        "WARNING:tensorflow:5 out of the last 10 calls triggered tf.function retracing",
        "UserWarning: something",
    ):
        assert bad_text(shown), shown
    for fine in (
        "<data>/raw/UCI and 78.8 [76.1, 81.0]",
        "see https://example.org/work/x",
        "acceleration in m/s², angular rate in rad/s, acc/gyro, 39 / 39 cells",
        "./data/results/cpu_hart.csv and data/results/partial/",
        "harnb finetune prints a warning when they are not",
    ):
        assert not bad_text(fine), fine


@pytest.mark.timeout(1500)
def test_every_page_in_chromium(built_book: Path) -> None:
    from playwright.sync_api import sync_playwright

    html = built_book / "_build" / "html"
    pages = _pages(html)
    assert any(p.name == "05_lodo.html" for p in pages)
    problems: list[str] = []
    figures = 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for path in pages:
            page = browser.new_page(viewport=VIEWPORT)
            errors: list[str] = []
            page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_timeout(300)
            name = path.relative_to(html).as_posix()
            problems += [f"{name}: console error: {e}" for e in errors]
            divs = page.eval_on_selector_all(
                ".plotly-graph-div", "els => els.map(e => e.querySelector('.main-svg') !== null)"
            )
            figures += len(divs)
            if not all(divs):
                problems.append(f"{name}: {divs.count(False)} plotly figure(s) did not draw")
            hrefs = page.eval_on_selector_all(
                "a[href]", "els => els.map(e => e.getAttribute('href'))"
            )
            here = Path(unquote(urlparse(page.url).path))  # after a redirect (index.html)
            problems += [f"{name}: broken link {h}" for h in broken_links(here, hrefs, html)]
            kinds = tuple(k for k in BAD_TEXT if k != "a machine path")
            found = bad_text(page.inner_text("body"), kinds)
            found += bad_text(page.evaluate(TEXT_BUT_LISTINGS_JS), ("a machine path",))
            problems += [f"{name}: {p}" for p in found]
            layout = page.evaluate(LAYOUT_JS)
            problems += [f"{name}: {p}" for p in layout["problems"]]
            chapter = name.startswith("notebooks/")
            if chapter and layout["params"] != 1:
                problems.append(f"{name}: {layout['params']} parameters boxes, not one")
            if name.endswith("00_findings.html") and not (
                layout["firstFigure"] is not None and layout["firstFigure"] < VIEWPORT["height"]
            ):
                problems.append(
                    f"{name}: the first figure starts at {layout['firstFigure']} px, below the "
                    f"first screen ({VIEWPORT['height']} px)"
                )
            page.close()
        browser.close()
    assert figures >= 6, f"only {figures} plotly figures in the whole book"
    assert not problems, "\n".join(problems)


def test_downloadable_notebooks_hide_the_machine(built_book: Path) -> None:
    """The ``.ipynb`` a reader downloads: one parameters cell, no path of the build machine."""
    sources = built_book / "_build" / "html" / "_sources" / "notebooks"
    notebooks = sorted(sources.glob("*.ipynb"))
    assert notebooks, f"no notebook under {sources}"
    for nb in notebooks:
        text = nb.read_text(encoding="utf-8")
        found = [m.group(0) for m in re.finditer(r"(?<![\w.<>])/(?:work|tmp|home|root)/\S*", text)]
        assert not found, f"{nb.name}: {found[:3]}"
        cells = json.loads(text)["cells"]
        tags = [t for c in cells for t in c.get("metadata", {}).get("tags", [])]
        assert tags.count("parameters") == 1 and "injected-parameters" not in tags, nb.name
