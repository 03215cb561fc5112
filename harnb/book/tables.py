"""How a page shows a table, a note, a list of downloads or a run of sections (HTML).

Every chapter uses these, so tables look the same across the book.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from IPython.display import HTML


def display_path(path: str | Path) -> str:
    """A path as a page may show it: relative to the data folder (``<data>/raw/UCI``), never
    the build machine's absolute path."""
    from harnb.config import REPO_ROOT, data_dir

    if not path:
        return ""
    p = Path(path).resolve()
    for base, label in ((data_dir(), "<data>"), (REPO_ROOT, ".")):
        try:
            return f"{label}/{p.relative_to(base.resolve()).as_posix()}"
        except ValueError:
            continue
    return p.name


def _fmt_number(v: object, decimals: int) -> str:
    """One cell of a column that mixes kinds (a transposed table): integers as integers, other
    numbers with ``decimals`` decimals, missing values blank."""
    if v is None or (isinstance(v, float | np.floating) and np.isnan(v)):
        return ""
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    if isinstance(v, float | np.floating):
        f = float(v)
        return f"{int(f):,}" if f == round(f) and abs(f) < 1e15 else f"{f:,.{decimals}f}"
    s = str(v)
    return "" if s in ("nan", "None") else s


def fmt_table(df: pd.DataFrame, decimals: int = 1) -> pd.DataFrame:
    """A table as a reader should see it: integers as integers (thousands separated), other
    numbers with ``decimals`` decimals, missing values blank (never ``NaN``).

    A numeric column is formatted as a whole (integers only if all its values are); a column
    of mixed kinds (Table I transposed: subjects, hours and rates of one dataset) cell by cell.
    """

    def col(s: pd.Series) -> pd.Series:
        if s.dtype == bool:
            return s.map({True: "yes", False: "no"})
        if not pd.api.types.is_numeric_dtype(s):  # text, or numbers of several kinds
            return s.map(lambda v: _fmt_number(v, decimals)).astype(str)
        num = pd.to_numeric(s, errors="coerce")
        vals = num.dropna()
        if len(vals) and (vals == vals.round()).all() and vals.abs().max() < 1e15:
            return num.map(lambda v: "" if pd.isna(v) else f"{int(v):,}")
        return num.map(lambda v: "" if pd.isna(v) else f"{v:,.{decimals}f}")

    if not df.shape[1]:
        return df.copy()
    # by position: column labels may repeat
    out = pd.concat([col(df.iloc[:, i]).astype(object) for i in range(df.shape[1])], axis=1)
    out.columns = df.columns
    return out


#: The markup our own tables put in cells (links to chapters, code, emphasis); any other
#: ``<`` in a cell is text, e.g. the ``<data>`` of :func:`display_path`.
_OWN_TAGS = re.compile(r"&lt;(/?(?:a|b|br|code|em|i|span|strong|sub|sup)\b[^<>]*?)&gt;")


#: Visible characters up to which a cell's text stays on one line (a number, an interval, a
#: name); a longer one wraps.
WRAP_AT = 32


def cell_html(text: object, nowrap: bool = False) -> str:
    """A cell's text as HTML: escaped, except for the few tags the pages write themselves.
    With ``nowrap`` (a table's body), a short text that could break (an interval
    ``78.8 [76.1, 81.0]``, ``released-matched``) stays on one line; a long one wraps."""
    s = html.escape(str(text), quote=False)
    s = _OWN_TAGS.sub(lambda m: "<" + html.unescape(m.group(1)) + ">", s)
    visible = html.unescape(re.sub(r"<[^>]*>", "", s))
    if nowrap and len(visible) <= WRAP_AT and re.search(r"[\s-]", visible):
        s = f'<span style="white-space: nowrap;">{s}</span>'
    return s


def path_html(path: str | Path) -> str:
    """A path for a page (:func:`display_path`) as escaped inline code."""
    return f"<code>{html.escape(display_path(path))}</code>"


def _escape_labels(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        return index.set_levels([lv.map(cell_html) for lv in index.levels])
    return index.map(cell_html)


def wrap_wide(inner: str) -> str:
    """A table in a box as wide as the text column that scrolls sideways when the table is
    wider, instead of running into the margin or under the contents panel."""
    return f'<div class="harnb-table-wrap" style="overflow-x: auto; max-width: 100%;">{inner}</div>'


def html_table(
    df: pd.DataFrame,
    decimals: int = 1,
    index: bool = True,
    empty: str = "No rows.",
) -> HTML:
    """A formatted table (:func:`fmt_table`) as HTML in a sideways-scrolling box; links, code
    and intervals kept, any other markup-like text escaped. An empty table is the sentence
    ``empty``, never a header alone."""
    from IPython.display import HTML

    if df.empty:
        return HTML(f"<p><em>{empty}</em></p>")
    t = fmt_table(df, decimals).map(lambda v: cell_html(v, nowrap=True))
    t.index = _escape_labels(t.index)
    t.columns = _escape_labels(t.columns)
    t.index.names = [None if n is None else cell_html(n) for n in t.index.names]
    t.columns.names = [None if n is None else cell_html(n) for n in t.columns.names]
    body = t.to_html(index=index, escape=False, na_rep="", border=0, classes="table harnb")
    return HTML(wrap_wide(body))


def downloads(files: Sequence[str | Path]) -> HTML:
    """Links to the committed files a page renders; ``harnb book`` serves them from
    ``_static/results/`` so that a reader can re-analyse them."""
    from IPython.display import HTML

    from harnb.config import REPO_ROOT, RESULTS_DIR

    results = RESULTS_DIR.resolve()  # where harnb book copies them from

    def served(f: str | Path) -> str:  # its path under _static/results/ (subfolders kept)
        p = Path(f) if Path(f).is_absolute() else REPO_ROOT / f  # as find_files reads it
        p = p.resolve()
        return p.relative_to(results).as_posix() if p.is_relative_to(results) else p.name

    names = sorted({served(f) for f in files})
    if not names:
        return HTML("<p><em>No committed results file matched; nothing to download.</em></p>")
    links = ", ".join(
        f'<a href="../_static/results/{n}" download>{Path(n).name}</a>' for n in names
    )
    return HTML(f"<p>The data behind this page (CSV): {links}.</p>")


def sections(parts: Sequence[tuple], level: int = 3) -> HTML:
    """Several titled tables or figures as one output: (title, DataFrame | HTML) pairs, or
    (title, DataFrame, what to say when it is empty) triples."""
    from IPython.display import HTML

    out = []
    for title, obj, *empty in parts:
        out.append(f"<h{level}>{title}</h{level}>" if title else "")
        if isinstance(obj, pd.DataFrame):
            out.append(html_table(obj, empty=empty[0] if empty else "No rows.").data)
        else:
            out.append(getattr(obj, "data", str(obj)))
    return HTML("\n".join(out))


def note(text: str) -> HTML:
    """A short boxed remark (a missing artefact, a smoke check) in the page."""
    from IPython.display import HTML

    return HTML(f'<div class="admonition note"><p>{text}</p></div>')
