"""How a page shows a table, a note, a list of downloads or a run of sections (HTML).

Every chapter uses these, so tables look the same across the book.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

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


def fmt_table(df: pd.DataFrame, decimals: int = 1) -> pd.DataFrame:
    """A table as a reader should see it: integers as integers (thousands separated), other
    numbers with ``decimals`` decimals, missing values blank (never ``NaN``)."""

    def col(s: pd.Series) -> pd.Series:
        if s.dtype == bool:
            return s.map({True: "yes", False: "no"})
        if not pd.api.types.is_numeric_dtype(s):  # text (intervals, links) stays as it is
            return s.where(s.notna(), "").astype(str).replace({"nan": "", "None": ""})
        num = pd.to_numeric(s, errors="coerce")
        vals = num.dropna()
        if len(vals) and (vals == vals.round()).all() and vals.abs().max() < 1e15:
            return num.map(lambda v: "" if pd.isna(v) else f"{int(v):,}")
        return num.map(lambda v: "" if pd.isna(v) else f"{v:,.{decimals}f}")

    out = df.copy()
    for c in out.columns:
        out[c] = col(out[c])
    return out


def html_table(df: pd.DataFrame, decimals: int = 1, index: bool = True) -> HTML:
    """A formatted table (:func:`fmt_table`) as HTML, links and intervals kept as they are."""
    from IPython.display import HTML

    t = fmt_table(df, decimals)
    return HTML(t.to_html(index=index, escape=False, na_rep="", border=0, classes="table harnb"))


def downloads(files: Sequence[str | Path]) -> HTML:
    """Links to the committed files a page renders; ``harnb book`` serves them from
    ``_static/results/`` so that a reader can re-analyse them."""
    from IPython.display import HTML

    names = sorted({Path(f).name for f in files})
    if not names:
        return HTML("<p><em>No committed results file matched; nothing to download.</em></p>")
    links = ", ".join(f'<a href="../_static/results/{n}" download>{n}</a>' for n in names)
    return HTML(f"<p>The data behind this page (CSV): {links}.</p>")


def sections(parts: Sequence[tuple[str, object]], level: int = 3) -> HTML:
    """Several titled tables or figures as one output: (title, DataFrame | HTML) pairs."""
    from IPython.display import HTML

    html = []
    for title, obj in parts:
        html.append(f"<h{level}>{title}</h{level}>" if title else "")
        if isinstance(obj, pd.DataFrame):
            html.append(html_table(obj).data if not obj.empty else "<p><em>none</em></p>")
        else:
            html.append(getattr(obj, "data", str(obj)))
    return HTML("\n".join(html))


def note(text: str) -> HTML:
    """A short boxed remark (a missing artefact, a smoke check) in the page."""
    from IPython.display import HTML

    return HTML(f'<div class="admonition note"><p>{text}</p></div>')
