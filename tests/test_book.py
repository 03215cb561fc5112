"""The book: notebooks are thin and stripped, every chapter executes with papermill, the site builds."""

from __future__ import annotations

import ast
import json
from datetime import datetime
from pathlib import Path

import pytest

from harnb.book.build import CHAPTERS, FRONT, NOTEBOOKS_DIR, _chapter_names, tidy_executed

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


@pytest.mark.parametrize("name", CHAPTERS)
def test_papermill_documents_every_parameter(name: str) -> None:
    """`papermill --help-notebook` lists each parameter with its help: papermill's parser
    drops a line whose comment holds an '=' (and says "Unable to parse line")."""
    from nbformat import NotebookNode
    from papermill.translators import PythonTranslator

    cell = next(c for c in _nb(name)["cells"] if "parameters" in c["metadata"].get("tags", []))
    src = "".join(cell["source"])
    names = [t.id for n in ast.parse(src).body if isinstance(n, ast.Assign) for t in n.targets
             if isinstance(t, ast.Name)]  # fmt: skip
    found = PythonTranslator.inspect(NotebookNode(source=src))
    assert [p.name for p in found] == names, f"{name}: papermill cannot parse every parameter"


@pytest.mark.parametrize("name", CHAPTERS)
def test_code_is_collapsed_but_parameters_show(name: str) -> None:
    """Pages read as prose, tables and figures: every code cell but the parameters is hidden;
    the front page folds its parameters too, so that its first screen reaches a result."""
    for c in _nb(name)["cells"]:
        if c["cell_type"] != "code":
            continue
        tags = c.get("metadata", {}).get("tags", [])
        if "parameters" in tags and name != FRONT:
            assert "hide-input" not in tags, f"{name}: the parameters cell must stay visible"
        else:
            assert "hide-input" in tags, f"{name}: a code cell is not collapsed"


def test_front_page_lists_every_chapter() -> None:
    text = "".join(
        "".join(c["source"]) for c in _nb(FRONT)["cells"] if c["cell_type"] == "markdown"
    )
    listed = text[text.index("## The chapters") :]
    for name in CHAPTERS[1:]:
        assert f"{{doc}}`{name}`" in listed, f"the front page's chapter list misses {name}"


def test_one_parameters_box_with_the_values_run(tmp_path: Path, monkeypatch) -> None:
    """papermill's injected cell is folded into the notebook's own parameters cell (values
    replaced, comments kept), and nothing of the build machine stays in the served notebook."""
    from harnb.config import data_dir

    monkeypatch.setenv("HARNB_DATA", str(tmp_path / "data"))
    nb = _nb("05_lodo")
    nb["cells"].insert(
        2,
        {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]}, "outputs": [],
         "source": '# Parameters\nprofile = "cpu"\nmodels = ["hart", "ispl"]\n'},
    )  # fmt: skip
    nb["cells"][3]["outputs"] = [
        {"output_type": "stream", "name": "stdout",
         "text": "WARNING:tensorflow:5 out of the last 5 calls to <function f> triggered "
                 "tf.function retracing.\n  Tracing is expensive\nkept\n"},
        {"output_type": "display_data", "metadata": {},
         "data": {"text/plain": f"{data_dir()}/raw/UCI and {REPO / 'data'}"}},
    ]  # fmt: skip
    nb["metadata"]["papermill"] = {"input_path": str(NOTEBOOKS_DIR / "05_lodo.ipynb"),
                                   "output_path": "/tmp/x/executed/05_lodo.ipynb"}  # fmt: skip
    out = tidy_executed(nb, "05_lodo")
    params = [c for c in out["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1
    assert not [c for c in out["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    src = params[0]["source"]
    assert 'profile = "cpu"  # ' not in src and src.startswith('profile = "cpu"\n')
    assert 'models = ["hart", "ispl"]\n' in src and "ratios = None\n" in src
    assert "run = True  # also run" in src  # comments and undeclared values kept
    outs = out["cells"][2]["outputs"]
    assert outs[0]["text"] == "kept\n"
    assert outs[1]["data"]["text/plain"] == "<data>/raw/UCI and ./data"
    assert out["metadata"]["papermill"]["input_path"] == "notebooks/05_lodo.ipynb"
    assert str(tmp_path) not in json.dumps(out) and str(REPO) not in json.dumps(out)
    assert "/tmp/x" not in json.dumps(out)


def test_toc_lists_every_chapter() -> None:
    toc = (REPO / "_toc.yml").read_text()
    for name in CHAPTERS:
        assert f"notebooks/{name}" in toc


def test_chapter_names_resolve_and_reject_unknown() -> None:
    assert _chapter_names(["01", "lodo"]) == ["01_datasets", "05_lodo"]
    with pytest.raises(ValueError, match="01_datasets"):
        _chapter_names(["99_nothing"])


def test_book_test_parameters_keep_the_pretraining_and_the_cells() -> None:
    """The test build's smaller smoke checks change no field of a pre-training's or a cell's
    configuration: chapters 4–6 can share one pre-training, chapter 5 runs ci's own cells."""
    from conftest import BOOK_TEST_PARAMETERS

    from harnb.training.profiles import changed, get_profile

    ci = get_profile("ci")
    test = changed(ci, BOOK_TEST_PARAMETERS["profile_changes"])
    assert test != ci and test.name == ci.name
    assert test.training_key() == ci.training_key() and test.cell_key() == ci.cell_key()
    ratios = set(BOOK_TEST_PARAMETERS["ratios"])
    assert ratios and ratios < set(ci.ratios)  # a slice of ci's own grid
    for name in ("03_cross_dataset", "04_pretraining", "05_lodo", "06_tsne"):
        nb = _nb(name)  # every chapter with a smoke check takes the changes
        tagged = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
        assert "profile_changes = None" in "".join(tagged[0]["source"]), name


@pytest.mark.slow
@pytest.mark.mirror
@pytest.mark.timeout(1500)
def test_book_builds_with_real_numbers(built_book: Path, session_data: Path) -> None:
    html = built_book / "_build" / "html"
    assert (html / "index.html").exists()
    assert (html / "_static" / "plotly.min.js").exists()
    for name in CHAPTERS:
        page = html / "notebooks" / f"{name}.html"
        assert page.exists(), name
        text = page.read_text()
        assert "Traceback" not in text, f"{name}: an exception is shown in the built page"
    # committed results, not the ci build's numbers, are what the study chapters show
    front = (html / "notebooks" / "00_findings.html").read_text()
    assert "What the study found here" in front and "Figure 1" in front
    assert "Table 1" in front  # the findings table is numbered as a table (issue 25)
    assert (html / "_static" / "results" / "cpu_hart.csv").exists()
    assert (
        'href="../_static/results/cpu_hart.csv"'
        in (html / "notebooks" / "05_lodo.html").read_text()
    )
    # a subfolder's files are served under their subfolder (chapter 8's, in orientation/)
    assert (html / "_static" / "results" / "orientation" / "cpu_hart_none.csv").exists()
    assert (
        'href="../_static/results/orientation/cpu_hart_none.csv"'
        in (html / "notebooks" / "08_orientation.html").read_text()
    )
    assert not (html / "_static" / "results" / "partial").exists()  # runs in progress
    for name in ("03_cross_dataset", "04_pretraining", "05_lodo", "06_tsne"):
        assert "Smoke check" in (html / "notebooks" / f"{name}.html").read_text(), name
    # one pre-training serves chapters 4-6: no weights were cached after chapter 5 started
    # (chapter 4 trained them, or an earlier session with the same HARNB_TEST_DATA)
    weights = list((session_data / "runs" / "pretrained" / "ci").glob("**/*.weights.h5"))
    meta = json.loads((built_book / "executed" / "05_lodo.ipynb").read_text())["metadata"]
    started = datetime.fromisoformat(meta["papermill"]["start_time"]).timestamp()
    assert weights and max(w.stat().st_mtime for w in weights) < started
    ch7 = (html / "notebooks" / "07_your_data.html").read_text()  # the CSV format on real data
    assert "MotionSense_csv" in ch7 and "Confusion matrix" in ch7 and "macro-F1" in ch7
    ch1 = (html / "notebooks" / "01_datasets.html").read_text()
    # Real counts from the mirror: UCI's 30 subjects, MotionSense's 24, the MobiFall subset's 9.
    for dataset in ("UCI", "MotionSense", "MobiFall (9 subj.)"):
        assert dataset in ch1
    # Table I: integers as integers, hours and rates rounded (issue 25: 9.0, 752573.0, 87.22…)
    assert "752,573" in ch1 and "752573.0" not in ch1 and "87.22245" not in ch1
    assert "Plotly.newPlot" in ch1
    executed = json.loads((built_book / "executed" / "01_datasets.ipynb").read_text())
    outs = json.dumps([c.get("outputs") for c in executed["cells"] if c["cell_type"] == "code"])
    assert "ready" in outs
    assert "1122772" in outs.replace(",", ""), "UCI's 1,122,772 raw samples should be in Table I"
