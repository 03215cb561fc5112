"""The windows store: every preprocessed window of one or more datasets, with its metadata.

One :class:`WindowStore` holds float32 windows ``X`` of shape (N, 128, 6) in raw SI units
(acc m/s² with gravity, gyro rad/s; normalisation is applied later, from training subjects
only) and one row of metadata per window. On disk, a dataset's store is a folder of ``.npy``
files plus a ``meta.json`` that is written last; the folder is created under a temporary name
and renamed into place, so a crash never leaves a folder that :func:`read_store_dir` trusts.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harnb.config import CLASSES

#: Bumped whenever the on-disk layout changes (it is also part of every cache key).
FORMAT_VERSION = 1
#: Per-window arrays saved as .npy files (subject/device/position/dataset come from meta.json).
_ARRAYS = ("X", "y", "recording", "start")
#: Prefix of folders being written; never read as a cache.
TMP_PREFIX = ".tmp-"


@dataclass
class WindowStore:
    """Windows plus per-window metadata; every array has the same first dimension N.

    ``subject`` values are unique across datasets (``"UCI:1"``); ``recording`` ids are unique
    within one store (:meth:`concat` offsets them), so grouping by them never merges two
    recordings of different datasets.
    """

    X: np.ndarray  # (N, W, 6) float32
    y: np.ndarray  # (N,) int8, union class index
    dataset: np.ndarray  # (N,) str
    subject: np.ndarray  # (N,) str, "<dataset>:<subject>"
    device: np.ndarray  # (N,) str
    position: np.ndarray  # (N,) str
    recording: np.ndarray  # (N,) int32
    start: np.ndarray  # (N,) float32, window start in s after the recording's first sample

    def __post_init__(self) -> None:
        n = len(self.X)
        if self.X.ndim != 3:
            raise ValueError(f"X must be (N, window, channels), got {self.X.shape}")
        for name in ("y", "dataset", "subject", "device", "position", "recording", "start"):
            a = getattr(self, name)
            if a.shape != (n,):
                raise ValueError(f"WindowStore.{name} has shape {a.shape}, expected ({n},)")

    def __len__(self) -> int:
        return len(self.X)

    def __repr__(self) -> str:
        return f"WindowStore({len(self)} windows, datasets={self.datasets()}, X{self.X.shape})"

    def select(self, which: np.ndarray | list[int] | slice) -> WindowStore:
        """A new store with the windows picked by a boolean mask, an index array or a slice."""
        if not isinstance(which, slice):
            which = np.asarray(which)
            if which.dtype == bool and which.shape != (len(self),):
                raise ValueError(f"mask has shape {which.shape}, store has {len(self)} windows")
        return WindowStore(
            X=self.X[which],
            y=self.y[which],
            dataset=self.dataset[which],
            subject=self.subject[which],
            device=self.device[which],
            position=self.position[which],
            recording=self.recording[which],
            start=self.start[which],
        )

    @staticmethod
    def concat(stores: list[WindowStore]) -> WindowStore:
        """Stack stores; recording ids are offset so that they stay unique."""
        if not stores:
            raise ValueError("concat needs at least one WindowStore")
        offsets = np.cumsum([0] + [int(s.recording.max()) + 1 if len(s) else 0 for s in stores])
        rec = [
            s.recording.astype(np.int32) + np.int32(o)
            for s, o in zip(stores, offsets, strict=False)
        ]
        return WindowStore(
            X=np.concatenate([s.X for s in stores]),
            y=np.concatenate([s.y for s in stores]),
            dataset=np.concatenate([s.dataset for s in stores]),
            subject=np.concatenate([s.subject for s in stores]),
            device=np.concatenate([s.device for s in stores]),
            position=np.concatenate([s.position for s in stores]),
            recording=np.concatenate(rec).astype(np.int32),
            start=np.concatenate([s.start for s in stores]),
        )

    def datasets(self) -> list[str]:
        """Dataset names in the order they first appear."""
        _, first = np.unique(self.dataset, return_index=True)
        return [str(self.dataset[i]) for i in np.sort(first)]

    def summary(self, classes: dict[str, tuple[str, ...]] | None = None) -> pd.DataFrame:
        """Per dataset: windows, subjects, classes present, and the window count of each class.

        Counts are named by each dataset's own class names (``classes``, default: the
        registry's, the 10-class union for the paper's datasets), so a dataset with its own
        classes, of any number, is counted under its names; columns are every name in order.
        """
        names = {n: tuple((classes or {}).get(n) or _class_names(n)) for n in self.datasets()}
        rows = []
        for name in self.datasets():
            m = self.dataset == name
            counts = np.bincount(self.y[m].astype(np.int64), minlength=len(names[name]))
            cls = names[name] + tuple(f"class {i}" for i in range(len(names[name]), len(counts)))
            row: dict[str, Any] = {
                "dataset": name,
                "windows": int(m.sum()),
                "subjects": len(np.unique(self.subject[m])),
                "recordings": len(np.unique(self.recording[m])),
                "classes": int((counts > 0).sum()),
            }
            row.update({c: int(k) for c, k in zip(cls, counts, strict=True)})
            rows.append(row)
        columns = list(dict.fromkeys(c for r in rows for c in list(r)[5:])) or list(CLASSES)
        cols = ["dataset", "windows", "subjects", "recordings", "classes", *columns]
        df = pd.DataFrame(rows, columns=cols).set_index("dataset")
        return df.fillna(0).astype({c: int for c in columns}) if rows else df


def _class_names(dataset: str) -> tuple[str, ...]:
    """The class names a dataset's labels index: an added dataset's own, else the union."""
    from harnb.data.datasets import added

    ds = added.get(dataset)
    return ds.classes if ds is not None else CLASSES


# --------------------------------------------------------------------------- on-disk format


def write_store_dir(final: Path, store: WindowStore, meta: dict[str, Any]) -> Path:
    """Write one dataset's store atomically: temp folder, meta.json last, then rename.

    ``meta`` must carry ``"recordings"``: one dict per recording id with its subject, device
    and position; the per-window string columns are rebuilt from it on load.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{final.name}-", dir=final.parent))
    try:
        for name in _ARRAYS:
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(getattr(store, name)))
        meta = {**meta, "format": FORMAT_VERSION, "n_windows": len(store), "complete": True}
        with open(tmp / "meta.json", "w") as f:
            json.dump(meta, f, indent=1, default=_json_default)
            f.flush()
            os.fsync(f.fileno())
        if final.exists():  # an untrusted leftover or a forced rebuild: move it out of the way
            trash = final.parent / f"{TMP_PREFIX}trash-{final.name}-{uuid.uuid4().hex[:8]}"
            try:
                os.replace(final, trash)
                shutil.rmtree(trash, ignore_errors=True)
            except FileNotFoundError:
                pass  # another process removed it first
        try:
            os.replace(tmp, final)
        except OSError:
            # Another process finished the same build first; keep theirs if it is sound.
            if read_meta(final, meta.get("key")) is None:
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def read_meta(folder: Path, key: str | None = None) -> dict[str, Any] | None:
    """The folder's meta.json if it marks a completed store (with this key), else None."""
    try:
        meta = json.loads((Path(folder) / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("complete") is not True:
        return None
    if meta.get("format") != FORMAT_VERSION or (key is not None and meta.get("key") != key):
        return None
    return meta


def read_store_dir(folder: Path, key: str | None = None) -> WindowStore | None:
    """Load a store written by :func:`write_store_dir`; None when absent, partial or stale."""
    folder = Path(folder)
    meta = read_meta(folder, key)
    if meta is None:
        return None
    try:
        arrays = {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in _ARRAYS}
    except (OSError, ValueError):
        return None
    n = int(meta["n_windows"])
    if any(len(a) != n for a in arrays.values()):
        return None
    recs = meta["recordings"]
    rid = arrays["recording"]
    if n and (rid.min() < 0 or rid.max() >= len(recs)):
        return None

    def column(field: str) -> np.ndarray:
        table = np.array([str(r[field]) for r in recs] or [""])
        return table[rid] if n else np.array([], dtype=table.dtype)

    return WindowStore(
        X=arrays["X"],
        y=arrays["y"],
        dataset=np.full(n, meta["dataset"]),
        subject=column("subject"),
        device=column("device"),
        position=column("position"),
        recording=rid,
        start=arrays["start"],
    )


def remove_stale_temp(parent: Path, max_age_s: float = 6 * 3600) -> None:
    """Delete temp folders left behind by crashed builds (older than ``max_age_s``)."""
    parent = Path(parent)
    if not parent.is_dir():
        return
    now = time.time()
    for p in parent.glob(f"{TMP_PREFIX}*"):
        try:
            if now - p.stat().st_mtime > max_age_s:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")
