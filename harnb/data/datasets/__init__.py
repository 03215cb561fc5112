"""The six public HAR datasets, extra public ones (HuGaDB), and your own: registry, locating
extracted copies, loading.

``load(name)`` reads a dataset's *original published files* into :class:`Recording` objects
(SI units, union labels). Files come from ``raw_dir()/NAME``, which ``harnb data fetch``
(:mod:`harnb.data.fetch`) fills from the offline mirror or the original URL; a folder is only trusted
once its extraction manifest is complete, and a dataset whose archive is in the mirror
(``HARNB_MIRROR``) is fetched on first use. Pass ``root=`` to read a folder you extracted
yourself.

More datasets, without editing the library: a folder in the CSV format of
:mod:`harnb.data.datasets.csvfolder` added with ``harnb data add FOLDER`` (remembered in the data
folder), or a loader registered in code with :func:`register`. Both then go through the same
resampling, windowing, normalisation and windows cache as the six.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable, Sequence
from pathlib import Path

from harnb import config
from harnb.data.datasets import added
from harnb.data.datasets._extracted import (
    MANIFEST,
    check_name,
    locate_in,
    missing_message,
    read_manifest,
)
from harnb.data.datasets._registry import REGISTRY, DatasetInfo, Table1Row
from harnb.data.datasets.base import (
    DataFormatError,
    DatasetError,
    DatasetMissing,
    Recording,
    Stream,
)

__all__ = [
    "REGISTRY",
    "DatasetInfo",
    "Table1Row",
    "DatasetError",
    "DatasetMissing",
    "DataFormatError",
    "Recording",
    "Stream",
    "load",
    "locate",
    "available",
    "fingerprint",
    "names",
    "register",
    "unregister",
    "add_folder",
    "classes",
    "check_lodo",
]

_MODULES = {
    "HHAR": "hhar",
    "MobiAct": "mobiact",
    "MotionSense": "motionsense",
    "RealWorld": "realworld",
    "UCI": "uci",
    "PAMAP2": "pamap2",
    "HuGaDB": "hugadb",
}


def names() -> tuple[str, ...]:
    """Every dataset name harnb knows here: the paper's six, the extra public ones
    (``config.EXTRA_DATASETS``), then the added and registered ones."""
    return (*config.DATASETS, *config.EXTRA_DATASETS, *added.registered())


def register(
    name: str,
    load: Callable[..., list[Recording]],
    *,
    root: str | Path | None = None,
    fingerprint: Callable[[], str] | None = None,
    classes: Sequence[str] | None = None,
    device: str = "",
    position: str = "",
    replace: bool = False,
) -> None:
    """Make a dataset loader known to harnb, in this process (the extension point for code).

    ``load(root, **options)`` (or ``load(**options)`` without ``root``) returns Recordings with
    ``dataset=name``, acc in m/s² with gravity, gyro in rad/s and labels indexing ``classes``
    (default: the 10-class union, ``config.CLASSES``; -1 drops a sample). The windows cache is
    keyed by the content of the files under ``root``, or by ``fingerprint()``. A dataset with
    its own ``classes`` can be windowed and fine-tuned on, but not be a LODO target or source.
    """
    added.register(
        name, load, root=root, fingerprint=fingerprint,
        classes=tuple(classes) if classes is not None else None,
        device=device, position=position, replace=replace,
    )  # fmt: skip


def unregister(name: str) -> None:
    """Forget a dataset registered in code."""
    added.unregister(name)


def add_folder(
    folder: str | Path,
    replace: bool = False,
    allow: Sequence[str] | None = None,
    windows: added.WindowsFn | None = None,
) -> dict:
    """Validate a CSV dataset folder and remember it (``harnb data add``); returns a summary.

    ``allow`` turns plausibility checks off (``csvfolder.CHECKS``); with ``windows``
    (``harnb.data.preprocess.windows_from_recordings``) a folder that yields no window is
    refused, saying why.
    """
    return added.add_folder(folder, replace=replace, allow=allow, windows=windows)[1]


def classes(name: str) -> tuple[str, ...]:
    """The class names a dataset's labels index: the union, or an added dataset's own."""
    ds = added.get(check_name(name))
    return ds.classes if ds is not None else config.CLASSES


def check_lodo(name: str) -> None:
    """DatasetError when ``name`` cannot take part in LODO (it has classes of its own)."""
    ds = added.get(check_name(name))
    if ds is not None and ds.own_classes:
        raise DatasetError(added.own_classes_message(ds.name, ds.classes))


def _in_mirror(name: str, mirror: Path | None) -> Path | None:
    """The mirror, when it holds one of the dataset's archives."""
    info = REGISTRY.get(name)
    if info is None or mirror is None:
        return None
    return mirror if any((mirror / f).is_file() for f in info.mirror_files) else None


def locate(name: str, fetch: bool = True) -> Path:
    """The extracted folder ``raw_dir()/NAME`` if its manifest is complete, else DatasetMissing.

    A dataset never extracted here whose archive is in the mirror (``HARNB_MIRROR``) is
    fetched first (``fetch=False`` turns that off): the user set the mirror to be used.
    """
    name = check_name(name)
    ds = added.get(name)
    if ds is not None:
        folder = ds.folder or ds.root
        if folder is None:
            raise DatasetMissing(f"{name} is registered in code without a root folder")
        return folder
    raw = config.raw_dir()
    mirror = config.mirror_dir()
    if fetch and not (raw / name).exists() and _in_mirror(name, mirror):
        import sys

        from harnb.data.fetch import fetch_one

        print(f"harnb: {name} is not extracted yet; fetching it from {mirror}", file=sys.stderr)
        return fetch_one(name, mirror, raw, progress=sys.stderr.isatty())
    return locate_in(name, raw)


def load(name: str, root: Path | None = None, **options: object) -> list[Recording]:
    """All recordings of dataset ``name`` (acc m/s² with gravity, gyro rad/s, union labels).

    ``root`` defaults to :func:`locate` (a fetched, manifest-complete folder). Options: PAMAP2
    ``position`` (chest/ankle/hand), RealWorld ``position`` (default waist), HuGaDB
    ``position`` (default right_thigh), MobiAct ``keep_unlabelled``, an added CSV folder
    ``subjects``. Missing files raise DatasetMissing with instructions.
    """
    name = check_name(name)
    ds = added.get(name)
    if ds is not None:
        return added.load(ds, Path(root) if root is not None else None, **options)
    if root is None:
        root = locate(name)
    else:
        root = Path(root)
        if not root.is_dir():
            raise DatasetMissing(missing_message(name, root, f"no folder {root}"))
    mod = importlib.import_module(f"harnb.data.datasets.{_MODULES[name]}")
    try:
        return mod.load(root, **options)
    except DatasetMissing as e:
        raise DatasetMissing(missing_message(name, root, str(e))) from e


def available(mirror: Path | None = None) -> list[str]:
    """Datasets that are extracted (manifest complete) or fetchable from the mirror (the paper's
    six, then the extra public ones), then the added and registered ones labelled on the union
    (those with own classes are left out: they cannot join the others)."""
    mirror = mirror or config.mirror_dir()
    out = []
    for name in (*config.DATASETS, *config.EXTRA_DATASETS):
        try:
            locate(name, fetch=False)
            out.append(name)
            continue
        except DatasetMissing:
            pass
        if _in_mirror(name, mirror):
            out.append(name)
    for name, ds in added.registered().items():
        folder = ds.folder or ds.root
        if not ds.own_classes and (folder is None or folder.is_dir()):
            out.append(name)
    return out


def fingerprint(name: str, root: Path | None = None) -> str:
    """A cheap content key of a dataset's raw files, for keying preprocessing caches.

    sha256 over every file's relative path and size, plus the extraction manifest's content
    hash when there is one (it covers the bytes) or else each file's mtime. Stat-only: cheap.
    """
    name = check_name(name)
    ds = added.get(name)
    if ds is not None:
        return added.fingerprint(ds, Path(root) if root is not None else None)
    root = locate(name) if root is None else Path(root)
    if not root.is_dir():
        raise DatasetMissing(missing_message(name, root, f"no folder {root}"))
    h = hashlib.sha256(f"{name}\n".encode())
    doc = read_manifest(root)
    h.update(f"manifest {doc['content_sha256'] if doc else 'none'}\n".encode())
    files = sorted(
        (p.relative_to(root).as_posix(), p.stat())
        for p in root.rglob("*")
        if p.is_file() and p.name != MANIFEST
    )
    for rel, st in files:
        # without a manifest, modification times stand in for the content hash
        stamp = "" if doc else f"\t{st.st_mtime_ns}"
        h.update(f"{rel}\t{st.st_size}{stamp}\n".encode())
    return h.hexdigest()
