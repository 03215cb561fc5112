"""Build the book: execute every chapter with papermill, then render a static jupyter-book site.

Chapters are executed *outside* jupyter-book (its own execution is off), so a long GPU run can be
executed once and re-rendered many times, and a failing chapter is reported by name with its
papermill log instead of a half-built site.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from harnb.config import REPO_ROOT, RESULTS_DIR, data_dir

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
#: The front page: the findings, from the committed results (executed like a chapter).
FRONT = "00_findings"
CHAPTERS: tuple[str, ...] = (
    FRONT,
    "01_datasets",
    "02_preprocessing",
    "03_cross_dataset",
    "04_pretraining",
    "05_lodo",
    "06_tsne",
    "07_your_data",
    "08_orientation",
    "09_sources",
)


class ChapterFailed(RuntimeError):
    """A chapter raised while papermill executed it; the message names the chapter."""


def _chapter_names(chapters: Sequence[str] | None) -> list[str]:
    if not chapters:
        return list(CHAPTERS)
    names = []
    for c in chapters:
        match = [n for n in CHAPTERS if n == c or n.startswith(c) or n.split("_", 1)[1] == c]
        if len(match) != 1:
            raise ValueError(f"unknown chapter {c!r}; choose from {', '.join(CHAPTERS)}")
        names.append(match[0])
    return names


def _kernel_cpu_seconds() -> float:
    """CPU seconds of this process's finished children (the chapters' kernels): unlike the wall
    time, it hardly depends on what else the machine runs."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def execute_chapters(
    profile: str = "ci",
    chapters: Sequence[str] | None = None,
    out_dir: Path | str = REPO_ROOT / "_build" / "executed",
    parameters: dict | None = None,
    kernel: str = "python3",
    progress: bool = True,
) -> list[Path]:
    """Run the chapters through papermill with ``profile`` (and extra ``parameters``).

    Executed notebooks land in ``out_dir``; the committed notebooks are never modified.
    """
    import papermill as pm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Progress bars belong in a terminal, not in the rendered pages; kernels inherit this.
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("PYTHONWARNINGS", "ignore:IProgress not found")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    done = []
    for name in _chapter_names(chapters):
        src = NOTEBOOKS_DIR / f"{name}.ipynb"
        dst = out / f"{name}.ipynb"
        # only what this notebook's parameters cell declares (a page shows what it ran with)
        declared = pm.inspect_notebook(str(src))
        params = {
            k: v for k, v in {"profile": profile, **(parameters or {})}.items() if k in declared
        }
        t0, cpu0 = time.perf_counter(), _kernel_cpu_seconds()
        print(f"[harnb book] executing {name} (profile={profile}) ...", flush=True)
        try:
            pm.execute_notebook(
                str(src),
                str(dst),
                parameters=params,
                kernel_name=kernel,
                cwd=str(REPO_ROOT),
                progress_bar=False,
                report_mode=False,
            )
        except pm.PapermillExecutionError as e:
            raise ChapterFailed(
                f"chapter {name} failed in cell {e.exec_count}: {e.ename}: {e.evalue}\n"
                f"the partly executed notebook is {dst}"
            ) from e
        cpu = _kernel_cpu_seconds() - cpu0
        print(
            f"[harnb book] {name} done in {time.perf_counter() - t0:.0f} s ({cpu:.0f} s CPU)",
            flush=True,
        )
        done.append(dst)
    return done


def merge_parameters(nb: dict) -> dict:
    """One parameters box per page: the values papermill injected are written into the
    notebook's own ``parameters`` cell (each line keeps its comment), and the injected cell
    is dropped, so a page shows once what it ran with."""
    cells = nb["cells"]
    tags = [c.get("metadata", {}).get("tags", []) for c in cells]
    injected = [i for i, t in enumerate(tags) if "injected-parameters" in t]
    declared = [i for i, t in enumerate(tags) if "parameters" in t]
    if not injected:
        return nb
    values: dict[str, str] = {}
    for i in injected:
        src = "".join(cells[i]["source"])
        for node in ast.parse(src).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    values[target.id] = ast.get_source_segment(src, node.value) or ""
    if declared:
        cell = cells[declared[0]]
        src = "".join(cell["source"])
        lines = src.splitlines(keepends=True)
        # right to left, so that earlier positions stay valid
        for node in sorted(ast.parse(src).body, key=lambda n: n.lineno, reverse=True):
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
                continue
            name = getattr(node.targets[0], "id", None)
            if name not in values:
                continue
            v = node.value
            head = "".join(lines[: v.lineno - 1]) + lines[v.lineno - 1].encode()[
                : v.col_offset].decode()  # fmt: skip
            tail = lines[v.end_lineno - 1].encode()[v.end_col_offset :].decode() + "".join(
                lines[v.end_lineno :]
            )
            old = src[len(head) : len(src) - len(tail)]
            if old != values[name]:
                src = head + values[name] + tail
                lines = src.splitlines(keepends=True)
        undeclared = [k for k in values if not re.search(rf"^{re.escape(k)}\s*=", src, re.M)]
        src += "".join(f"\n{k} = {values[k]}" for k in undeclared)
        cell["source"] = src
    nb["cells"] = [c for i, c in enumerate(cells) if i not in injected]
    return nb


#: Lines a library logs on stdout (TensorFlow's Python logger in a kernel writes there, past
#: ``nb_output_stderr``): not results, never shown.
LOG_LINE = re.compile(r"^(?:(?:WARNING|INFO|ERROR|DEBUG):[\w.]+:|[IWE]\d{4} \d\d:\d\d:)")


def _drop_log_lines(text: str) -> str:
    keep, skipping = [], False
    for line in text.splitlines(keepends=True):
        if LOG_LINE.match(line):
            skipping = True  # a record's continuation lines go with it
            continue
        if skipping and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        skipping = False
        keep.append(line)
    return "".join(keep)


def _machine_paths() -> list[tuple[str, str]]:
    """(absolute path, what a page shows instead), longest first."""
    pairs = {str(data_dir()): "<data>", str(REPO_ROOT): "."}
    return sorted(pairs.items(), key=lambda kv: -len(kv[0]))


def _scrub(obj, paths: list[tuple[str, str]]):
    if isinstance(obj, str):
        for a, b in paths:
            obj = obj.replace(a, b)
        return obj
    if isinstance(obj, list):
        return [_scrub(v, paths) for v in obj]
    if isinstance(obj, dict):
        return {k: _scrub(v, paths) for k, v in obj.items()}
    return obj


def tidy_executed(nb: dict, name: str) -> dict:
    """An executed chapter as the site shows and serves it (pages and the downloadable
    ``.ipynb``): one parameters box, no log lines on stdout, no path of the build machine."""
    nb = merge_parameters(nb)
    for cell in nb["cells"]:
        outs = []
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream" and o.get("name") == "stdout":
                text = _drop_log_lines("".join(o.get("text", "")))
                if not text.strip():
                    continue
                o = {**o, "text": text}
            outs.append(o)
        if cell["cell_type"] == "code":
            cell["outputs"] = outs
    pm = nb.get("metadata", {}).get("papermill")
    if pm is not None:
        pm["input_path"] = f"notebooks/{name}.ipynb"
        pm["output_path"] = f"{name}.ipynb"
    return _scrub(nb, _machine_paths())


def assemble(executed_dir: Path, stage: Path) -> Path:
    """Lay out a jupyter-book source folder: config, toc, prose pages and executed chapters
    (:func:`tidy_executed`)."""
    if stage.exists():
        shutil.rmtree(stage)
    (stage / "notebooks").mkdir(parents=True)
    for f in ("_config.yml", "_toc.yml"):
        shutil.copy2(REPO_ROOT / f, stage / f)
    shutil.copytree(REPO_ROOT / "book", stage / "book")
    for name in CHAPTERS:
        nb = executed_dir / f"{name}.ipynb"
        if not nb.exists():
            raise FileNotFoundError(f"chapter {name} has not been executed: {nb} is missing")
        tidy = tidy_executed(json.loads(nb.read_text(encoding="utf-8")), name)
        (stage / "notebooks" / nb.name).write_text(
            json.dumps(tidy, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    # plotly.js is served once for the whole book instead of being embedded in every figure.
    import plotly

    static = stage / "_static"
    static.mkdir()
    shutil.copy2(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", static)
    # the committed results the chapters render, downloadable from every page that shows them
    results = RESULTS_DIR
    if results.is_dir():
        for f in sorted(results.rglob("*.csv")):  # subfolders too (orientation/, sources/)
            rel = f.relative_to(results)
            if rel.parts[0] == "partial":  # runs in progress: not rendered, not served
                continue
            (static / "results" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, static / "results" / rel)
    return stage


def _dedupe_inline_scripts(html: Path) -> int:
    """Drop repeated identical one-line inline scripts from every page; returns pages fixed.

    jupyter-book 1 registers sphinx-thebe's configuration twice on notebook pages, so
    ``const THEBE_JS_URL`` is declared twice and the browser logs a SyntaxError.
    """
    fixed = 0
    for page in html.rglob("*.html"):
        lines = page.read_text(encoding="utf-8").splitlines(keepends=True)
        seen: set[str] = set()
        out = []
        for line in lines:
            s = line.strip()
            if s.startswith("<script>const ") and s.endswith("</script>"):
                if s in seen:
                    continue
                seen.add(s)
            out.append(line)
        if len(out) != len(lines):
            page.write_text("".join(out), encoding="utf-8")
            fixed += 1
    return fixed


def build_book(
    profile: str = "ci",
    out: Path | str = REPO_ROOT / "_build",
    execute: bool = True,
    chapters: Sequence[str] | None = None,
    parameters: dict | None = None,
) -> Path:
    """Execute the chapters (unless ``execute`` is False) and build the HTML site; returns index.html."""
    _chapter_names(chapters)  # unknown chapter names fail before anything runs
    out = Path(out).resolve()
    executed = out / "executed"
    if execute:
        execute_chapters(profile, chapters, executed, parameters)
    stage = assemble(executed, out / "src")
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [
        str(jb) if jb.exists() else "jupyter-book",
        "build",
        str(stage),
        "--path-output",
        str(out),
    ]
    print("[harnb book] building the site ...", flush=True)
    # the book's Sphinx extension (harnb.book.sphinx_tables) is this checkout's
    path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
    subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": path})
    _dedupe_inline_scripts(out / "_build" / "html")
    index = out / "_build" / "html" / "index.html"
    print(f"[harnb book] done: {index}", flush=True)
    return index
