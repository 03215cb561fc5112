"""The six public HAR datasets: registry, locating extracted copies, and loading them.

``load(name)`` reads a dataset's *original published files* into :class:`Recording` objects
(SI units, union labels). Files come from ``raw_dir()/NAME``, which ``harnb data fetch``
(:mod:`harnb.fetch`) fills from the offline mirror or the original URL; a folder is only trusted
once its extraction manifest is complete. Pass ``root=`` to read a folder you extracted yourself.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

from harnb import config
from harnb.datasets._registry import REGISTRY, DatasetInfo, Table1Row
from harnb.datasets._store import MANIFEST, check_name, locate_in, missing_message, read_manifest
from harnb.datasets.base import (
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
]

_MODULES = {
    "HHAR": "hhar",
    "MobiAct": "mobiact",
    "MotionSense": "motionsense",
    "RealWorld": "realworld",
    "UCI": "uci",
    "PAMAP2": "pamap2",
}


def locate(name: str) -> Path:
    """The extracted folder ``raw_dir()/NAME`` if its manifest is complete, else DatasetMissing."""
    return locate_in(name, config.raw_dir())


def load(name: str, root: Path | None = None, **options: object) -> list[Recording]:
    """All recordings of dataset ``name`` (acc m/s² with gravity, gyro rad/s, union labels).

    ``root`` defaults to :func:`locate` (a fetched, manifest-complete folder). Options: PAMAP2
    ``position`` (chest/ankle/hand), RealWorld ``position`` (default waist), MobiAct
    ``keep_unlabelled``. Missing files raise DatasetMissing with instructions.
    """
    name = check_name(name)
    if root is None:
        root = locate(name)
    else:
        root = Path(root)
        if not root.is_dir():
            raise DatasetMissing(missing_message(name, root, f"no folder {root}"))
    mod = importlib.import_module(f"harnb.datasets.{_MODULES[name]}")
    try:
        return mod.load(root, **options)
    except DatasetMissing as e:
        raise DatasetMissing(missing_message(name, root, str(e))) from e


def available(mirror: Path | None = None) -> list[str]:
    """Datasets that are extracted (manifest complete) or fetchable from the mirror."""
    mirror = mirror or config.mirror_dir()
    out = []
    for name in config.DATASETS:
        try:
            locate(name)
            out.append(name)
            continue
        except DatasetMissing:
            pass
        if mirror and any((mirror / f).is_file() for f in REGISTRY[name].mirror_files):
            out.append(name)
    return out


def fingerprint(name: str, root: Path | None = None) -> str:
    """A cheap content key of a dataset's raw files, for keying preprocessing caches.

    sha256 over every file's relative path and size, plus the extraction manifest's content
    hash when there is one (it covers the bytes) or else each file's mtime. Stat-only: cheap.
    """
    name = check_name(name)
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
