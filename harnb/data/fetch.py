"""Acquire datasets: take each archive from the offline mirror or its original URL, verify it,
and extract it safely and atomically into ``raw_dir()/NAME``.

Why so careful: a download can be truncated, an archive can carry ``../`` or absolute member
names, and a crash mid-extraction must never leave a folder that later looks complete. So we
verify (zip CRCs while extracting, plus size/sha256 where known), reject unsafe members, extract
into a temp folder beside the destination, write a manifest (per-file size and sha256, one
content hash) last, and only then rename the folder into place. ``locate`` trusts nothing else.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import stat
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
import zipfile
from pathlib import Path, PurePosixPath

from harnb import config
from harnb.data.datasets._extracted import (
    MANIFEST,
    MANIFEST_VERSION,
    check_name,
    content_hash,
    missing_message,
    read_manifest,
)
from harnb.data.datasets._registry import REGISTRY, DatasetInfo
from harnb.data.datasets.base import DatasetError, DatasetMissing

DOWNLOADS = "_downloads"  # under dest: where downloaded archives are kept
_CHUNK = 1 << 20
_SKIP_PREFIXES = ("__MACOSX/",)


def fetch(
    names: list[str] | None = None,
    mirror: Path | None = None,
    dest: Path | None = None,
    progress: bool = True,
    force: bool = False,
) -> dict[str, Path]:
    """Make each dataset available extracted under ``dest`` (default ``raw_dir()``).

    Sources, in order: an existing complete extraction (unless ``force``), the archive in
    ``mirror`` (default ``HARNB_MIRROR``), an archive already downloaded to ``dest/_downloads``,
    the original URL. With ``names=None`` every dataset is tried and those that cannot be
    obtained are skipped with a warning; named datasets that fail raise DatasetError.
    Returns ``{name: extracted folder}``.
    """
    explicit = names is not None
    every = [*config.DATASETS, *config.EXTRA_DATASETS]
    todo = [check_name(n) for n in names] if names is not None else every
    mirror = Path(mirror) if mirror is not None else config.mirror_dir()
    dest = Path(dest) if dest is not None else config.raw_dir()
    dest.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for name in todo:
        try:
            out[name] = fetch_one(name, mirror, dest, progress=progress, force=force)
        except DatasetError as e:
            if explicit:
                raise
            warnings.warn(f"{name} skipped: {e}", stacklevel=2)
    return out


def fetch_one(
    name: str, mirror: Path | None, dest: Path, *, progress: bool = True, force: bool = False
) -> Path:
    """Fetch and extract one dataset; see :func:`fetch`."""
    name = check_name(name)
    if name not in REGISTRY:  # added with `harnb data add` or registered in code
        raise DatasetError(
            f"{name} is not one of the paper's datasets but your own: there is nothing to "
            "fetch; it is read from where it was added (`harnb data list`)"
        )
    info = REGISTRY[name]
    target = dest / name
    if not force and read_manifest(target) is not None:
        return target
    archive, extras = _source(info, mirror, dest, progress)
    digest = verify_archive(archive, info)
    extract(
        archive,
        target,
        nested=info.nested,
        extras=extras,
        source={"archive": archive.name, "size": archive.stat().st_size, "sha256": digest},
        dataset=name,
        progress=progress,
        force=force,
    )
    return target


def _source(
    info: DatasetInfo, mirror: Path | None, dest: Path, progress: bool
) -> tuple[Path, list[Path]]:
    """The archive to extract (and small extra files to copy along), found or downloaded."""
    for folder in (mirror, dest / DOWNLOADS):
        if folder is None or not folder.is_dir():
            continue
        for fname in info.mirror_files + tuple(f for _, f in info.downloads):
            p = folder / fname
            if p.is_file() and p.suffix == ".zip":
                extras = [folder / e for e in info.extra_files if (folder / e).is_file()]
                return p, extras[:1]
    zips = [(u, f) for u, f in info.downloads if f.endswith(".zip")]
    if not zips:
        raise DatasetMissing(
            missing_message(
                info.name,
                dest / info.name,
                f"no archive ({', '.join(info.mirror_files)}) in the mirror "
                f"({mirror or config.mirror_state()}) and no public download URL: it is available "
                f"only {info.obtain}",
            )
        )
    errors = []
    for url, fname in zips:
        try:
            archive = download(url, dest / DOWNLOADS / fname, progress=progress)
            break
        except DatasetError as e:
            errors.append(str(e))
    else:
        raise DatasetMissing(
            missing_message(
                info.name,
                dest / info.name,
                "not in the mirror and the download failed (offline?):\n    "
                + "\n    ".join(errors),
            )
        )
    extras = []
    for url, fname in info.downloads:
        if not fname.endswith(".zip"):
            try:
                extras.append(download(url, dest / DOWNLOADS / fname, progress=progress))
            except DatasetError as e:  # small side files are optional
                warnings.warn(str(e), stacklevel=2)
    return archive, extras


def download(url: str, path: Path, *, progress: bool = True, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``path`` via a temp file and rename, with a tqdm progress bar."""
    from tqdm.auto import tqdm

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            req = urllib.request.Request(url, headers={"User-Agent": "harnb"})
            with urllib.request.urlopen(req, timeout=timeout) as r:
                total = int(r.headers.get("Content-Length") or 0) or None
                with tqdm(
                    total=total,
                    unit="B",
                    unit_scale=True,
                    desc=path.name,
                    disable=not progress,
                ) as bar:
                    while chunk := r.read(_CHUNK):
                        fh.write(chunk)
                        bar.update(len(chunk))
                if total is not None and fh.tell() != total:
                    raise DatasetError(f"{url}: got {fh.tell()} of {total} bytes (truncated)")
        os.replace(tmp, path)
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise DatasetError(f"could not download {url}: {e}") from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def verify_archive(archive: Path, info: DatasetInfo | None = None) -> str:
    """Check an archive before extraction: known size/sha256, a readable zip directory.

    Member CRCs are checked while extracting (every byte is read then). Returns the sha256.
    """
    size = archive.stat().st_size
    digest = sha256_file(archive)
    known = (info.known_archives if info else {}).get(archive.name, ())
    for ksize, ksha in known:
        if ksize == size and ksha != digest:
            raise DatasetError(
                f"{archive}: sha256 {digest} does not match the known {ksha} for a file of "
                f"this size; the archive is corrupt or altered: delete it and fetch again"
            )
    try:
        with zipfile.ZipFile(archive) as zf:
            zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise DatasetError(
            f"{archive}: not a readable zip archive ({e}); truncated or corrupt download? "
            "Delete it and fetch again"
        ) from e
    return digest


def safe_member_path(name: str) -> PurePosixPath:
    """The relative path of a zip member, or DatasetError if it could escape the folder."""
    n = name.replace("\\", "/")
    p = PurePosixPath(n)
    if n.startswith("/") or (len(n) > 1 and n[1] == ":") or p.is_absolute():
        raise DatasetError(f"unsafe archive member {name!r}: absolute path")
    if any(part == ".." for part in p.parts):
        raise DatasetError(f"unsafe archive member {name!r}: '..' path traversal")
    return p


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _extract_zip(
    zf: zipfile.ZipFile,
    label: str,
    into: Path,
    files: dict[str, dict],
    nested: tuple[str, ...],
    bar: object | None,
) -> list[Path]:
    """Extract every member safely into ``into``, recording size+sha256; return nested zips."""
    inner: list[Path] = []
    for m in zf.infolist():
        rel = safe_member_path(m.filename)
        if _is_symlink(m):
            raise DatasetError(f"{label}: unsafe archive member {m.filename!r}: symbolic link")
        if m.is_dir() or not rel.parts or rel.as_posix().startswith(_SKIP_PREFIXES):
            continue
        if rel.name == MANIFEST:
            raise DatasetError(f"{label}: archive member {m.filename!r} uses a reserved name")
        out = into / Path(*rel.parts)
        out.parent.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        try:
            with zf.open(m) as src, open(out, "wb") as dst:
                while chunk := src.read(_CHUNK):
                    h.update(chunk)
                    dst.write(chunk)
                    if bar is not None:
                        bar.update(len(chunk))  # type: ignore[attr-defined]
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
            raise DatasetError(
                f"{label}: member {m.filename!r} is corrupt ({e}); the archive is truncated or "
                "damaged: delete it and fetch again"
            ) from e
        if rel.name in nested:
            inner.append(out)
        else:
            files[rel.as_posix()] = {"size": out.stat().st_size, "sha256": h.hexdigest()}
    return inner


def extract(
    archive: Path,
    target: Path,
    *,
    nested: tuple[str, ...] = (),
    extras: list[Path] | tuple[Path, ...] = (),
    source: dict | None = None,
    dataset: str = "",
    progress: bool = False,
    force: bool = False,
) -> Path:
    """Extract ``archive`` into ``target`` atomically, with a manifest written last.

    Members named in ``nested`` (zips inside the zip) are extracted in turn and not kept.
    ``extras`` are small side files copied next to the extracted content.
    """
    from tqdm.auto import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        files: dict[str, dict] = {}
        try:
            zf = zipfile.ZipFile(archive)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise DatasetError(f"{archive}: not a readable zip archive ({e})") from e
        with zf:
            total = sum(m.file_size for m in zf.infolist())
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=f"extract {archive.name}",
                disable=not progress,
            ) as bar:  # fmt: skip
                inner = _extract_zip(zf, str(archive), tmp, files, nested, bar)
        for z in inner:
            label = f"{archive} > {z.relative_to(tmp).as_posix()}"
            try:
                izf = zipfile.ZipFile(z)
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                raise DatasetError(f"{label}: not a readable zip archive ({e})") from e
            with izf:
                _extract_zip(izf, label, z.parent, files, (), None)
            z.unlink()
        for e in extras:
            shutil.copyfile(e, tmp / e.name)
            files[e.name] = {"size": e.stat().st_size, "sha256": sha256_file(e)}
        doc = {
            "version": MANIFEST_VERSION,
            "dataset": dataset or target.name,
            "complete": True,
            "source": source or {"archive": archive.name},
            "extracted": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "files": files,
            "content_sha256": content_hash(files),
        }
        mtmp = tmp / (MANIFEST + ".tmp")
        mtmp.write_text(json.dumps(doc, indent=1, sort_keys=True))
        os.replace(mtmp, tmp / MANIFEST)
        _swap_into_place(tmp, target, force)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _swap_into_place(tmp: Path, target: Path, force: bool) -> None:
    """Rename the finished temp folder to ``target``; an old or broken folder is moved aside."""
    if target.exists() or target.is_symlink():
        if not force and read_manifest(target) is not None:
            return  # a concurrent fetch finished first: keep its (equivalent) copy
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old / "x")
        try:
            os.replace(tmp, target)
        finally:
            shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


def fetch_cli(argv: list[str]) -> int:
    """``harnb data fetch [NAMES] [--mirror DIR] [--dest DIR] [--force] [--quiet]``.

    Exit status 2 if a named dataset cannot be had or any archive is corrupt (one
    ``harnb data fetch: error:`` line each, saying how to obtain it); without names, datasets that
    are neither in the mirror nor downloadable are reported and skipped.
    """
    ap = argparse.ArgumentParser(
        prog="harnb data fetch",
        description="Fetch datasets from the offline mirror (HARNB_MIRROR) or their original "
        "URLs, verify and extract them into the raw data folder.",
    )
    ap.add_argument(
        "names",
        nargs="*",
        help=f"datasets (default: all of {', '.join([*config.DATASETS, *config.EXTRA_DATASETS])})",
    )
    ap.add_argument(
        "--mirror", type=Path, default=None, help="mirror folder (default HARNB_MIRROR)"
    )
    ap.add_argument("--dest", type=Path, default=None, help="raw data folder (default raw_dir())")
    ap.add_argument("--force", action="store_true", help="re-extract even if already complete")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    a = ap.parse_args(argv)
    names = a.names or [*config.DATASETS, *config.EXTRA_DATASETS]
    rc = 0
    for n in names:
        try:
            p = fetch([n], mirror=a.mirror, dest=a.dest, progress=not a.quiet, force=a.force)
            print(f"{check_name(n)}: {p[check_name(n)]}")
        except DatasetMissing as e:
            # without names, "fetch what can be had": unobtainable datasets are not an error
            if a.names:  # one line, as every command's error (its instructions joined)
                msg = " ".join(line.strip() for line in str(e).splitlines() if line.strip())
                print(f"harnb data fetch: error: {msg}", file=sys.stderr)
                rc = 2
            else:
                print(f"{n}: skipped\n{e}", file=sys.stderr)
        except (DatasetError, ValueError) as e:  # corrupt archives always fail the command
            print(f"harnb data fetch: error: {n}: {e}", file=sys.stderr)
            rc = 2
    return rc
