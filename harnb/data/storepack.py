"""Lossless packs of the windows stores, to run on a machine that has no raw data.

A GPU machine that is lent for minutes and reaches no network cannot fetch the datasets, and
a copy of the stores as they are (float32, 112 MB for the mirror's three) does not fit what
travels there. Windows overlap, though (128 samples, hop 64): a window whose first
``window - hop`` samples are, bit for bit, the last ones of the window before it adds only
``hop`` new samples. A pack keeps each window's new samples once, as a channel-major (or
byte-plane) stream compressed with lzma, plus every other file of the store verbatim, and
the sha256 of every file. :func:`unpack_store` rebuilds the store's cache folder byte for
byte, checks each file against its hash, and never writes a folder that differs. Nothing is
rounded: a pack is refused at pack time unless its unpacked ``X.npy`` is identical.

The unpacked folder is the store's own cache folder (``processed_dir()/<name>-<key12>``),
but its cache key includes the fingerprint of the raw files, which cannot be computed where
they are absent. ``HARNB_STORES_ONLY=1`` therefore makes :func:`harnb.training.folds.load_store` read
the stores of ``processed_dir()`` through :func:`load_cached`, which accepts a store only
when the key this code computes from the raw fingerprint recorded in its ``meta.json`` is
the key it was stored under: a store of another code version or setting is refused, not
used. ``python -m harnb.data.storepack pack DEST`` / ``unpack SRC`` are the command-line forms
(``bench/gpu_prepare.sh`` and ``bench/gpu_full_slice.sh`` call them).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import lzma
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harnb.data.store import TMP_PREFIX, WindowStore, read_meta, read_store_dir

#: Version of the pack layout (a pack of another version is refused).
PACK_VERSION = 1
#: The store files a pack keeps verbatim (X.npy is rebuilt; meta.json is written last).
_VERBATIM = ("y.npy", "recording.npy", "start.npy", "meta.json")
#: Environment variable that makes :func:`harnb.training.folds.load_store` read packed stores only.
STORES_ONLY_ENV = "HARNB_STORES_ONLY"
_LZMA_PRESET = 6


def stores_only() -> bool:
    """True when ``HARNB_STORES_ONLY`` is set (not empty, not ``0``): load cached stores only."""
    return os.environ.get(STORES_ONLY_ENV, "") not in ("", "0")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _split_npy(raw: bytes) -> tuple[bytes, tuple[int, ...]]:
    """The header bytes and shape of a C-ordered ``.npy`` file of 4-byte values."""
    f = io.BytesIO(raw)
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    if fortran or dtype.itemsize != 4:
        raise ValueError(f"expected a C-ordered 4-byte array, got {dtype} fortran={fortran}")
    return raw[: f.tell()], tuple(shape)


def _encode(samples: np.ndarray, layout: str) -> bytes:
    """lzma bytes of (n, channels) uint32 samples, channel-major or as byte planes."""
    cm = np.ascontiguousarray(samples.T)
    if layout == "bytes":  # the 4 bytes of each value in 4 planes: exponents compress apart
        cm = np.ascontiguousarray(np.moveaxis(cm.view(np.uint8).reshape(*cm.shape, 4), -1, 0))
    return lzma.compress(cm.tobytes(), preset=_LZMA_PRESET)


def _decode(blob: bytes, layout: str, n: int, channels: int) -> np.ndarray:
    """Inverse of :func:`_encode`: (n, channels) uint32."""
    raw = np.frombuffer(lzma.decompress(blob), dtype=np.uint8)
    if layout == "bytes":
        cm = np.ascontiguousarray(np.moveaxis(raw.reshape(4, channels, n), 0, -1)).view("<u4")
        cm = cm.reshape(channels, n)
    else:
        cm = raw.view("<u4").reshape(channels, n)
    return np.ascontiguousarray(cm.T)


def _overlap(meta: dict[str, Any], window: int) -> int:
    """Samples a window shares with the one before it in the same run (0: no overlap)."""
    hop = int(meta.get("config", {}).get("hop", window))
    return window - hop if 0 < hop < window else 0


def _rebuild_x(
    samples: np.ndarray, fresh: np.ndarray, window: int, overlap: int, shape: tuple[int, ...]
) -> np.ndarray:
    """X as uint32 bits from the sample stream: window i ends after the samples it adds."""
    new = np.where(fresh, window, window - overlap)
    first = np.cumsum(new) - window  # where each window starts in the stream
    if len(first) and (first.min() < 0 or first.max() + window > len(samples)):
        raise ValueError("pack is inconsistent: windows run past the stored samples")
    return samples[first[:, None] + np.arange(window)].reshape(shape)


def pack_store(folder: str | os.PathLike[str], dest: str | os.PathLike[str]) -> dict[str, Any]:
    """Pack one store folder into the ``.npz`` file ``dest``; returns sizes and the layout.

    Raises ValueError when the folder is not a complete store or when the pack would not
    rebuild its ``X.npy`` bit for bit.
    """
    folder, dest = Path(folder), Path(dest)
    meta = read_meta(folder)
    if meta is None:
        raise ValueError(f"{folder} is not a complete windows store")
    files = {name: (folder / name).read_bytes() for name in ("X.npy", *_VERBATIM)}
    header, shape = _split_npy(files["X.npy"])
    if len(shape) != 3:
        raise ValueError(f"{folder}/X.npy has shape {shape}, expected (N, window, channels)")
    n, window, channels = shape
    # the values' bits as 4-byte words: equal words are equal floats, whatever the byte order
    bits = np.frombuffer(files["X.npy"], dtype="<u4", offset=len(header)).reshape(shape)
    overlap = _overlap(meta, window)
    fresh = np.ones(n, dtype=bool)
    if overlap and n > 1:  # continues the previous window: same bits where they overlap
        fresh[1:] = ~(bits[1:, :overlap] == bits[:-1, window - overlap :]).all(axis=(1, 2))
    parts = np.where(fresh[:, None], True, np.arange(window) >= overlap)  # (n, window)
    samples = bits[parts].reshape(-1, channels)
    best = min(
        ((layout, _encode(samples, layout)) for layout in ("channels", "bytes")),
        key=lambda t: len(t[1]),
    )
    head = {
        "pack_version": PACK_VERSION,
        "folder": folder.name,
        "dataset": meta["dataset"],
        "key": meta["key"],
        "shape": list(shape),
        "overlap": overlap,
        "samples": len(samples),
        "layout": best[0],
        "sha256": {name: _sha256(data) for name, data in files.items()},
    }
    arrays = {f"file:{name}": np.frombuffer(files[name], np.uint8) for name in _VERBATIM}
    arrays["x_header"] = np.frombuffer(header, np.uint8)
    arrays["x_fresh"] = np.packbits(fresh)
    arrays["x_samples"] = np.frombuffer(best[1], np.uint8)
    arrays["head"] = np.frombuffer(json.dumps(head).encode(), np.uint8)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{TMP_PREFIX}{dest.name}")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    try:
        rebuilt = _unpacked_files(tmp)
        bad = [k for k, v in rebuilt.items() if _sha256(v) != head["sha256"][k]]
        if bad:
            raise ValueError(f"pack of {folder} does not rebuild {bad} bit for bit")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, dest)
    return {
        "dataset": meta["dataset"],
        "folder": folder.name,
        "windows": n,
        "fresh_windows": int(fresh.sum()),
        "layout": best[0],
        "store_bytes": sum(len(v) for v in files.values()),
        "pack_bytes": dest.stat().st_size,
    }


def _unpacked_files(pack: Path) -> dict[str, bytes]:
    """Every file of the store a pack holds, rebuilt in memory (not yet checked)."""
    with np.load(pack, allow_pickle=False) as z:
        head = json.loads(z["head"].tobytes())
        if head.get("pack_version") != PACK_VERSION:
            raise ValueError(
                f"{pack}: pack version {head.get('pack_version')}, need {PACK_VERSION}"
            )
        n, window, channels = head["shape"]
        samples = _decode(z["x_samples"].tobytes(), head["layout"], head["samples"], channels)
        fresh = np.unpackbits(z["x_fresh"], count=n).astype(bool)
        bits = _rebuild_x(samples, fresh, window, head["overlap"], (n, window, channels))
        out = {"X.npy": z["x_header"].tobytes() + bits.tobytes()}
        out.update({name: z[f"file:{name}"].tobytes() for name in _VERBATIM})
    return out


def pack_head(pack: str | os.PathLike[str]) -> dict[str, Any]:
    """A pack's description: dataset, store folder, key, shape, layout and file hashes."""
    with np.load(pack, allow_pickle=False) as z:
        return json.loads(z["head"].tobytes())


def unpack_store(
    pack: str | os.PathLike[str], processed: str | os.PathLike[str] | None = None
) -> Path:
    """Rebuild a packed store in ``processed`` (default ``processed_dir()``); returns its folder.

    The folder is written under a temporary name, every file checked against the hash the
    pack recorded, ``meta.json`` last, then renamed into place. A folder already there whose
    files match is kept as it is.
    """
    from harnb.config import processed_dir

    pack = Path(pack)
    parent = Path(processed) if processed is not None else processed_dir()
    head = pack_head(pack)
    final = parent / head["folder"]
    if read_meta(final, head["key"]) is not None and all(
        (final / k).is_file() and _sha256((final / k).read_bytes()) == h
        for k, h in head["sha256"].items()
    ):
        return final
    files = _unpacked_files(pack)
    bad = [k for k, v in files.items() if _sha256(v) != head["sha256"][k]]
    if bad:
        raise ValueError(f"{pack}: the rebuilt {bad} differ from the packed store's")
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{final.name}-", dir=parent))
    try:
        for name in ("X.npy", *_VERBATIM):  # meta.json last: it marks the folder complete
            with open(tmp / name, "wb") as f:
                f.write(files[name])
                f.flush()
                os.fsync(f.fileno())
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def pack_datasets(
    dest: str | os.PathLike[str], names: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Pack the current stores of ``names`` (default: every available dataset) into ``dest``.

    Each store is built first if this code has none (that needs the raw data, as always);
    older packs of the same datasets in ``dest`` are removed.
    """
    from harnb.data import datasets, preprocess

    dest = Path(dest)
    names = list(names) if names else list(datasets.available())
    if not names:
        raise ValueError("no dataset is available to pack (see `harnb data fetch`)")
    cfg = preprocess.PreprocessConfig()
    out = []
    for name in names:
        preprocess.build_windows(name, cfg, progress=False)
        key = preprocess.cache_key(name, cfg, datasets.fingerprint(name))
        folder = preprocess.cache_dir(name, key)
        for old in dest.glob(f"{name}-*.npz"):
            if old.name != f"{folder.name}.npz":
                old.unlink()
        out.append(pack_store(folder, dest / f"{folder.name}.npz"))
    return out


def unpack_all(
    src: str | os.PathLike[str], processed: str | os.PathLike[str] | None = None
) -> list[Path]:
    """Unpack every ``*.npz`` pack in ``src``; returns the store folders."""
    packs = sorted(Path(src).glob("*.npz"))
    if not packs:
        raise ValueError(f"no pack (*.npz) in {src}")
    return [unpack_store(p, processed) for p in packs]


def load_cached(names: Sequence[str] | None = None) -> WindowStore:
    """The stores of ``processed_dir()`` whose key this code recomputes, without raw data.

    Like :func:`harnb.data.preprocess.load_windows` (default: every dataset with such a store, in
    :func:`harnb.data.datasets.names` order), but the raw fingerprint comes from each store's
    ``meta.json``. ValueError names the datasets that have no store of this code's key.
    """
    from harnb.data import datasets, preprocess
    from harnb.config import processed_dir
    from harnb.data.datasets import added

    cfg = preprocess.PreprocessConfig()
    found: dict[str, tuple[Path, str]] = {}
    refused: dict[str, str] = {}
    root = processed_dir()
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        meta = read_meta(folder)
        if folder.name.startswith(TMP_PREFIX) or meta is None:
            continue
        name = str(meta.get("dataset"))
        if name not in datasets.names():
            continue
        key = preprocess.cache_key(name, cfg, str(meta.get("raw_fingerprint")))
        if key == meta.get("key") and folder.name == preprocess.cache_dir(name, key).name:
            if name in found:
                raise ValueError(
                    f"two stores of {name} match this code: {found[name][0]}, {folder}"
                )
            found[name] = folder, key
        else:
            refused[name] = folder.name
    want = list(names) if names else [n for n in datasets.names() if n in found]
    missing = [n for n in want if n not in found]
    if missing or not want:
        why = {n: f"only {refused[n]}, of other code or settings" for n in missing if n in refused}
        raise ValueError(
            f"{STORES_ONLY_ENV} is set but {root} has no store of this code for "
            f"{missing or 'any dataset'} ({why or 'none there'}): pack them again with "
            "`python -m harnb.data.storepack pack DEST` on a machine with the raw data"
        )
    if len(want) > 1:
        added.check_together(want)
    stores = []
    for n in want:
        st = read_store_dir(*found[n])
        if st is None:
            raise ValueError(f"{found[n][0]} could not be read as a store")
        stores.append(st)
    return WindowStore.concat(stores)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m harnb.data.storepack pack DEST [NAME ...]`` or ``unpack SRC [--processed DIR]``."""
    p = argparse.ArgumentParser(prog="python -m harnb.data.storepack", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("pack", help="pack the current stores (default: every available dataset)")
    a.add_argument("dest")
    a.add_argument("names", nargs="*")
    b = sub.add_parser("unpack", help="rebuild the packed stores in processed_dir()")
    b.add_argument("src")
    b.add_argument("--processed", default=None, help="instead of HARNB_DATA/processed")
    args = p.parse_args(argv)
    try:
        if args.cmd == "pack":
            for r in pack_datasets(args.dest, args.names or None):
                print(
                    f"{r['folder']}: {r['windows']} windows ({r['fresh_windows']} start a run), "
                    f"{r['store_bytes'] / 2**20:.1f} MiB -> {r['pack_bytes'] / 2**20:.1f} MiB "
                    f"({r['layout']}), bit-exact",
                    flush=True,
                )
        else:
            for folder in unpack_all(args.src, args.processed):
                print(f"{folder}: unpacked, every file matches its sha256", flush=True)
    except ValueError as e:
        print(f"harnb.data.storepack: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
