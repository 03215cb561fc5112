"""Where extracted datasets live and how we know an extraction is complete (the manifest).

``fetch`` extracts into a temp folder, writes :data:`MANIFEST` last, then renames the folder
into place. A folder without a readable, complete manifest whose files are all present with
their recorded sizes is never trusted: it may be a crash's leftovers.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from harnb import config
from harnb.data.datasets._registry import REGISTRY
from harnb.data.datasets.base import DatasetMissing

MANIFEST = ".harnb-manifest.json"
MANIFEST_VERSION = 1


def check_name(name: str) -> str:
    """The registry's spelling of ``name`` (case-insensitive), or ValueError naming the choices.

    Datasets added with ``harnb data add`` or :func:`harnb.data.datasets.register` count too.
    """
    from harnb.data.datasets import added

    extra = list(added.registered())
    for k in [*REGISTRY, *extra]:
        if k.lower() == str(name).lower():
            return k
    raise ValueError(
        f"unknown dataset {name!r}; valid choices: "
        f"{', '.join([*config.DATASETS, *config.EXTRA_DATASETS, *extra])}"
        " (add your own with `harnb data add FOLDER`)"
    )


def read_manifest(folder: Path) -> dict | None:
    """The folder's manifest if it is complete and matches the files on disk, else None.

    Checks presence and size of every listed file (cheap: stat only), not their content.
    """
    doc, _ = check_manifest(folder)
    return doc


def check_manifest(folder: Path) -> tuple[dict | None, str]:
    """The manifest (or None) and, when it is not trusted, why, in words a user can act on.

    The reasons tell a half-finished extraction (no complete manifest) from a file that was
    changed or deleted after a complete one: they call for different fixes.
    """
    m = folder / MANIFEST
    try:
        doc = json.loads(m.read_text())
    except (OSError, ValueError):
        return None, "incomplete"
    if not isinstance(doc, dict) or doc.get("complete") is not True:
        return None, "incomplete"
    files = doc.get("files")
    if not isinstance(files, dict) or doc.get("version") != MANIFEST_VERSION:
        return None, "incomplete"
    for rel, meta in files.items():
        try:
            size = (folder / rel).stat().st_size
        except FileNotFoundError:
            return None, f"{folder / rel} was deleted since extraction"
        except OSError as e:
            return None, f"{folder / rel} cannot be read ({e})"
        try:
            want = int(meta["size"])
        except (KeyError, TypeError, ValueError):
            return None, "incomplete"
        if size != want:
            return None, (
                f"{folder / rel} changed since extraction ({size} bytes, {want} when extracted)"
            )
    return doc, ""


def content_hash(files: dict[str, dict]) -> str:
    """One sha256 over every file's path, size and content hash (the manifest's key)."""
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(f"{rel}\t{files[rel]['size']}\t{files[rel].get('sha256', '')}\n".encode())
    return h.hexdigest()


def missing_message(name: str, folder: Path, why: str) -> str:
    """What is missing, where to get it, where to put it: the text of every DatasetMissing."""
    info = REGISTRY[name]
    archives = " or ".join(repr(f) for f in info.mirror_files)
    lines = [
        f"{name} ({info.full_name}) is not available: {why}.",
        f"  Obtain it {info.obtain}"
        + (f": {info.url}" if info.url else " (there is no public download URL)")
        + ".",
        f"  Then either put the archive ({archives}) in a mirror folder named by HARNB_MIRROR"
        f" (now: {config.mirror_state()}) and run `harnb data fetch {name}`,",
        f"  or run `harnb data fetch {name}` online to download it into {folder}.",
        f"  Terms: {info.terms}",
    ]
    return "\n".join(lines)


def locate_in(name: str, raw: Path) -> Path:
    """The extracted, manifest-complete folder of ``name`` under ``raw``; else DatasetMissing."""
    name = check_name(name)
    folder = raw / name
    if not folder.is_dir():
        raise DatasetMissing(missing_message(name, folder, f"no folder {folder}"))
    doc, why = check_manifest(folder)
    if doc is None and why != "incomplete":
        raise DatasetMissing(
            f"{name}: {why}; run `harnb data fetch --force {name}` to extract it again from "
            "its archive, or pass root= to load() to read your edited copy as it is"
        )
    if doc is None:
        raise DatasetMissing(
            missing_message(
                name,
                folder,
                f"{folder} has no complete extraction manifest ({MANIFEST}); it may be a "
                "half-finished extraction. Re-run `harnb data fetch --force "
                f"{name}`, or pass root= to load() to read a folder you extracted yourself",
            )
        )
    return folder
