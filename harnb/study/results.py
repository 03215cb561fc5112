"""Tidy results files: one row per cell × metric, the configuration every row was made with,
per-subject confusion counts, and their aggregation in the paper's layout.

One *cell* is (protocol, target, model, strategy, ratio, seed). Its metrics are appended in a
single write, then flushed and fsync'ed; a crash can at worst truncate the last line, which the
readers skip. Every row carries ``config``: a hash of every setting that changes its numbers
(:func:`config_hash`). A results file never holds two configurations of one cell: the grid
refuses to append one (:func:`stale_cells`), and :func:`read_results` fails naming both.

Beside ``<name>.csv`` the grid writes ``<name>.confusion.csv``: for each cell and test subject
the confusion counts (rows: the target's classes; columns: the 10 union classes), from which
:mod:`harnb.study.intervals` bootstraps over test subjects and seeds.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from harnb import config

if TYPE_CHECKING:  # pragma: no cover
    from harnb.training.profiles import Profile

COLUMNS: tuple[str, ...] = (
    "protocol",
    "target",
    "model",
    "strategy",
    "ratio",
    "seed",
    "metric",
    "value",
    "status",
    "error",
    "seconds",
    "profile",
    "config",
    "timestamp",
)
CELL_KEYS: tuple[str, ...] = ("protocol", "target", "model", "strategy", "ratio", "seed")
#: Metrics written per cell, in order; ``macro_f1`` last marks the cell complete.
#: ``n_train`` and ``n_val`` count the labelled windows a run trained on and chose its
#: checkpoint on (every label it read: ``n_val`` is the target validation part's under the
#: paper's rule, part of the ratio's under ``val_labels=budget``).
#: ``steps`` is the optimiser steps taken, ``best_step`` the one whose weights were kept, and
#: ``best_is_last`` is 1 when that was the last evaluation (the budget ended the run).
METRICS: tuple[str, ...] = (
    "n_train",
    "n_val",
    "steps",
    "best_step",
    "best_is_last",
    "seconds_train",
    "accuracy",
    "macro_f1_union",
    "macro_f1",
)
CONFUSION_COLUMNS: tuple[str, ...] = (
    *CELL_KEYS,
    "subject",
    "classes",
    "counts",
    "config",
    "timestamp",
)


class MixedConfigurations(ValueError):
    """A results file holds one cell under two configurations."""


# --------------------------------------------------------------------------------------------
# Tidy, crash-tolerant CSV files
# --------------------------------------------------------------------------------------------


_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def append_rows(path: str | os.PathLike[str], rows: Sequence[dict[str, Any]], columns) -> None:
    """Append ``rows`` in one write, then flush and fsync; writes the header to a new file.

    If a previous crash left the file without a final newline, a newline is written first so
    the truncated line stays on its own (and is skipped when reading) instead of corrupting
    the new row.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    new = not p.exists() or p.stat().st_size == 0
    if new:
        w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
    text = buf.getvalue()
    if not new:
        with open(p, "rb") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                text = "\n" + text
    with open(p, "a", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def read_tidy(path: str | os.PathLike[str], columns: Sequence[str]) -> pd.DataFrame:
    """Read a tidy CSV tolerantly, skipping damaged rows.

    A row counts only if it ends with a newline, has the header's number of fields and ends
    with a complete timestamp (the last column of every tidy file), so a row cut anywhere by a
    crash is never read as data.
    """
    p = Path(path)
    if not p.exists() or p.stat().st_size == 0:
        return pd.DataFrame(columns=list(columns))
    with open(p, encoding="utf-8", errors="replace", newline="") as f:
        text = f.read()
    lines = text.split("\n")
    # every row is written with its newline: a last line without one was cut by a crash
    lines = lines[:-1]
    rows: list[list[str]] = []
    header: list[str] | None = None
    for line in lines:
        if not line.strip():
            continue
        try:
            fields = next(csv.reader([line]))
        except (csv.Error, StopIteration):
            continue
        if header is None:
            header = fields
            continue
        if len(fields) == len(header) and _TS.match(fields[-1]):
            rows.append(fields)
    return pd.DataFrame(rows, columns=header or list(columns))


def read_results(path: str | os.PathLike[str], check: bool = True) -> pd.DataFrame:
    """Results CSV as a DataFrame (typed; damaged rows skipped; the last write of a row wins).

    Raises :class:`MixedConfigurations` when one cell was recorded under two configurations
    (``check=False`` reads it anyway, e.g. to clean it up).
    """
    df = read_tidy(path, COLUMNS)
    if df.empty:
        return df
    if "config" not in df.columns:
        raise MixedConfigurations(
            f"{path} has no 'config' column: it was written by an older harnb whose cells carry "
            "no configuration hash; rerun them into a new file"
        )
    for c in ("ratio", "seed"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    for c in ("value", "seconds"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    df = df.dropna(subset=["ratio", "seed"])
    df["ratio"] = df["ratio"].astype(int)
    df["seed"] = df["seed"].astype(int)
    df = _latest_rows(df)
    if check:
        check_single_config(df, str(path))
    return df


def _latest_rows(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (cell, profile, config, metric): the last one written wins (reruns)."""
    df = df.drop_duplicates(subset=[*CELL_KEYS, "profile", "config", "metric"], keep="last")
    return df.reset_index(drop=True)


def check_single_config(df: pd.DataFrame, where: str = "results") -> None:
    """Raise :class:`MixedConfigurations` if a cell appears under two configurations."""
    if df.empty:
        return
    n = df.groupby(list(CELL_KEYS))["config"].nunique()
    bad = n[n > 1]
    if len(bad):
        cell = bad.index[0]
        sel = df
        for k, v in zip(CELL_KEYS, cell, strict=True):
            sel = sel[sel[k] == v]
        hashes = sorted(set(sel["config"]))
        raise MixedConfigurations(
            f"{where}: {len(bad)} cell(s) were recorded under more than one configuration, "
            f"e.g. {dict(zip(CELL_KEYS, cell, strict=True))} under {hashes}; keep one "
            "configuration per file (rerun into another --out, or drop the stale rows)"
        )


def find_files(pattern: str | os.PathLike[str]) -> list[Path]:
    """Files matching a path or glob, relative to the repository unless absolute; sorted."""
    pat = Path(pattern)
    if not pat.is_absolute():
        pat = config.REPO_ROOT / pat
    return sorted(Path(pat.anchor).glob(str(pat.relative_to(pat.anchor))))


def read_published(pattern: str | os.PathLike[str]) -> tuple[pd.DataFrame, list[Path]]:
    """All results files matching ``pattern`` (a path or glob, relative to the repository), merged.

    Lets a chapter render several committed runs (one file per model or profile) at once.
    Returns the merged frame and the files read, sorted; no match gives an empty frame.
    """
    files = [p for p in find_files(pattern) if _is_results_file(p)]
    frames = [f for f in (read_results(p) for p in files) if not f.empty]
    if not frames:
        return pd.DataFrame(columns=COLUMNS), files
    df = _latest_rows(pd.concat(frames, ignore_index=True))
    check_single_config(df, ", ".join(p.name for p in files))
    return df, files


def _is_results_file(path: Path) -> bool:
    """True for a results CSV (its header is :data:`COLUMNS`), not a confusion or cross file."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.readline().strip() == ",".join(COLUMNS)
    except OSError:
        return False


def finished_cells(
    path: str | os.PathLike[str], profile: str | None = None, configs: dict | None = None
) -> set[tuple]:
    """Keys (protocol, target, model, strategy, ratio, seed) recorded ``ok`` in ``path``.

    With ``configs`` ({protocol: hash}) only cells of that configuration count as done.
    """
    df = read_results(path, check=False)
    if df.empty:
        return set()
    ok = df[(df["metric"] == "macro_f1") & (df["status"] == "ok")]
    if profile is not None:
        ok = ok[ok["profile"] == profile]
    if configs is not None:
        ok = ok[ok["config"] == ok["protocol"].map(configs)]
    return {
        (r.protocol, r.target, r.model, r.strategy, int(r.ratio), int(r.seed))
        for r in ok.itertuples()
    }


# --------------------------------------------------------------------------------------------
# Configuration identity
# --------------------------------------------------------------------------------------------


def config_hash(profile: Profile, protocol: str, dkey: str, norm_as_released: bool = False) -> str:
    """Hash of every setting that changes a cell's numbers.

    The profile's training fields and the training code's version
    (:meth:`Profile.cell_key`), the split settings (protocol, fractions, normalisation rule)
    and the data key. Two rows with the same hash come from the same configuration.
    """
    from harnb.data import splits

    key = {
        "profile": profile.cell_key(),
        "protocol": protocol,
        "source_fractions": splits.SOURCE_FRACTIONS,
        "target_fractions": splits.TARGET_FRACTIONS,
        "norm_as_released": bool(norm_as_released),
        "data": dkey,
    }
    return hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def stale_cells(path: str | os.PathLike[str], cells: Sequence[tuple], configs: dict) -> dict:
    """Cells of ``cells`` that ``path`` holds under another configuration: {cell: hashes}."""
    df = read_results(path, check=False)
    if df.empty:
        return {}
    want = set(cells)
    out: dict[tuple, set[str]] = {}
    for r in df.itertuples():
        c = (r.protocol, r.target, r.model, r.strategy, int(r.ratio), int(r.seed))
        if c in want and r.config != configs.get(r.protocol):
            out.setdefault(c, set()).add(r.config)
    return out


def drop_cells(path: str | os.PathLike[str], cells: set[tuple]) -> int:
    """Rewrite ``path`` (atomically) without the rows of ``cells``; returns rows dropped."""
    p = Path(path)
    df = read_tidy(p, COLUMNS)
    if df.empty:
        return 0
    key = list(zip(*(df[k] for k in CELL_KEYS), strict=True))
    keep = [(pr, t, m, s, int(r), int(sd)) not in cells for (pr, t, m, s, r, sd) in key]
    dropped = len(df) - sum(keep)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    df[keep].to_csv(tmp, index=False, lineterminator="\n")
    os.replace(tmp, p)
    return dropped


def merge_results(
    out: str | os.PathLike[str], sources: Sequence[str | os.PathLike[str]]
) -> dict[str, int]:
    """Merge results files of one configuration (with their confusion files) into ``out``.

    For parts of a plan run side by side, each into its own file. ``out`` may exist (its
    rows come first) and may be one of ``sources``. Rows repeated exactly are kept once; the
    others keep their order, so "the last write wins" means what it meant in each file. The
    merged rows must hold one configuration per cell (:class:`MixedConfigurations`
    otherwise, and nothing is written). Both files are replaced atomically, the confusion
    file first, as the grid appends them. Returns {source: cells it added}.
    """
    outp = Path(out)
    paths = [outp, *[Path(s) for s in sources if Path(s).resolve() != outp.resolve()]]
    for p in paths[1:]:
        if not p.exists():
            raise FileNotFoundError(f"no results file {p}")
        if p.stat().st_size and not _is_results_file(p):
            raise ValueError(f"{p} is not a results file (its header is not {','.join(COLUMNS)})")
    frames, confs = [], []
    for p in paths:
        df = read_tidy(p, COLUMNS)
        if len(df) and list(df.columns) != list(COLUMNS):
            raise ValueError(f"{p} has columns {list(df.columns)}, not {list(COLUMNS)}")
        frames.append(df.assign(_src=str(p)))
        cf = read_tidy(confusion_path(p), CONFUSION_COLUMNS)
        if len(cf) and list(cf.columns) != list(CONFUSION_COLUMNS):
            raise ValueError(f"{confusion_path(p)} has columns {list(cf.columns)}")
        confs.append(cf)
    allrows = pd.concat(frames, ignore_index=True)
    merged = allrows.drop_duplicates(subset=list(COLUMNS), keep="first")
    typed = merged.drop(columns="_src").copy()
    for c in ("ratio", "seed"):
        typed[c] = pd.to_numeric(typed[c], errors="coerce")
    check_single_config(typed.dropna(subset=["ratio", "seed"]), f"merging into {outp}")
    conf = pd.concat(confs, ignore_index=True).drop_duplicates(keep="first")
    added: dict[str, int] = {}
    seen: set[tuple] = set()
    for p in paths:
        sel = merged[(merged["_src"] == str(p)) & (merged["metric"] == "macro_f1")]
        cells = set(zip(*(sel[k] for k in CELL_KEYS), strict=True)) - seen
        seen |= cells
        if p != outp:
            added[str(p)] = len(cells)
    write_with_confusion(outp, merged.drop(columns="_src"), conf)
    return added


def write_with_confusion(
    out: str | os.PathLike[str], results: pd.DataFrame, confusion: pd.DataFrame
) -> None:
    """Replace a results file and its confusion file atomically, the confusion file first (as
    the grid appends them), so a reader never sees results rows without their counts."""
    outp = Path(out)
    outp.parent.mkdir(parents=True, exist_ok=True)
    for frame, path in ((confusion, confusion_path(outp)), (results, outp)):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        frame.to_csv(tmp, index=False, lineterminator="\n")
        os.replace(tmp, path)


# --------------------------------------------------------------------------------------------
# Per-subject confusion counts
# --------------------------------------------------------------------------------------------


def confusion_path(results: str | os.PathLike[str]) -> Path:
    """``<name>.confusion.csv`` beside ``<name>.csv``."""
    p = Path(results)
    return p.with_name(p.name.removesuffix(".csv") + ".confusion.csv")


def confusion_rows(
    cell: dict[str, Any],
    y_true: np.ndarray,
    y_pred: np.ndarray,
    subjects: np.ndarray,
    classes: np.ndarray,
    config_: str,
    timestamp: str,
) -> list[dict[str, Any]]:
    """One row per test subject: its confusion counts, rows ``classes``, columns all classes."""
    classes = np.asarray(classes, np.int64)
    pos = np.full(config.N_CLASSES, -1)
    pos[classes] = np.arange(len(classes))
    rows = []
    subjects = np.asarray(subjects).astype(str)
    for s in sorted(set(subjects)):
        m = subjects == s
        cm = np.zeros((len(classes), config.N_CLASSES), np.int64)
        yt, yp = np.asarray(y_true)[m], np.asarray(y_pred)[m]
        ok = pos[yt] >= 0
        np.add.at(cm, (pos[yt[ok]], yp[ok]), 1)
        rows.append(
            {
                **cell,
                "subject": s,
                "classes": " ".join(map(str, classes)),
                "counts": " ".join(map(str, cm.ravel())),
                "config": config_,
                "timestamp": timestamp,
            }
        )
    return rows


def read_confusion(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Confusion rows (typed ratio and seed; the last write per cell, config and subject)."""
    df = read_tidy(path, CONFUSION_COLUMNS)
    if df.empty:
        return df
    df["ratio"] = pd.to_numeric(df["ratio"], errors="coerce")
    df["seed"] = pd.to_numeric(df["seed"], errors="coerce")
    df = df.dropna(subset=["ratio", "seed"])
    df["ratio"] = df["ratio"].astype(int)
    df["seed"] = df["seed"].astype(int)
    df = df.drop_duplicates(subset=[*CELL_KEYS, "config", "subject"], keep="last")
    return df.reset_index(drop=True)


def read_with_confusion(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(results, confusion rows) of one results file, the confusion rows kept only for its
    finished cells under the configuration their results rows carry."""
    r = read_results(path)
    c = read_confusion(confusion_path(path))
    if r.empty or c.empty:
        return r, c.iloc[:0] if not c.empty else c
    ok = r[(r["metric"] == "macro_f1") & (r["status"] == "ok")]
    keys = ("strategy", "target", "ratio", "seed", "config")
    keep = set(zip(*(ok[k] for k in keys), strict=True))
    return r, c[[k in keep for k in zip(*(c[k] for k in keys), strict=True)]]


def confusion_matrix_of(row: Any) -> tuple[np.ndarray, np.ndarray]:
    """(classes, counts (len(classes), 10)) of one confusion row."""
    classes = np.asarray(str(row.classes).split(), np.int64)
    counts = np.asarray(str(row.counts).split(), np.int64).reshape(len(classes), -1)
    return classes, counts


def default_results_path(profile: Profile) -> Path:
    """``runs_dir()/results/<profile>.csv``."""
    return config.runs_dir() / "results" / f"{profile.name}.csv"


# --------------------------------------------------------------------------------------------
# Aggregation in the paper's layout
# --------------------------------------------------------------------------------------------


def aggregate(df: pd.DataFrame, metric: str = "macro_f1") -> pd.DataFrame:
    """Mean, sd and count over seeds per (profile, protocol, model, target, ratio, strategy)."""
    d = df[(df["metric"] == metric) & (df["status"] == "ok")]
    keys = ["profile", "protocol", "model", "target", "ratio", "strategy"]
    g = d.groupby(keys)["value"]
    return g.agg(mean="mean", sd="std", n="count").reset_index()


def paper_table(
    df: pd.DataFrame,
    model: str,
    protocol: str = "paper",
    metric: str = "macro_f1",
    scale: float = 100.0,
    fmt: bool = True,
) -> pd.DataFrame:
    """Rows = targets (+ AVG), columns = (ratio, strategy) as in Tables III–V, VII.

    With ``fmt`` cells read "mean ± sd" (× ``scale``); otherwise the columns gain a third level
    ``stat`` ∈ {mean, sd}. The AVG row averages the per-target means (as the paper does).
    """
    a = aggregate(df, metric)
    a = a[(a["model"] == model) & (a["protocol"] == protocol)]
    if a.empty:
        return pd.DataFrame()
    a = a.assign(mean=a["mean"] * scale, sd=a["sd"] * scale)
    order = {s: i for i, s in enumerate(("P_0", "Rd", "P_F", "P_U"))}
    cols = sorted(
        {(int(r), s) for r, s in zip(a["ratio"], a["strategy"], strict=True)},
        key=lambda c: (c[0], order.get(c[1], 9)),
    )
    from harnb.config import DATASETS

    targets = sorted(a["target"].unique(), key=lambda t: (DATASETS + (t,)).index(t))
    mean = a.pivot_table(index="target", columns=["ratio", "strategy"], values="mean")
    sd = a.pivot_table(index="target", columns=["ratio", "strategy"], values="sd", dropna=False)
    mean = mean.reindex(index=targets, columns=pd.MultiIndex.from_tuples(cols))
    sd = sd.reindex(index=targets, columns=pd.MultiIndex.from_tuples(cols))
    mean.loc["AVG"] = mean.mean()
    sd.loc["AVG"] = np.nan
    mean.columns.names = sd.columns.names = ["ratio", "strategy"]
    if not fmt:
        return pd.concat({"mean": mean, "sd": sd}, axis=1).reorder_levels([1, 2, 0], axis=1)

    def cell(m: float, s: float) -> str:
        if pd.isna(m):
            return ""
        return f"{m:.2f}" if pd.isna(s) else f"{m:.2f} ± {s:.2f}"

    out = mean.copy().astype(object)
    for c in mean.columns:
        out[c] = [cell(m, s) for m, s in zip(mean[c], sd[c], strict=True)]
    return out
