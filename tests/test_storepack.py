"""Packed stores (harnb.data.storepack): bit-exact round trips, and loading them without raw data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harnb.config import processed_dir
from harnb.data import preprocess, storepack
from harnb.data.store import WindowStore, read_store_dir, write_store_dir

W, HOP = 128, 64


def _runs_store(rng: np.random.Generator, runs: list[int]) -> WindowStore:
    """Windows cut from random sample runs as the preprocessing cuts them (hop 64)."""
    xs, rids = [], []
    for r, n in enumerate(runs):
        s = rng.normal(size=(W + HOP * (n - 1), 6)).astype(np.float32)
        if len(s) > 100:  # bits that float equality would not keep: -0.0, NaN, a subnormal
            s[5, 0], s[70, 1], s[100, 2] = -0.0, np.nan, np.float32(1e-42)
        xs.append(s[np.arange(n)[:, None] * HOP + np.arange(W)])
        rids.append(np.full(n, r, np.int32))
    X = np.concatenate(xs)
    n = len(X)
    return WindowStore(
        X=X, y=rng.integers(0, 10, n).astype(np.int8), dataset=np.full(n, "UCI"),
        subject=np.full(n, "UCI:1"), device=np.full(n, "phone"), position=np.full(n, "waist"),
        recording=np.concatenate(rids), start=np.arange(n, dtype=np.float32),
    )  # fmt: skip


def _write(store: WindowStore, fp: str = "raw-fp") -> Path:
    """The store as the cache folder this code would look for, keyed with raw fingerprint fp."""
    cfg = preprocess.PreprocessConfig()
    key = preprocess.cache_key("UCI", cfg, fp)
    recs = [{"subject": "UCI:1", "device": "phone", "position": "waist"}] * (
        int(store.recording.max()) + 1
    )
    meta = {"dataset": "UCI", "key": key, "config": cfg.as_dict("UCI"), "raw_fingerprint": fp,
            "recordings": recs}  # fmt: skip
    return write_store_dir(preprocess.cache_dir("UCI", key), store, meta)


def _same_files(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_round_trip_is_bit_exact(data: Path, tmp_path: Path) -> None:
    """Every file comes back byte for byte, NaN, -0.0 and subnormals included; the overlap
    is stored once."""
    store = _runs_store(np.random.default_rng(0), [1, 7, 3, 12])
    folder = _write(store)
    info = storepack.pack_store(folder, tmp_path / "p.npz")
    assert info["fresh_windows"] == 4 and info["windows"] == 23
    out = storepack.unpack_store(tmp_path / "p.npz", tmp_path / "processed")
    assert out.name == folder.name
    _same_files(folder, out)
    # a second unpack keeps the identical folder; a damaged one is rewritten
    (out / "X.npy").write_bytes(b"damaged")
    storepack.unpack_store(tmp_path / "p.npz", tmp_path / "processed")
    _same_files(folder, out)


def test_windows_that_do_not_chain_are_kept_whole(data: Path, tmp_path: Path) -> None:
    """Shuffled windows share no overlap with their predecessor: still exact."""
    store = _runs_store(np.random.default_rng(1), [9])
    store = store.select(np.random.default_rng(2).permutation(len(store)))
    folder = _write(store)
    info = storepack.pack_store(folder, tmp_path / "p.npz")
    assert info["fresh_windows"] > 1
    _same_files(folder, storepack.unpack_store(tmp_path / "p.npz", tmp_path / "processed"))


def test_stores_only_loads_the_unpacked_store_and_refuses_a_stale_one(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harnb.training import folds
    from harnb.training.profiles import get_profile

    store = _runs_store(np.random.default_rng(3), [5, 6])
    folder = _write(store)
    storepack.pack_store(folder, tmp_path / "packs" / f"{folder.name}.npz")
    monkeypatch.setenv("HARNB_DATA", str(tmp_path / "device"))  # no raw data, no mirror
    storepack.unpack_all(tmp_path / "packs")
    monkeypatch.setenv(storepack.STORES_ONLY_ENV, "1")
    got = folds.load_store(get_profile("full"), ["UCI"])
    assert got.X.tobytes() == store.X.tobytes() and folds.data_key(got) == folds.data_key(store)
    # a store of other code or settings (its key is not what this code computes) is refused
    meta = (processed_dir() / folder.name / "meta.json").read_text()
    (processed_dir() / folder.name / "meta.json").write_text(meta.replace("raw-fp", "other"))
    with pytest.raises(ValueError, match="no store of this code"):
        storepack.load_cached(["UCI"])


def test_a_pack_that_does_not_rebuild_is_refused(data: Path, tmp_path: Path) -> None:
    folder = _write(_runs_store(np.random.default_rng(4), [4]))
    pack = tmp_path / "p.npz"
    storepack.pack_store(folder, pack)
    with np.load(pack) as z:
        arrays = dict(z)
    arrays["x_fresh"] = np.packbits(np.ones(4, bool))  # claims every window is whole
    np.savez(pack, **arrays)
    with pytest.raises(ValueError):
        storepack.unpack_store(pack, tmp_path / "processed")
    assert not (tmp_path / "processed" / folder.name).exists()


def test_profile_changes_from_plain_values() -> None:
    from harnb.training.profiles import changed
    from harnb.training.train import Budget

    p = changed("full", {"name": "full-e3", "pretrain_budget": {"max_epochs": 3}, "ratios": [0, 1]})
    assert p.name == "full-e3" and p.pretrain_budget == Budget(max_epochs=3)
    assert p.ratios == (0, 1) and p.finetune_budget == Budget(max_epochs=200)
    assert changed("full", None) == changed("full", {})
    with pytest.raises(ValueError, match="unknown profile fields"):
        changed("full", {"epochs": 3})


@pytest.mark.mirror
def test_real_store_packs_bit_exact_and_small(mirror, session_data, tmp_path, monkeypatch) -> None:
    """MobiAct's real store (the mirror): under half its size, every file back byte for
    byte, and the stores-only loader gives the very windows ``load_windows`` gives."""
    from harnb.data import fetch

    monkeypatch.setenv("HARNB_DATA", str(session_data))
    monkeypatch.setenv("HARNB_MIRROR", str(mirror))
    fetch.fetch(["MobiAct"], mirror=mirror, dest=session_data / "raw")
    (info,) = storepack.pack_datasets(tmp_path / "packs", ["MobiAct"])
    assert info["pack_bytes"] < 0.5 * info["store_bytes"], info
    want = preprocess.load_windows(["MobiAct"], progress=False)
    src = processed_dir() / info["folder"]
    monkeypatch.setenv("HARNB_DATA", str(tmp_path / "device"))
    monkeypatch.setenv("HARNB_MIRROR", "")  # no mirror on the device
    (out,) = storepack.unpack_all(tmp_path / "packs")
    _same_files(src, out)
    monkeypatch.setenv(storepack.STORES_ONLY_ENV, "1")
    got = storepack.load_cached()
    assert got.datasets() == ["MobiAct"] and got.X.tobytes() == want.X.tobytes()
    assert read_store_dir(out) is not None
