"""Loaders on tiny files written in each dataset's exact published format, and every bad input.

No real data needed: :mod:`published_formats` writes the files from genuine header/row excerpts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from published_formats import (
    HHAR_ACC_EXCERPT,
    HHAR_HEADER,
    MOBIACT_ACC_EXCERPT,
    MS_EXCERPT,
    PAMAP2_ROW1,
    RW_ACC_EXCERPT,
    RW_GYR_EXCERPT,
    hhar_row,
    mobiact_rows,
    pamap2_row,
    rw_csv,
    write_hhar,
    write_mobiact_annotated,
    write_mobiact_raw,
    write_motionsense,
    write_pamap2,
    write_realworld,
    write_uci_hapt,
    write_uci_v1,
    zip_bytes,
)

from harnb import config
from harnb.data import datasets as D
from harnb.data.datasets import DataFormatError, DatasetMissing

CI = config.CLASS_INDEX


# ------------------------------------------------------------------------------------ HHAR
def _hhar_stream(
    t0_ns: int, n: int, step_ns: int, user: str, model: str, device: str, gt: str, val: float
):
    return [
        hhar_row(0, t0_ns + k * step_ns, (val, val + 0.5, 9.8), user, model, device, gt)
        for k in range(n)
    ]


def test_hhar_pairs_gyro_by_time_not_row_order(tmp_path: Path) -> None:
    t0 = 1424696631913248572
    acc = HHAR_ACC_EXCERPT.strip().split("\n")  # the genuine first rows: user a, nexus4_1, stand
    acc += _hhar_stream(t0 + 15_000_000, 40, 5_000_000, "a", "nexus4", "nexus4_1", "stand", 1.0)
    acc += _hhar_stream(t0 + 215_000_000, 30, 5_000_000, "a", "nexus4", "nexus4_1", "walk", 2.0)
    acc += _hhar_stream(t0 + 365_000_000, 10, 5_000_000, "a", "nexus4", "nexus4_1", "null", 3.0)
    # gap of 3 s: a new recording even though the label (bike) stays the same
    acc += _hhar_stream(t0 + 500_000_000, 20, 5_000_000, "a", "nexus4", "nexus4_1", "bike", 4.0)
    acc += _hhar_stream(t0 + 3_600_000_000, 20, 5_000_000, "a", "nexus4", "nexus4_1", "bike", 4.0)
    acc += _hhar_stream(t0, 30, 20_000_000, "b", "samsungold", "samsungold_1", "stairsup", 5.0)
    # gyro: its own clock (offset 2 ms), device-coded values, rows shuffled, another device mixed in
    g1 = _hhar_stream(t0 + 2_000_000, 1000, 5_000_000, "a", "nexus4", "nexus4_1", "stand", 0.1)
    g2 = _hhar_stream(
        t0 + 2_000_000, 40, 20_000_000, "b", "samsungold", "samsungold_1", "stairsup", 0.7
    )
    gyro = g1 + g2
    rng = np.random.default_rng(0)
    gyro = [gyro[i] for i in rng.permutation(len(gyro))]
    write_hhar(tmp_path, acc, gyro)
    recs = D.load("HHAR", root=tmp_path)
    got = {(r.subject, r.device, int(r.labels[0])): r for r in recs}
    assert set(got) == {
        ("a", "nexus4_1", CI["Standing"]),
        ("a", "nexus4_1", CI["Walking"]),
        ("a", "nexus4_1", CI["Cycling"]),
        ("b", "samsungold_1", CI["Upstairs"]),
    }
    assert sum(r.device == "nexus4_1" and r.labels[0] == CI["Cycling"] for r in recs) == 2
    stand = got[("a", "nexus4_1", CI["Standing"])]
    assert len(stand.acc.t) == 43
    np.testing.assert_allclose(stand.acc.xyz[0], [-5.958191, 0.6880646, 8.135345])
    assert stand.nominal_rate == 200.0 and stand.position == "waist pouch"
    for r in recs:
        assert np.all(np.diff(r.gyro.t) > 0)
        # gyro comes from the same device, over the same time span (one sample of margin)
        assert r.gyro.t[0] <= r.acc.t[0] + 0.02 and r.gyro.t[-1] >= r.acc.t[-1] - 0.02
        assert r.gyro.t[1] > r.acc.t[0] - 0.02 and r.gyro.t[-2] < r.acc.t[-1] + 0.02
        want = 0.7 if r.subject == "b" else 0.1
        assert np.all(r.gyro.xyz[:, 0] == want)
    assert got[("b", "samsungold_1", CI["Upstairs"])].nominal_rate == 50.0
    # null rows are kept (as -1) only on request
    kept = D.load("HHAR", root=tmp_path, keep_unlabelled=True)
    assert any((r.labels == -1).all() for r in kept) and len(kept) == len(recs) + 1


def test_hhar_bad_row_names_file_and_line(tmp_path: Path) -> None:
    rows = HHAR_ACC_EXCERPT.strip().split("\n")
    bad = rows[:2] + ["2,1424696633918,1424696631923288855,-5.99,oops,8.2,a,nexus4,nexus4_1,stand"]
    write_hhar(tmp_path, bad, rows)
    with pytest.raises(DataFormatError, match=r"Phones_accelerometer\.csv, line 4"):
        D.load("HHAR", root=tmp_path)
    write_hhar(tmp_path, rows[:2] + ["2,1424696633918,1424696631923288855,-5.99"], rows)
    with pytest.raises(DataFormatError, match=r"Phones_accelerometer\.csv, line 4"):
        D.load("HHAR", root=tmp_path)


def test_hhar_header_checked(tmp_path: Path) -> None:
    d = write_hhar(tmp_path, [], [])
    (d / "Phones_accelerometer.csv").write_text(HHAR_HEADER.replace("gt", "label") + "\n")
    with pytest.raises(DataFormatError, match="line 1"):
        D.load("HHAR", root=tmp_path)


# ------------------------------------------------------------------------------------ MobiAct
def test_mobiact_raw_v1_layout(tmp_path: Path) -> None:
    ta = [int(r.split(",")[0]) for r in MOBIACT_ACC_EXCERPT.strip().split("\n")]
    ta += [ta[-1] + 10_000_000 * (k + 1) for k in range(50)]
    xa = np.column_stack([np.full(len(ta), 0.5), np.full(len(ta), 9.8), np.zeros(len(ta))])
    body = MOBIACT_ACC_EXCERPT + mobiact_rows(ta[5:], xa[5:])
    # an out-of-order row and a repeated timestamp, as irregular phone logs have
    body += mobiact_rows([ta[20] + 1000, ta[30]], np.array([[0.1, 9.7, 0.0], [9.9, 9.9, 9.9]]))
    write_mobiact_raw(tmp_path, "WAL", "acc", 1, 1, body)
    tg = [ta[0] + 5_000_000 * k for k in range(200)]
    write_mobiact_raw(tmp_path, "WAL", "gyro", 1, 1, mobiact_rows(tg, np.full((200, 3), 0.01)))
    for code in ("CSI", "FOL"):
        write_mobiact_raw(tmp_path, code, "acc", 1, 1, mobiact_rows(ta, xa))
        write_mobiact_raw(tmp_path, code, "gyro", 1, 1, mobiact_rows(tg, np.full((200, 3), 0.01)))
    recs = D.load("MobiAct", root=tmp_path)
    assert len(recs) == 1
    r = recs[0]
    assert (r.subject, r.session, r.device, r.position) == (
        "1",
        "WAL_1",
        "Samsung Galaxy S3",
        "trouser pocket",
    )
    assert len(r.acc.t) == len(ta) + 1  # one inserted row, one duplicate timestamp dropped
    assert np.all(np.diff(r.acc.t) > 0) and len(r.gyro.t) == 200
    assert r.acc.t[0] == pytest.approx(2037202661000 * 1e-9)
    np.testing.assert_allclose(r.acc.xyz[0], [-1.5035586, 9.270349, -1.9919758])  # m/s², as is
    assert (r.labels == CI["Walking"]).all()
    kept = D.load("MobiAct", root=tmp_path, keep_unlabelled=True)
    assert sorted(x.session for x in kept) == ["CSI_1", "FOL_1", "WAL_1"]
    assert all((x.labels == -1).all() for x in kept if x.session != "WAL_1")


def test_mobiact_mobifall_layout_and_codes(tmp_path: Path) -> None:
    t = [594572318000 + 11_000_000 * k for k in range(30)]
    x = np.tile([0.0, 9.8, 0.0], (30, 1))
    for code in ("SCH", "STN", "JUM", "JOG"):
        write_mobiact_raw(tmp_path, code, "acc", 3, 2, mobiact_rows(t, x), layout="mobifall")
        write_mobiact_raw(tmp_path, code, "gyro", 3, 2, mobiact_rows(t, x * 0), layout="mobifall")
        write_mobiact_raw(tmp_path, code, "ori", 3, 2, mobiact_rows(t, x * 0), layout="mobifall")
    recs = {r.meta["code"]: r for r in D.load("MobiAct", root=tmp_path)}
    assert {c: int(r.labels[0]) for c, r in recs.items()} == {
        "SCH": CI["Sitting"],
        "STN": CI["Downstairs"],
        "JUM": CI["Jumping"],
        "JOG": CI["Running"],
    }


def test_mobiact_bad_row_line_number_counts_header(tmp_path: Path) -> None:
    rows = MOBIACT_ACC_EXCERPT.strip().split("\n")
    rows[2] = "2037601240000, -5.841852, 8.69x5741, -2.8634653"
    write_mobiact_raw(tmp_path, "WAL", "acc", 1, 1, "\n".join(rows) + "\n")
    write_mobiact_raw(tmp_path, "WAL", "gyro", 1, 1, MOBIACT_ACC_EXCERPT)
    # 15 header lines (through '@DATA'), so the 3rd data row is line 18
    with pytest.raises(DataFormatError, match=r"WAL_acc_1_1\.txt, line 18"):
        D.load("MobiAct", root=tmp_path)
    write_mobiact_raw(tmp_path, "WAL", "acc", 1, 1, "\n".join(rows[:2]) + "\n2037601240000, -5.84")
    with pytest.raises(DataFormatError, match=r"WAL_acc_1_1\.txt, line 18: expected 4 fields"):
        D.load("MobiAct", root=tmp_path)


def test_mobiact_v2_annotated_per_row_labels(tmp_path: Path) -> None:
    n = 40
    t = [1_295_000_000_000 + 5_000_000 * k for k in range(n)]
    x = np.column_stack([np.zeros(n), np.full(n, 9.81), np.zeros(n), np.full((n, 3), 0.02)])
    labels = ["STD"] * 10 + ["WAL"] * 10 + ["FOL"] * 10 + ["LYI"] * 10
    write_mobiact_annotated(tmp_path, "FOL", 12, 1, t, x, labels)
    write_mobiact_annotated(tmp_path, "CSI", 12, 1, t, x, ["CSI"] * n)
    recs = D.load("MobiAct", root=tmp_path)
    assert len(recs) == 1
    r = recs[0]
    assert (r.subject, r.session, r.meta["layout"]) == ("12", "FOL_1", "v2 annotated")
    want = [CI["Standing"]] * 10 + [CI["Walking"]] * 10 + [-1] * 20
    assert r.labels.tolist() == want
    np.testing.assert_array_equal(r.acc.t, r.gyro.t)
    np.testing.assert_allclose(r.acc.xyz[:, 1], 9.81)
    np.testing.assert_allclose(r.gyro.xyz, 0.02)


# ------------------------------------------------------------------------------------ PAMAP2
def _pamap2_rows() -> list[str]:
    rows = [PAMAP2_ROW1]  # activity 0: transient, dropped
    t = 8.39
    for k in range(20):  # lying
        rows.append(
            pamap2_row(t + 0.01 * k, 1, chest=1.0, ankle=-1.0, nan_imu="chest" if k == 7 else None)
        )
    t += 0.2 + 2.0  # 2 s gap
    for k in range(15):  # ironing -> -1
        rows.append(pamap2_row(t + 0.01 * k, 17))
    t += 0.15 + 2.0
    for k in range(25):  # rope jumping
        rows.append(pamap2_row(t + 0.01 * k, 24))
    return rows


def test_pamap2_positions_labels_and_gaps(tmp_path: Path) -> None:
    write_pamap2(tmp_path, 101, _pamap2_rows())
    write_pamap2(tmp_path, 109, [pamap2_row(5.0 + 0.01 * k, 13) for k in range(12)])
    recs = D.load("PAMAP2", root=tmp_path)
    assert [(r.subject, int(r.labels[0]), len(r.acc.t)) for r in recs] == [
        ("101", CI["Lying"], 19),  # NaN chest row dropped, no split (gap 0.02 s)
        ("101", CI["Jumping"], 25),
        ("109", CI["Downstairs"], 12),
    ]
    r = recs[0]
    assert r.position == "chest" and r.nominal_rate == 100.0
    np.testing.assert_allclose(r.acc.xyz[0], [1.23808, 10.80003, -0.68896])  # chest acc16 + 1
    np.testing.assert_allclose(r.gyro.xyz[0], [-0.00506495, -0.00678097, -0.00566295])
    ankle = D.load("PAMAP2", root=tmp_path, position="ankle")
    assert len(ankle[0].acc.t) == 20  # the chest dropout does not affect the ankle IMU
    np.testing.assert_allclose(ankle[0].acc.xyz[0], [8.65918, -2.65569, -1.0997967])
    kept = D.load("PAMAP2", root=tmp_path, keep_unlabelled=True)
    assert [int(r.labels[0]) for r in kept if r.subject == "101"] == [
        CI["Lying"],
        -1,
        CI["Jumping"],
    ]
    with pytest.raises(ValueError, match="chest"):
        D.load("PAMAP2", root=tmp_path, position="waist")


def test_pamap2_protocol_directly_under_root(tmp_path: Path) -> None:
    write_pamap2(tmp_path, 102, [pamap2_row(1.0 + 0.01 * k, 4) for k in range(5)], top="")
    (r,) = D.load("PAMAP2", root=tmp_path, position="hand")
    assert r.subject == "102" and r.position == "hand" and (r.labels == CI["Walking"]).all()


def test_pamap2_truncated_row_names_line(tmp_path: Path) -> None:
    rows = _pamap2_rows()
    rows[5] = " ".join(rows[5].split(" ")[:30])
    write_pamap2(tmp_path, 101, rows)
    with pytest.raises(
        DataFormatError, match=r"subject101\.dat, line 6: expected 54 fields, found 30"
    ):
        D.load("PAMAP2", root=tmp_path)


# ------------------------------------------------------------------------------------ RealWorld
def _rw(t0_ms: int, n: int, val: float, step: int = 20) -> tuple[list[int], np.ndarray]:
    return [t0_ms + step * k for k in range(n)], np.tile([val, 9.8, 0.1], (n, 1))


def test_realworld_positions_parts_and_time_pairing(tmp_path: Path) -> None:
    t0 = 1435993377002
    # proband1 walking: one part per position; gyro starts earlier (its own clock, like the excerpt)
    acc_w = rw_csv(*_rw(t0, 60, 1.0))
    acc_c = rw_csv(*_rw(t0, 60, 2.0))
    gyr_w = rw_csv(*_rw(t0 - 1000, 200, 0.3, step=19))
    write_realworld(
        tmp_path,
        1,
        "acc",
        "walking",
        {"acc_walking_waist.csv": acc_w, "acc_walking_chest.csv": acc_c},
    )
    gyrs = {"Gyroscope_walking_waist.csv": gyr_w, "Gyroscope_walking_chest.csv": gyr_w}
    write_realworld(tmp_path, 1, "gyr", "walking", gyrs)
    # proband2 climbingup in parts _1_ and _2_: acc as nested zips, gyro as several CSVs
    a1, a2 = rw_csv(*_rw(t0, 30, 1.0)), rw_csv(*_rw(t0 + 60_000, 40, 1.0))
    nested = {
        "acc_climbingup_1_csv.zip": zip_bytes({"acc_climbingup_1_waist.csv": a1}),
        "acc_climbingup_2_csv.zip": zip_bytes({"acc_climbingup_2_waist.csv": a2}),
    }
    write_realworld(tmp_path, 2, "acc", "climbingup", nested)
    write_realworld(
        tmp_path,
        2,
        "gyr",
        "climbingup",
        {
            "Gyroscope_climbingup_1_waist.csv": rw_csv(*_rw(t0 + 5, 30, 0.5)),
            "Gyroscope_climbingup_2_waist.csv": rw_csv(*_rw(t0 + 60_005, 40, 0.6)),
        },
    )
    recs = D.load("RealWorld", root=tmp_path)
    got = {(r.subject, r.session): r for r in recs}
    assert set(got) == {("1", "walking_1"), ("2", "climbingup_1"), ("2", "climbingup_2")}
    w = got[("1", "walking_1")]
    assert w.position == "waist" and (w.labels == CI["Walking"]).all()
    assert w.acc.t[0] == pytest.approx(t0 / 1000) and np.all(w.acc.xyz[:, 0] == 1.0)
    assert w.gyro.t[0] <= w.acc.t[0] and w.gyro.t[-1] >= w.acc.t[-1]
    assert w.gyro.t[1] > w.acc.t[0] and w.gyro.t[-2] < w.acc.t[-1]  # only the span, ±1 sample
    c2 = got[("2", "climbingup_2")]
    assert (c2.labels == CI["Upstairs"]).all() and len(c2.acc.t) == 40
    assert np.all(c2.gyro.xyz[1:-1, 0] == 0.6)  # part 2's gyro, paired by time
    (chest,) = D.load("RealWorld", root=tmp_path, position="chest")
    assert chest.position == "chest" and np.all(chest.acc.xyz[:, 0] == 2.0)


def test_realworld_genuine_rows_and_bad_header(tmp_path: Path) -> None:
    acc = "id,attr_time,attr_x,attr_y,attr_z\n" + RW_ACC_EXCERPT
    gyr = "id,attr_time,attr_x,attr_y,attr_z\n" + RW_GYR_EXCERPT
    write_realworld(tmp_path, 3, "acc", "lying", {"acc_lying_waist.csv": acc})
    # the genuine gyro excerpt lies before the acc rows in time: it yields no pair
    write_realworld(tmp_path, 3, "gyr", "lying", {"Gyroscope_lying_waist.csv": gyr})
    with pytest.raises(DatasetMissing):
        D.load("RealWorld", root=tmp_path)
    write_realworld(tmp_path, 3, "acc", "lying", {"acc_lying_waist.csv": RW_ACC_EXCERPT})
    with pytest.raises(DataFormatError, match=r"acc_lying_csv\.zip:acc_lying_waist\.csv, line 1"):
        D.load("RealWorld", root=tmp_path)


# ------------------------------------------------------------------------------------ UCI
def test_uci_v1_windows_are_stitched_back(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n1, n2, n3 = 128 + 64 * 4, 128 + 64 * 2, 128
    sig = [rng.normal(0, 0.3, (n, 3)) + [1.0, 0, 0] for n in (n1, n2, n3)]
    gyr = [rng.normal(0, 0.5, (n, 3)) for n in (n1, n2, n3)]
    y = [np.array([5, 5, 1, 1, 1]), np.array([6, 6, 6]), np.array([2])]
    write_uci_v1(tmp_path, "train", sig[:2], gyr[:2], y[:2], [1, 1])
    write_uci_v1(tmp_path, "test", sig[2:], gyr[2:], y[2:], [2])
    recs = D.load("UCI", root=tmp_path)
    assert [(r.subject, len(r.acc.t)) for r in recs] == [("1", n1), ("1", n2), ("2", n3)]
    for r, s, g in zip(recs, sig, gyr, strict=True):
        np.testing.assert_allclose(r.acc.xyz, s * config.G, atol=1e-5)
        np.testing.assert_allclose(r.gyro.xyz, g, atol=1e-6)
    # window k labels samples [64k, 64k+64); the last window labels all its 128 samples
    lab = recs[0].labels
    assert (lab[:128] == CI["Standing"]).all() and (lab[128:] == CI["Walking"]).all()
    assert (recs[1].labels == CI["Lying"]).all() and (recs[2].labels == CI["Upstairs"]).all()


def test_uci_hapt_layout_and_transitions(tmp_path: Path) -> None:
    n = 300
    acc = np.tile([1.0, 0.0, 0.0], (n, 1))
    write_uci_hapt(
        tmp_path, 1, 1, acc, np.zeros((n, 3)), [(5, 11, 100), (7, 101, 150), (6, 151, 300)]
    )
    write_uci_hapt(tmp_path, 2, 1, acc[:200], np.zeros((200, 3)), [(1, 1, 200)])
    r1, r2 = D.load("UCI", root=tmp_path)
    assert (r1.session, r2.session) == ("exp01", "exp02")
    assert (r1.labels[:10] == -1).all() and (r1.labels[10:100] == CI["Standing"]).all()
    assert (r1.labels[100:150] == -1).all() and (r1.labels[150:] == CI["Lying"]).all()
    np.testing.assert_allclose(r1.acc.xyz[0], [config.G, 0, 0])
    np.testing.assert_allclose(r1.acc.t[:3], [0, 0.02, 0.04])
    assert (r2.labels == CI["Walking"]).all()


def test_uci_hapt_corrupt_row(tmp_path: Path) -> None:
    d = write_uci_hapt(tmp_path, 1, 1, np.ones((20, 3)), np.zeros((20, 3)), [(1, 1, 20)])
    p = d / "gyro_exp01_user01.txt"
    lines = p.read_text().splitlines()
    lines[9] = "0.0 abc 0.0"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"gyro_exp01_user01\.txt, line 10"):
        D.load("UCI", root=tmp_path)


# ------------------------------------------------------------------------------------ MotionSense
def test_motionsense_units_and_sign(tmp_path: Path) -> None:
    write_motionsense(tmp_path, "std_6", 1, MS_EXCERPT)
    write_motionsense(tmp_path, "jog_16", 7, MS_EXCERPT)
    recs = D.load("MotionSense", root=tmp_path)
    assert [(r.session, r.subject, int(r.labels[0])) for r in recs] == [
        ("jog_16", "7", CI["Running"]),
        ("std_6", "1", CI["Standing"]),
    ]
    want = -np.array([0.104929 + 0.007192, 0.984947 - 0.004249, 0.137365 + 0.065989]) * config.G
    np.testing.assert_allclose(recs[1].acc.xyz[0], want, rtol=1e-6)


def test_motionsense_bad_row(tmp_path: Path) -> None:
    write_motionsense(tmp_path, "std_6", 1, MS_EXCERPT + "2,2.48,-1.39,1.91,0.1,0.98\n")
    with pytest.raises(DataFormatError, match=r"sub_1\.csv, line 4: expected 13 fields, found 6"):
        D.load("MotionSense", root=tmp_path)


# ------------------------------------------------------------------------------------ registry, missing data
def test_registry_and_unknown_name() -> None:
    assert tuple(D.REGISTRY) == config.DATASETS or set(D.REGISTRY) == set(config.DATASETS)
    assert D.REGISTRY["MobiAct"].obtain.startswith("by request to its authors")
    assert "A_DeviceMotion_data.zip" in D.REGISTRY["MotionSense"].mirror_files
    assert "uci-hapt-v2.1.zip" in D.REGISTRY["UCI"].mirror_files
    assert D.REGISTRY["UCI"].paper_table1.samples == 10299
    with pytest.raises(ValueError, match="valid choices: HHAR, MobiAct"):
        D.load("WISDM")
    with pytest.raises(ValueError, match="valid"):
        D.locate("nope")


def test_missing_dataset_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNB_DATA", str(tmp_path))
    monkeypatch.setenv("HARNB_MIRROR", "")  # empty: no mirror (unset means the default one)
    with pytest.raises(DatasetMissing) as e:
        D.load("PAMAP2")
    msg = str(e.value)
    assert "harnb data fetch PAMAP2" in msg and "HARNB_MIRROR" in msg
    assert str(tmp_path / "raw" / "PAMAP2") in msg and "archive.ics.uci.edu" in msg
    with pytest.raises(DatasetMissing, match="by request to its authors"):
        D.locate("MobiAct")
    # an existing folder with the wrong content also says what is missing
    (tmp_path / "x").mkdir()
    with pytest.raises(DatasetMissing, match="Phones_accelerometer"):
        D.load("HHAR", root=tmp_path / "x")
    assert D.available() == []


def test_half_extracted_folder_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNB_DATA", str(tmp_path))
    monkeypatch.setenv("HARNB_MIRROR", "")  # empty: no mirror (unset means the default one)
    root = tmp_path / "raw" / "MotionSense"
    p = write_motionsense(root, "std_6", 1, MS_EXCERPT)
    with pytest.raises(DatasetMissing, match="manifest"):
        D.locate("MotionSense")
    rel = p.relative_to(root).as_posix()
    doc = {
        "version": 1,
        "complete": False,
        "files": {rel: {"size": p.stat().st_size}},
        "content_sha256": "x",
    }
    (root / ".harnb-manifest.json").write_text(json.dumps(doc))
    with pytest.raises(DatasetMissing, match="manifest"):
        D.locate("MotionSense")
    doc["complete"] = True
    (root / ".harnb-manifest.json").write_text(json.dumps(doc))
    assert D.locate("MotionSense") == root
    assert D.available() == ["MotionSense"]
    fp = D.fingerprint("MotionSense")
    p.write_text(p.read_text() + "2,1,1,1,1,1,1,1,1,1,1,1,1\n")  # size no longer matches
    # the message names the changed file and the fix, not a "half-finished extraction"
    with pytest.raises(DatasetMissing, match="changed since extraction") as e:
        D.locate("MotionSense")
    assert rel in str(e.value) and "fetch --force MotionSense" in str(e.value)
    assert "half-finished" not in str(e.value)
    p.unlink()
    with pytest.raises(DatasetMissing, match="deleted since extraction"):
        D.locate("MotionSense")
    assert D.fingerprint("MotionSense", root=root) != fp
