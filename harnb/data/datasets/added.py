"""Datasets beyond the paper's six: CSV folders registered by ``harnb data add`` (persistent)
and loaders registered in code with :func:`harnb.data.datasets.register` (this process only).

Folder datasets are remembered in ``data_dir()/user-datasets.json`` (name -> folder), written
atomically, so every later command (``harnb run``, ``harnb data windows``, the chapters) sees
them. Their windows are cached like the six's, keyed by the content of the folder's files.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harnb import config
from harnb.data.datasets import csvfolder
from harnb.data.datasets.base import DatasetError, DatasetMissing, Recording

REGISTRY_FILE = "user-datasets.json"
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class UserDataset:
    """One dataset that is not one of the paper's six.

    Exactly one of ``folder`` (a CSV folder dataset) and ``loader`` (registered in code) is set.
    ``classes`` are the label names of the dataset's label indices: the 10-class union unless
    ``own_classes``, in which case the dataset cannot be a LODO target or source. ``allow``
    names the plausibility checks (:data:`csvfolder.CHECKS`) ``harnb data add --allow`` turned
    off for a folder: every later read of it honours them.
    """

    name: str
    classes: tuple[str, ...]
    own_classes: bool = False
    folder: Path | None = None
    loader: Callable[..., list[Recording]] | None = None
    root: Path | None = None
    fingerprint: Callable[[], str] | None = None
    device: str = ""
    position: str = ""
    derived_from: str = ""
    allow: tuple[str, ...] = ()

    def describe(self) -> str:
        """Where the dataset comes from, in a few words."""
        if self.folder is not None:
            return f"CSV folder {self.folder}"
        return f"loader {getattr(self.loader, '__qualname__', self.loader)!r} (registered in code)"


_CODE: dict[str, UserDataset] = {}


def registry_path() -> Path:
    """The JSON file that remembers ``harnb data add``'s folders."""
    return config.data_dir() / REGISTRY_FILE


def _read_registry() -> dict[str, dict]:
    p = registry_path()
    try:
        doc = json.loads(p.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise DatasetError(
            f"{p}: unreadable registry of added datasets ({e}); fix or delete it"
        ) from e
    if not isinstance(doc, dict) or not isinstance(doc.get("datasets"), dict):
        raise DatasetError(f"{p}: not a registry of added datasets; fix or delete it")
    return doc["datasets"]


def _write_registry(entries: dict[str, dict]) -> None:
    p = registry_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump({"version": 1, "datasets": entries}, fh, indent=1, sort_keys=True)
        os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def registered() -> dict[str, UserDataset]:
    """Every dataset added with ``harnb data add`` (this data folder) or registered in code."""
    out: dict[str, UserDataset] = {}
    for name, e in _read_registry().items():
        out[name] = UserDataset(
            name=name,
            classes=tuple(e.get("classes") or config.CLASSES),
            own_classes=bool(e.get("own_classes")),
            folder=Path(e["folder"]),
            device=e.get("device", ""),
            position=e.get("position", ""),
            derived_from=e.get("derived_from", ""),
            allow=tuple(e.get("allow", ())),
        )
    out.update(_CODE)
    return out


def get(name: str) -> UserDataset | None:
    """The user dataset called ``name`` (exact spelling), or None."""
    return registered().get(name)


def _check_new_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            f"dataset name {name!r}: a letter then up to 39 letters, digits, '_' or '-'"
        )
    if any(name.lower() == d.lower() for d in config.DATASETS):
        raise ValueError(f"{name!r} is one of the paper's datasets; choose another name")
    if any(name.lower() == d.lower() for d in config.EXTRA_DATASETS):
        raise ValueError(f"{name!r} is a dataset harnb reads already; choose another name")


#: The gap rule of preprocessing (``PreprocessConfig.max_gap_s`` and ``max_gap_rel``), to say
#: why no window fits.
GAP_S, GAP_REL = 0.2, 5.0
#: ``windows(recordings) -> (store, recording table)``: how :func:`add_folder` cuts windows
#: (``harnb.data.preprocess.windows_from_recordings``; passed in, as preprocessing imports
#: this package).
WindowsFn = Callable[[list[Recording]], tuple[Any, list[dict[str, Any]]]]


def add_folder(
    folder: str | os.PathLike[str],
    replace: bool = False,
    allow: Iterable[str] | None = None,
    windows: WindowsFn | None = None,
) -> tuple[UserDataset, dict]:
    """Validate a CSV folder completely and remember it; returns it and a short summary.

    Every file is read and checked for plausibility (but the checks in ``allow``), so a bad
    row is reported now, by file and line, not later while building windows. With
    ``windows`` (``harnb data add`` passes preprocessing's), the folder is cut into windows
    first and registered only if it yields one; else DatasetError says why none fits.
    Re-adding the same folder is harmless; another folder under a registered name needs
    ``replace``. The summary's ``notes`` say which files were re-timed (bursts).
    """
    mpath = csvfolder.meta_path(folder)
    root = mpath.parent
    meta = csvfolder.read_meta(mpath)
    ok = csvfolder.allowed(allow)
    _check_new_name(meta.name)
    if meta.name in _CODE:
        raise ValueError(f"{meta.name!r} is already registered in code; choose another name")
    recs = csvfolder.read_folder(root, allow=ok)
    entries = _read_registry()
    for other in entries:
        if other.lower() == meta.name.lower() and other != meta.name:
            raise ValueError(f"{meta.name!r} differs from the registered {other!r} only by case")
    old = entries.get(meta.name)
    if old and Path(old["folder"]) != root and not replace:
        raise ValueError(
            f"a dataset called {meta.name!r} is already added from {old['folder']}; change "
            '"name" in the metadata, or pass --replace to point the name at this folder'
        )
    n_windows: int | None = None
    window_counts: dict[str, int] = {}
    if windows is not None:
        store, table = windows(recs)
        if len(store) == 0:
            raise DatasetError(f"{root}: not added: {why_no_window(recs, table)}")
        n_windows = len(store)
        labels, counts = np.unique(np.asarray(store.y), return_counts=True)
        window_counts = {meta.classes[int(c)]: int(k) for c, k in zip(labels, counts, strict=True)}
    entries[meta.name] = {
        "folder": str(root),
        "classes": list(meta.classes),
        "own_classes": meta.own_classes,
        "device": meta.device,
        "position": meta.position,
        "derived_from": meta.derived_from,
        **({"allow": sorted(ok)} if ok else {}),
    }
    _write_registry(entries)
    counts: dict[str, int] = {}
    for r in recs:
        for i in r.labels[r.labels >= 0]:
            counts[meta.classes[int(i)]] = counts.get(meta.classes[int(i)], 0) + 1
    summary = {
        "name": meta.name,
        "folder": str(root),
        "subjects": len({r.subject for r in recs}),
        "recordings": len(recs),
        "samples": int(sum(len(r.labels) for r in recs)),
        "labelled_samples": counts,
        "windows": n_windows,
        "windows_per_class": window_counts,
        "own_classes": meta.own_classes,
        "allow": sorted(ok),
        "notes": retime_notes(recs),
    }
    return get(meta.name) or UserDataset(meta.name, meta.classes), summary  # type: ignore[return-value]


def retime_notes(recs: list[Recording]) -> list[str]:
    """One line for the files re-timed because their samples came in bursts (or none)."""
    notes = [r.meta["note"] for r in recs if r.meta.get("note")]
    if len(notes) <= 1:
        return notes
    return [f"{len(notes)} of {len(recs)} files were re-timed, e.g. {notes[0]}"]


def why_no_window(
    recs: list[Recording], table: list[dict[str, Any]], window: int = config.WINDOW,
    rate: float = config.RATE_HZ,
) -> str:  # fmt: skip
    """Why no window of ``window`` samples fits in any recording, in one sentence.

    ``table`` is the recording table of ``harnb.data.preprocess.windows_from_recordings``
    (gap-free segments and grid samples per recording, in ``recs`` order).
    """
    need = f"no window of {window} samples ({window / rate:g} s at {rate:g} Hz) fits"
    if not recs:
        return f"{need}: there is no recording"

    def dur(r: Recording) -> float:
        t = np.asarray(r.acc.t)
        return float(t[-1] - t[0]) if len(t) > 1 else 0.0

    i = max(range(len(recs)), key=lambda j: dur(recs[j]))
    r, row = recs[i], table[i]
    name = r.meta.get("file") or f"{r.subject}/{r.session}"
    if dur(r) < (window - 1) / rate:
        return f"{need}: every recording is shorter (the longest, {name}, lasts {dur(r):.2f} s)"
    if all((np.asarray(q.labels) < 0).all() for q in recs):
        return f"{need}: every sample's label maps to null (dropped)"
    t = np.asarray(r.acc.t)
    med = float(np.median(np.diff(t)))
    cuts = int((np.diff(t) > min(GAP_S, GAP_REL * med)).sum())
    if cuts and (row["segments"] == 0 or row["samples"] / row["segments"] < window):
        step = f"{med:.3g} s" if med >= 1 else f"{med * 1e3:.3g} ms"
        bursts = (
            f"; samples in bursts are re-timed only when their mean rate is within "
            f"{100 * csvfolder.BURST_TOLERANCE:g} % of rate_hz ({r.nominal_rate:g} Hz)"
            if med < 1 / (csvfolder.RATE_FACTOR * r.nominal_rate)
            else ""
        )
        return (
            f"{need}: the longest recording, {name} ({dur(r):.1f} s, {len(t)} samples), is cut "
            f"into {cuts + 1} gap-free pieces of {len(t) / (cuts + 1):.3g} samples on average, "
            f"because a step longer than {GAP_S:g} s or {GAP_REL:g} median steps (here {step}) "
            f"is a gap{bursts}"
        )
    y = np.asarray(r.labels)
    runs = np.diff(np.r_[0, np.flatnonzero(np.diff(y) != 0) + 1, len(y)])
    return (
        f"{need}: no stretch of one label lasts {window / rate:g} s (in the longest recording, "
        f"{name}, the label changes {len(runs) - 1} times, the longest run has {runs.max()} "
        f"samples, {runs.max() * med:.2f} s)"
    )


def remove(name: str) -> Path:
    """Forget an added folder dataset (its files are left alone); returns its folder."""
    entries = _read_registry()
    if name not in entries:
        raise ValueError(f"no added dataset called {name!r} (added: {sorted(entries) or 'none'})")
    folder = Path(entries.pop(name)["folder"])
    _write_registry(entries)
    return folder


def register(
    name: str,
    load: Callable[..., list[Recording]],
    *,
    root: str | os.PathLike[str] | None = None,
    fingerprint: Callable[[], str] | None = None,
    classes: tuple[str, ...] | list[str] | None = None,
    device: str = "",
    position: str = "",
    replace: bool = False,
) -> UserDataset:
    """Register a dataset loader in code (see :func:`harnb.data.datasets.register`)."""
    _check_new_name(name)
    if not callable(load):
        raise TypeError(f"load must be callable, got {load!r}")
    if root is None and fingerprint is None:
        raise ValueError(
            f"register({name!r}): pass root= (a folder whose files' content keys the cache) "
            "or fingerprint= (a function returning a content key): windows are cached by content"
        )
    if not replace and (name in _CODE or name in _read_registry()):
        raise ValueError(f"{name!r} is already registered; pass replace=True to replace it")
    own = classes is not None and tuple(classes) != config.CLASSES
    ds = UserDataset(
        name=name,
        classes=tuple(classes) if classes is not None else config.CLASSES,
        own_classes=own,
        loader=load,
        root=Path(root).expanduser().resolve() if root is not None else None,
        fingerprint=fingerprint,
        device=device,
        position=position,
    )
    _CODE[name] = ds
    return ds


def unregister(name: str) -> None:
    """Forget a dataset registered in code (tests, notebooks)."""
    _CODE.pop(name, None)


def load(ds: UserDataset, root: Path | None, **options: object) -> list[Recording]:
    """The recordings of a user dataset, from its folder or its loader."""
    if ds.folder is not None:
        folder = Path(root) if root is not None else ds.folder
        if not (folder / csvfolder.META).is_file():
            raise DatasetMissing(missing_folder_message(ds, folder))
        return csvfolder.read_folder(folder, allow=ds.allow, **options)  # type: ignore[arg-type]
    assert ds.loader is not None
    r = root if root is not None else ds.root
    recs = ds.loader(r, **options) if r is not None else ds.loader(**options)
    recs = list(recs)
    for rec in recs:
        if not isinstance(rec, Recording):
            raise TypeError(f"{ds.name}: the loader returned {type(rec).__name__}, not Recording")
        if rec.dataset != ds.name:
            raise ValueError(
                f"{ds.name}: the loader returned a recording of dataset {rec.dataset!r}; "
                f"set Recording.dataset to {ds.name!r}"
            )
    return recs


def fingerprint(ds: UserDataset, root: Path | None) -> str:
    """The content key of a user dataset's files."""
    import hashlib

    if ds.folder is not None:
        folder = Path(root) if root is not None else ds.folder
        if not (folder / csvfolder.META).is_file():
            raise DatasetMissing(missing_folder_message(ds, folder))
        return csvfolder.folder_fingerprint(folder)
    if ds.fingerprint is not None and root is None:
        return f"{ds.name}:{ds.fingerprint()}"
    folder = Path(root) if root is not None else ds.root
    assert folder is not None
    if not folder.is_dir():
        raise DatasetMissing(f"{ds.name}: its root folder {folder} does not exist")
    h = hashlib.sha256(f"{ds.name}\n".encode())
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(f"{p.relative_to(folder).as_posix()}\t".encode())
            h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def source_files(ds: UserDataset) -> list[Path]:
    """Source files whose edits change the dataset's windows (for the cache's code version)."""
    if ds.folder is not None:
        return [Path(csvfolder.__file__), Path(__file__)]
    try:
        f = inspect.getsourcefile(ds.loader)  # type: ignore[arg-type]
    except TypeError:
        f = None
    return [Path(__file__)] + ([Path(f)] if f and Path(f).is_file() else [])


def missing_folder_message(ds: UserDataset, folder: Path) -> str:
    """What to do when an added folder is gone."""
    return (
        f"{ds.name} was added from {folder}, which has no {csvfolder.META} any more: put the "
        f"folder back, run `harnb data add NEW_FOLDER --replace`, or `harnb data remove "
        f"{ds.name}`"
    )


def check_together(names: list[str] | tuple[str, ...]) -> None:
    """DatasetError when datasets that cannot share a store are loaded together.

    Two reasons: a dataset with its own classes (its label indices mean other activities),
    and a dataset exported from another one in the list (the same recordings twice: as LODO
    target and source, the target would leak into pre-training).
    """
    if len(names) < 2:
        return
    reg = registered()
    for n in names:
        ds = reg.get(n)
        if ds is None:
            continue
        if ds.own_classes:
            raise DatasetError(own_classes_message(ds.name, ds.classes))
        if ds.derived_from and ds.derived_from in names:
            rest = " ".join(x for x in names if x != ds.derived_from)
            raise DatasetError(
                f"{ds.name} holds recordings of {ds.derived_from} (it was exported from it): "
                "loading both would put a LODO target's recordings among its sources; choose "
                f"one, e.g. `harnb run --datasets {rest}`"
            )


def own_classes_message(name: str, classes: tuple[str, ...]) -> str:
    """Why an own-class dataset cannot take part in LODO."""
    return (
        f"{name} has its own classes {list(classes)}, not the 10-class union: it can be "
        "fine-tuned on alone (harnb.data.datasets.load / harnb data windows), but it cannot be a "
        "LODO target or source, nor be mixed with other datasets; map its labels onto the "
        f"union classes {list(config.CLASSES)} in its {csvfolder.META} to use it in `harnb run`"
    )
