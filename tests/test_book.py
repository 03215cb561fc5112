"""The book: notebooks are thin and stripped, every chapter executes with papermill, the site builds."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

from harnb.book import CHAPTERS, NOTEBOOKS_DIR, _chapter_names

REPO = Path(__file__).resolve().parent.parent


def _nb(name: str) -> dict:
    return json.loads((NOTEBOOKS_DIR / f"{name}.ipynb").read_text())


@pytest.mark.parametrize("name", CHAPTERS)
def test_notebook_is_stripped_and_thin(name: str) -> None:
    nb = _nb(name)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, name
    for c in code:
        assert not c.get("outputs"), f"{name}: committed with outputs"
        assert c.get("execution_count") is None, f"{name}: committed with execution counts"
        tree = ast.parse("".join(c["source"]))
        defs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)]
        assert not defs, f"{name}: notebooks must not define functions/classes (put them in harnb)"
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{name}: needs exactly one cell tagged 'parameters'"
    assert "profile" in "".join(tagged[0]["source"])


def test_toc_lists_every_chapter() -> None:
    toc = (REPO / "_toc.yml").read_text()
    for name in CHAPTERS:
        assert f"notebooks/{name}" in toc


def test_chapter_names_resolve_and_reject_unknown() -> None:
    assert _chapter_names(["01", "lodo"]) == ["01_datasets", "05_lodo"]
    with pytest.raises(ValueError, match="01_datasets"):
        _chapter_names(["99_nothing"])


@pytest.fixture(scope="session")
def built_book(tmp_path_factory, session_data, mirror) -> Path:
    """Execute all six chapters with the ci profile and build the site, once per session."""
    from harnb.book import build_book

    out = tmp_path_factory.mktemp("book")
    old = os.environ.get("HARNB_DATA")
    os.environ["HARNB_DATA"] = str(session_data)
    os.environ["HARNB_MIRROR"] = str(mirror)
    try:
        build_book(profile="ci", out=out)
    finally:
        if old is None:
            os.environ.pop("HARNB_DATA", None)
        else:
            os.environ["HARNB_DATA"] = old
    return out


@pytest.mark.slow
@pytest.mark.mirror
@pytest.mark.timeout(1500)
def test_book_builds_with_real_numbers(built_book: Path) -> None:
    html = built_book / "_build" / "html"
    assert (html / "index.html").exists()
    assert (html / "_static" / "plotly.min.js").exists()
    for name in CHAPTERS:
        page = html / "notebooks" / f"{name}.html"
        assert page.exists(), name
        text = page.read_text()
        assert "Traceback" not in text, f"{name}: an exception is shown in the built page"
    ch1 = (html / "notebooks" / "01_datasets.html").read_text()
    # Real counts from the mirror: UCI's 30 subjects, MotionSense's 24, the MobiFall subset's 9.
    for dataset in ("UCI", "MotionSense", "MobiAct"):
        assert dataset in ch1
    assert "Plotly.newPlot" in ch1
    executed = json.loads((built_book / "executed" / "01_datasets.ipynb").read_text())
    outs = json.dumps([c.get("outputs") for c in executed["cells"] if c["cell_type"] == "code"])
    assert "ready" in outs
    assert "1122772" in outs.replace(",", ""), "UCI's 1,122,772 raw samples should be in Table I"
