"""The built book in a real browser: every page loads in headless Chromium without a JavaScript
error, every plotly figure draws, every internal link resolves, and no page shows ``NaN``, a
traceback or a machine path."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BAD_TEXT = re.compile(
    r"\bNaN\b|Traceback \(most recent call last\)|(?<![\w.])/(?:work|tmp|home|root)/"
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.mirror,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]


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


def test_bad_text_pattern() -> None:
    assert BAD_TEXT.search("macro-F1 NaN")
    assert BAD_TEXT.search("in /work/main/data/raw")
    assert not BAD_TEXT.search("<data>/raw/UCI and 78.8 [76.1, 81.0]")
    assert not BAD_TEXT.search("see https://example.org/work/x")


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
            page = browser.new_page()
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
            text = page.inner_text("body")
            for m in BAD_TEXT.finditer(text):
                ctx = text[max(0, m.start() - 40) : m.end() + 40].replace("\n", " ")
                problems.append(f"{name}: shows {m.group(0)!r}: …{ctx}…")
            page.close()
        browser.close()
    assert figures >= 6, f"only {figures} plotly figures in the whole book"
    assert not problems, "\n".join(problems)
