"""Chapter 1, the datasets: status of each, Table I regenerated, class coverage, cards.

Every dataset is shown under its display name (:func:`harnb.study.published.display_name`):
what the data on this machine really is, the same name in every chapter (the mirror's MobiAct
is ``MobiFall (9 subj.)``, beside the paper's values for MobiAct). An extra dataset (HuGaDB,
not in the paper) has blanks where the paper has no value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from harnb.book.pages.preprocessing import implied_windows
from harnb.book.tables import display_path
from harnb.config import CLASSES, DATASETS, EXTRA_DATASETS, mirror_dir
from harnb.data.datasets.base import DatasetError, Recording
from harnb.study.published import display_name

if TYPE_CHECKING:  # pragma: no cover
    pass


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

#: Every dataset chapter 1 reports: the paper's six, then the extra public ones.
ALL_DATASETS: tuple[str, ...] = (*DATASETS, *EXTRA_DATASETS)


def label(name: str) -> str:
    """The name chapter 1 shows: the display name, as every other chapter shows it."""
    return display_name(name)


def shown(df: pd.DataFrame) -> pd.DataFrame:
    """A table indexed by dataset, with the display names."""
    return df.rename(index=label)


def left_out_files(name: str) -> int | None:
    """How many files a loader leaves out as corrupted (HuGaDB's gyroscopes), else None."""
    if name != "HuGaDB":
        return None
    from harnb.data import datasets
    from harnb.data.datasets import hugadb

    return len(hugadb.left_out(datasets.locate(name, fetch=False)))


def prepare_data(
    mirror: Path | str | None = None, names: Sequence[str] | None = None
) -> pd.DataFrame:
    """Make every dataset that can be had ready (extracted), and say what is missing and why.

    Datasets already extracted are reused; others are taken from the mirror when it has them.
    Nothing is downloaded here: a book build must not depend on the network.
    """
    from harnb.data import datasets
    from harnb.data.fetch import fetch

    mirror = Path(mirror) if mirror else mirror_dir()
    rows = []
    for name in names or ALL_DATASETS:
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
    recordings: Mapping[str, Sequence[Recording]],
    windows: Mapping[str, int],
    left_out: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """Table I regenerated from the real files, beside the paper's printed values.

    Rows: the paper's six, then each extra dataset that was loaded (blank paper values).
    ``left_out`` counts files a loader left out (HuGaDB's corrupted gyroscopes).
    """
    from harnb.paper import TABLE_I

    rows = []
    for name in [*DATASETS, *(n for n in EXTRA_DATASETS if n in recordings)]:
        paper = TABLE_I.get(name, {})
        row: dict[str, object] = {
            "dataset": label(name),
            "paper: # samples": paper.get("samples"),
            "paper: # users": paper.get("users"),
            "paper: rate": paper.get("rate"),
            "paper: position": paper.get("position"),
        }
        if name in recordings:
            s = recording_stats(recordings[name])
            row.update({f"ours: {k}": v for k, v in s.items()})
            row["ours: windows"] = windows.get(name, 0)
        rows.append(row)
    # object dtype: the paper's integers stay integers beside an extra dataset's blanks
    table = pd.DataFrame(rows, dtype=object).set_index("dataset")
    if left_out:
        names = [*DATASETS, *(n for n in EXTRA_DATASETS if n in recordings)]
        table["ours: files left out (corrupted gyroscope)"] = pd.Series(
            [left_out.get(n) for n in names], index=table.index, dtype=object
        )
    return table


def class_counts(y: np.ndarray, dataset: np.ndarray) -> pd.DataFrame:
    """Windows per (dataset, class): rows datasets (paper order, then extras by their display
    name), columns the union classes present anywhere."""
    df = pd.crosstab(pd.Series(dataset, name="dataset"), pd.Series(y, name="class"))
    df.columns = [CLASSES[int(c)] for c in df.columns]
    rank = {n: i for i, n in enumerate(ALL_DATASETS)}
    df = df.loc[sorted(df.index, key=lambda n: (rank.get(n, len(rank)), n))]
    return df.rename(index=label)


def class_coverage(counts: pd.DataFrame) -> pd.DataFrame:
    """Which union classes each dataset has here, against the released code's table (§2.1).

    A dataset the released code did not use (HuGaDB, your own) has nothing to compare with:
    plain ✓.
    """
    reference = {label(k): v for k, v in REFERENCE_CLASSES.items()}  # counts carry display names
    rows = {}
    for ds in counts.index:
        ours = {c for c in counts.columns if counts.loc[ds, c] > 0}
        if ds not in reference:
            rows[ds] = {c: "✓" if c in ours else "" for c in CLASSES}
            continue
        ref = set(reference[ds])
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
    from harnb.data import datasets

    out = []
    for name in names or ALL_DATASETS:
        info = datasets.REGISTRY[name]
        extra = "" if name in DATASETS else " *Not in the paper.*"
        out.append(
            f"**{label(name)}** — {info.full_name}.{extra} *Cite:* {info.citation.rstrip('.')}. "
            f"*Source:* {info.url or 'no public download'}. *Terms:* {info.terms.rstrip('.')}. "
            f"*Obtain:* {info.obtain}"
        )
    return "\n\n".join(out)


def table1_with_paper(names: Sequence[str], store) -> pd.DataFrame:
    """Table I for the datasets ``names`` (columns), with the window totals Table II implies."""
    from harnb.data import datasets

    recordings = {n: datasets.load(n) for n in names}
    windows = {n: int((store.dataset == n).sum()) for n in names}
    left_out = {n: k for n in names if (k := left_out_files(n)) is not None}
    table = table1(recordings, windows, left_out)
    implied = {label(n): round(implied_windows(n)) for n in DATASETS}
    table["paper: windows implied by Table II"] = pd.Series(
        [implied.get(n) for n in table.index], index=table.index, dtype=object
    )
    return table.T


def dataset_cards_md():
    """:func:`dataset_cards` as a Markdown display object."""
    from IPython.display import Markdown

    return Markdown(dataset_cards())
