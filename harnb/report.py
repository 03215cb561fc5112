"""Tables the data chapters show: dataset status, Table I regenerated, class coverage.

Kept out of the notebooks so that tests exercise exactly what the book prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from harnb.config import CLASSES, DATASETS, mirror_dir
from harnb.datasets.base import DatasetError, Recording

if TYPE_CHECKING:  # pragma: no cover
    from IPython.display import HTML

#: Classes present per dataset in the released code (reference §2.1), for comparison.
REFERENCE_CLASSES: dict[str, tuple[str, ...]] = {
    "HHAR": ("Downstairs", "Upstairs", "Sitting", "Standing", "Walking", "Cycling"),
    "MobiAct": ("Downstairs", "Upstairs", "Running", "Sitting", "Standing", "Walking", "Jumping"),
    "MotionSense": ("Downstairs", "Upstairs", "Running", "Sitting", "Standing", "Walking"),
    "RealWorld": (
        "Downstairs",
        "Upstairs",
        "Running",
        "Sitting",
        "Standing",
        "Walking",
        "Lying",
        "Jumping",
    ),
    "UCI": ("Downstairs", "Upstairs", "Sitting", "Standing", "Walking", "Lying"),
    "PAMAP2": CLASSES,
}


def prepare_data(
    mirror: Path | str | None = None, names: Sequence[str] | None = None
) -> pd.DataFrame:
    """Make every dataset that can be had ready (extracted), and say what is missing and why.

    Datasets already extracted are reused; others are taken from the mirror when it has them.
    Nothing is downloaded here: a book build must not depend on the network.
    """
    from harnb import datasets
    from harnb.fetch import fetch

    mirror = Path(mirror) if mirror else mirror_dir()
    rows = []
    for name in names or DATASETS:
        info = datasets.REGISTRY[name]
        status, where, note = "missing", "", ""
        try:
            where = str(datasets.locate(name, fetch=False))  # fetched below, quietly
            status = "ready"
        except DatasetError:
            if mirror is not None and any((mirror / f).exists() for f in info.mirror_files):
                try:
                    where = str(fetch([name], mirror=mirror, progress=False)[name])
                    status = "ready"
                except DatasetError as e:  # a corrupt mirror copy is reported, not hidden
                    note = str(e)
        if status == "missing" and not note:
            note = info.obtain
        rows.append(
            {"dataset": name, "status": status, "location": display_path(where), "note": note}
        )
    return pd.DataFrame(rows).set_index("dataset")


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


def recording_stats(recs: Sequence[Recording]) -> dict[str, object]:
    """Subjects, recordings, samples, hours and the measured sampling rate of a dataset."""
    acc_n = np.array([len(r.acc.t) for r in recs])
    dur = np.array([r.acc.t[-1] - r.acc.t[0] if len(r.acc.t) > 1 else 0.0 for r in recs])
    rates = np.concatenate(
        [[(len(r.acc.t) - 1) / d] for r, d in zip(recs, dur, strict=True) if d > 0]
    )
    labelled = sum(int((r.labels >= 0).sum()) for r in recs)
    return {
        "subjects": len({r.subject for r in recs}),
        "recordings": len(recs),
        "samples": int(acc_n.sum()),
        "samples in union": labelled,
        "hours": float(dur.sum() / 3600),
        "rate (Hz, median)": float(np.median(rates)) if len(rates) else float("nan"),
        "devices": ", ".join(sorted({r.device for r in recs})),
        "position": ", ".join(sorted({r.position for r in recs})),
    }


def table1(
    recordings: Mapping[str, Sequence[Recording]], windows: Mapping[str, int]
) -> pd.DataFrame:
    """Table I regenerated from the real files, beside the paper's printed values."""
    from harnb.paper import TABLE_I

    rows = []
    for name in DATASETS:
        paper = TABLE_I[name]
        row: dict[str, object] = {
            "dataset": name,
            "paper: # samples": paper["samples"],
            "paper: # users": paper["users"],
            "paper: rate": paper["rate"],
            "paper: position": paper["position"],
        }
        if name in recordings:
            s = recording_stats(recordings[name])
            row.update({f"ours: {k}": v for k, v in s.items()})
            row["ours: windows"] = windows.get(name, 0)
        rows.append(row)
    return pd.DataFrame(rows).set_index("dataset")


def class_counts(y: np.ndarray, dataset: np.ndarray) -> pd.DataFrame:
    """Windows per (dataset, class): rows datasets, columns the union classes present anywhere."""
    df = pd.crosstab(pd.Series(dataset, name="dataset"), pd.Series(y, name="class"))
    df.columns = [CLASSES[int(c)] for c in df.columns]
    return df


def class_coverage(counts: pd.DataFrame) -> pd.DataFrame:
    """Which union classes each dataset has here, against the released code's table (§2.1)."""
    rows = {}
    for ds in counts.index:
        ours = {c for c in counts.columns if counts.loc[ds, c] > 0}
        ref = set(REFERENCE_CLASSES.get(ds, ()))
        rows[ds] = {
            c: (
                "✓"
                if c in ours and c in ref
                else "✓ (new)"
                if c in ours
                else "✗ (absent here)"
                if c in ref
                else ""
            )
            for c in CLASSES
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def dataset_cards(names: Sequence[str] | None = None) -> str:
    """Markdown: citation, source, terms and how to obtain, one section per dataset."""
    from harnb import datasets

    out = []
    for name in names or DATASETS:
        info = datasets.REGISTRY[name]
        out.append(
            f"**{name}** — {info.full_name}. *Cite:* {info.citation}. "
            f"*Source:* {info.url or 'no public download'}. *Terms:* {info.terms}. *Obtain:* {info.obtain}"
        )
    return "\n\n".join(out)


def implied_windows(name: str) -> float:
    """Total windows the paper's Table II implies for a dataset (its 70 % pool ÷ 0.7)."""
    from harnb.paper import TABLE_II

    return TABLE_II[name][3] / 0.7


def norm_table(stats: Mapping[str, object]) -> pd.DataFrame:
    """Normalisation statistics per dataset (sensor mode: one value per sensor), rounded."""
    rows = {}
    for name, s in stats.items():
        rows[name] = {
            "acc mean (m/s²)": float(np.mean(s.acc_mean)),
            "acc std (m/s²)": float(np.mean(s.acc_std)),
            "gyro mean (rad/s)": float(np.mean(s.gyro_mean)),
            "gyro std (rad/s)": float(np.mean(s.gyro_std)),
            "windows used": int(s.n_windows),
        }
    return pd.DataFrame.from_dict(rows, orient="index").round(4)


# --------------------------------------------------------------------------------------------
# Pages: one call per table or figure, so a chapter reads as the study, not its bookkeeping
# --------------------------------------------------------------------------------------------


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


def table1_with_paper(names: Sequence[str], store) -> pd.DataFrame:
    """Table I for the datasets ``names`` (columns), with the window totals Table II implies."""
    from harnb import datasets

    recordings = {n: datasets.load(n) for n in names}
    windows = {n: int((store.dataset == n).sum()) for n in names}
    table = table1(recordings, windows)
    table["paper: windows implied by Table II"] = [round(implied_windows(n)) for n in table.index]
    return table.T


def dataset_cards_md():
    """:func:`dataset_cards` as a Markdown display object."""
    from IPython.display import Markdown

    return Markdown(dataset_cards())


def config_table(cfg) -> pd.DataFrame:
    """The preprocessing settings as a two-column table (setting, value)."""
    import dataclasses

    return pd.DataFrame(
        [{"setting": f.name, "value": str(getattr(cfg, f.name))} for f in dataclasses.fields(cfg)]
    )


def normalised_moments(store, stats) -> pd.DataFrame:
    """Mean and standard deviation per dataset and sensor after normalisation (≈ 0 and 1)."""
    from harnb import preprocess

    Xn = preprocess.normalise(store, stats)
    rows = {}
    for name in store.datasets():
        x = Xn[store.dataset == name]
        rows[name] = {
            "acc mean": float(x[..., :3].mean()),
            "acc std": float(x[..., :3].std()),
            "gyro mean": float(x[..., 3:].mean()),
            "gyro std": float(x[..., 3:].std()),
        }
    return pd.DataFrame(rows).T
