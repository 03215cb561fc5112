"""The loaders on the real mirror: published facts (subjects, experiments, sample counts), units.

Fetches the mirror's archives once per session into the ``session_data`` folder (a few seconds)
and loads each dataset once; every assertion is a fact stated by the dataset or its mirror.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from harnb import config
from harnb.data import datasets as D
from harnb.data import preprocess
from harnb.data.datasets import hugadb
from harnb.data.fetch import fetch

pytestmark = pytest.mark.mirror

MIRROR_SETS = ("UCI", "MotionSense", "MobiAct", "HuGaDB")


@pytest.fixture(scope="session")
def raw_root(mirror: Path, session_data: Path) -> Path:
    """The mirror's datasets, extracted under ``session_data/raw`` (reused if already there)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNB_DATA", str(session_data))
        mp.setenv("HARNB_MIRROR", str(mirror))
        got = fetch(list(MIRROR_SETS), progress=False)
    assert set(got) == set(MIRROR_SETS)
    return session_data / "raw"


@pytest.fixture(scope="session")
def loaded(raw_root: Path) -> dict[str, list[D.Recording]]:
    return {n: D.load(n, root=raw_root / n) for n in MIRROR_SETS}


def _standing_norms(recs: list[D.Recording]) -> np.ndarray:
    st = config.CLASS_INDEX["Standing"]
    return np.concatenate([np.linalg.norm(r.acc.xyz[r.labels == st], axis=1) for r in recs])


def test_locate_and_available_after_fetch(raw_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNB_DATA", str(raw_root.parent))
    for n in MIRROR_SETS:
        assert D.locate(n) == raw_root / n
        assert (raw_root / n / ".harnb-manifest.json").is_file()
    assert set(MIRROR_SETS) <= set(D.available())
    assert D.fingerprint("UCI") == D.fingerprint("UCI", root=raw_root / "UCI")


def test_uci_hapt_published_facts(loaded: dict) -> None:
    recs = loaded["UCI"]
    assert len(recs) == 61  # experiments
    assert len({r.subject for r in recs}) == 30
    assert sum(len(r.acc.t) for r in recs) == 1_122_772
    assert sum(len(r.gyro.t) for r in recs) == 1_122_772
    r = recs[0]
    assert (r.subject, r.session, r.device, r.position) == (
        "1",
        "exp01",
        "Samsung Galaxy S II",
        "waist",
    )
    assert r.nominal_rate == 50.0 and np.allclose(np.diff(r.acc.t), 0.02)
    # labels.txt row "1 1 5 250 1232": exp 1 user 1 STANDING, samples 250..1232 (1-based)
    assert r.labels[248] == -1 and r.labels[249] == config.CLASS_INDEX["Standing"]
    assert (
        r.labels[1231] == config.CLASS_INDEX["Standing"] and r.labels[1232] == -1
    )  # 7: transition
    labs = set(np.unique(np.concatenate([r.labels for r in recs])).tolist())
    want = {"Walking", "Upstairs", "Downstairs", "Sitting", "Standing", "Lying"}
    assert labs == {-1} | {config.CLASS_INDEX[c] for c in want}


def test_motionsense_published_facts(loaded: dict) -> None:
    recs = loaded["MotionSense"]
    assert len(recs) == 24 * 15
    subjects = {r.subject for r in recs}
    assert subjects == {str(i) for i in range(1, 25)}
    assert all(sum(r.subject == s for r in recs) == 15 for s in subjects)
    assert sum(len(r.acc.t) for r in recs) == 1_412_865
    assert {r.device for r in recs} == {"iPhone 6s"} and {r.position for r in recs} == {
        "front pocket"
    }
    by = {(r.session, r.subject): r for r in recs}
    assert by[("jog_9", "3")].labels[0] == config.CLASS_INDEX["Running"]
    assert by[("dws_11", "3")].labels[0] == config.CLASS_INDEX["Downstairs"]
    # Android sign convention, from the first row of std_6/sub_1.csv:
    # gravity (0.104929, 0.984947, 0.137365) + userAcceleration (0.007192, -0.004249, 0.065989)
    r = by[("std_6", "1")]
    want = -np.array([0.104929 + 0.007192, 0.984947 - 0.004249, 0.137365 + 0.065989]) * config.G
    np.testing.assert_allclose(r.acc.xyz[0], want, rtol=1e-5)
    np.testing.assert_allclose(r.gyro.xyz[0], [-0.060667, -0.333742, -0.008674], rtol=1e-5)


def test_mobiact_mirror_subset_facts(loaded: dict) -> None:
    recs = loaded["MobiAct"]
    assert sorted({int(r.subject) for r in recs}) == [2, 3, 4, 5, 7, 8, 9, 10, 11]
    labs = set(np.concatenate([r.labels for r in recs]).tolist())
    assert config.CLASS_INDEX["Lying"] not in labs
    assert -1 not in labs  # CSI/CSO trials are skipped by default
    codes = {r.meta["code"] for r in recs}
    assert codes == {"STD", "WAL", "JOG", "JUM", "STU", "STN", "SCH"}
    assert {r.device for r in recs} == {"Samsung Galaxy S3"}
    for r in recs:
        assert np.all(np.diff(r.acc.t) > 0) and np.all(np.diff(r.gyro.t) > 0)
        # acc and gyro of a trial cover the same time span (paired by time, not by index)
        assert abs(r.acc.t[0] - r.gyro.t[0]) < 1.0
    gyro_rate = np.median(np.concatenate([1 / np.diff(r.gyro.t) for r in recs]))
    assert 150 < gyro_rate < 250


def test_mobiact_keep_unlabelled(raw_root: Path) -> None:
    # one subject is enough (and fast): MobiFall_Dataset_v2.0/sub2
    sub2 = next((raw_root / "MobiAct").rglob("sub2"))
    recs = D.load("MobiAct", root=sub2, keep_unlabelled=True)
    car = [r for r in recs if r.meta["code"] in ("CSI", "CSO")]
    assert car and all((r.labels == -1).all() for r in car)


@pytest.mark.parametrize("name", MIRROR_SETS)
def test_units_standing_is_one_g(loaded: dict, name: str) -> None:
    norms = _standing_norms(loaded[name])
    assert len(norms) > 1000
    assert 9.3 < np.median(norms) < 10.5  # m/s² including gravity (UCI reads ~1.03 g)
    gyro = np.concatenate([r.gyro.xyz for r in loaded[name]])
    assert np.percentile(np.abs(gyro), 99) < 15  # rad/s, not deg/s


# ------------------------------------------------------------------------------------ HuGaDB
#: ``Data/ReadMe.txt``'s activity ids that name a union class; every other id is dropped
HG_UNION = {1: "Walking", 2: "Running", 3: "Upstairs", 4: "Downstairs", 5: "Sitting"}
HG_UNION |= {8: "Standing", 9: "Cycling"}


@pytest.fixture(scope="module")
def hugadb_zip(mirror: Path) -> dict[str, bytes]:
    """Every member of the mirror's archive, read straight from the zip (not via harnb)."""
    with zipfile.ZipFile(mirror / "hugadb-v1-subset.zip") as zf:
        return {Path(n).name: zf.read(n) for n in zf.namelist() if not n.endswith("/")}


def _hg_right_thigh_corrupted(readme: str) -> set[str]:
    """Files whose 'Right thigh' cell of the authors' table is not 'OK', read independently."""
    out: set[str] = set()
    cols: list[str] = []
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "File":
            cols = cells
        elif cells[0].startswith("HuGaDB_v1_") and cells[cols.index("Right thigh")] != "OK":
            out.add(cells[0])
    return out


def test_hugadb_mirror_facts(hugadb_zip: dict[str, bytes], loaded: dict, raw_root: Path) -> None:
    data = {n: b for n, b in hugadb_zip.items() if n.startswith("HuGaDB_v1_")}
    subjects = {int(n.split("_")[-2]) for n in data}
    assert subjects == {2, 3, 5, 8, 9, 10, 11, 12, 18}  # the mirror's README: 9 of 18
    assert all(b.count(b"\r\n") == b.count(b"\n") for b in data.values())  # CRLF restored
    bad = _hg_right_thigh_corrupted(hugadb_zip["README.md"].decode()) & set(data)
    assert sorted(hugadb.left_out(raw_root / "HuGaDB")) == sorted(bad) and len(bad) == 110
    recs = loaded["HuGaDB"]
    files = {r.meta["file"] for r in recs}
    assert not files & bad
    # every other file is read, unless it holds no union activity (an elevator ride)
    union = {str(i).encode() for i in HG_UNION}
    with_union = {n for n, b in data.items() if n not in bad and {
        ln.rsplit(b"\t", 1)[-1] for ln in b.split(b"\r\n")[4:] if ln} & union}  # fmt: skip
    assert files == with_union
    rows = {n: b.count(b"\r\n") - 4 for n, b in data.items()}
    assert sum(len(r.acc.t) for r in recs) == sum(rows[f] for f in files)
    assert {r.subject for r in recs} == {"2", "5", "8", "9", "10", "11", "18"}  # 03, 12: all bad
    # the genuine first row of walking_08_00: right thigh acc -13952 -3632 648, gyro -276 2447 1729
    (r,) = [r for r in recs if r.meta["file"] == "HuGaDB_v1_walking_08_00.txt"]
    np.testing.assert_allclose(r.acc.xyz[0] / config.G * 32768 / 2, [-13952, -3632, 648])
    np.testing.assert_allclose(r.gyro.xyz[0] * 180 / np.pi * 32768 / 2000, [-276, 2447, 1729])


def test_hugadb_fetch_and_list_on_the_command_line(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from harnb.cli import main

    monkeypatch.setenv("HARNB_DATA", str(tmp_path))
    monkeypatch.setenv("HARNB_MIRROR", str(mirror))
    assert main(["data", "fetch", "hugadb"]) == 0
    assert capsys.readouterr().out.strip() == f"HuGaDB: {tmp_path / 'raw' / 'HuGaDB'}"
    assert hugadb.find_readme(tmp_path / "raw" / "HuGaDB").parent.name == "HuGaDB"
    assert main(["data", "list"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("HuGaDB "))
    assert line.split()[1] == "available" and "not in the paper" in line


def test_hugadb_windows_per_class_recomputed(
    hugadb_zip: dict[str, bytes], raw_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's windows per class equal a count made here from the zip's text alone: each
    kept file on a 50 Hz grid from its first sample (the label of the latest sample at or before
    each grid time), cut into 128-sample windows, hop 64, inside runs of one union class."""
    # the nominal rate, from the authors' README Table 1: "|Total | | 35903 |598 |...|2111962| |"
    m = re.search(
        r"^\|Total \| \| (\d+) \|\d+ \|[\d.]+ \|(\d+)\|", hugadb_zip["README.md"].decode(), re.M
    )
    assert m, "the README's Table 1 total row"
    rate = int(m.group(2)) / int(m.group(1))
    bad = _hg_right_thigh_corrupted(hugadb_zip["README.md"].decode())
    want: Counter[str] = Counter()
    for name, raw in hugadb_zip.items():
        if not name.startswith("HuGaDB_v1_") or name in bad:
            continue
        ids = np.array([int(ln.rsplit(b"\t", 1)[-1]) for ln in raw.split(b"\r\n")[4:] if ln])
        n50 = int(np.floor((len(ids) - 1) * 50 / rate + 1e-6)) + 1
        grid = ids[np.floor(np.arange(n50) * rate / 50 + 1e-9).astype(int)]
        starts = np.r_[0, np.flatnonzero(np.diff(grid)) + 1, n50]
        for a, b in zip(starts[:-1], starts[1:], strict=True):
            if grid[a] in HG_UNION and b - a >= 128:
                want[HG_UNION[int(grid[a])]] += (b - a - 128) // 64 + 1
    monkeypatch.setenv("HARNB_DATA", str(raw_root.parent))
    store = preprocess.load_windows(["HuGaDB"], progress=False)
    got = Counter(config.CLASSES[int(c)] for c in store.y)
    assert got == want
    assert set(got) == {"Walking", "Running", "Upstairs", "Downstairs", "Sitting", "Standing"}
