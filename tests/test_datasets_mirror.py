"""The loaders on the real mirror: published facts (subjects, experiments, sample counts), units.

Fetches the mirror's archives once per session into the ``session_data`` folder (a few seconds)
and loads each dataset once; every assertion is a fact stated by the dataset or its mirror.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harnb import config
from harnb.data import datasets as D
from harnb.data.fetch import fetch

pytestmark = pytest.mark.mirror

MIRROR_SETS = ("UCI", "MotionSense", "MobiAct")


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
