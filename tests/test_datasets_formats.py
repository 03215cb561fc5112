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
    HUGADB_EXCERPT,
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
    write_hugadb,
    write_hugadb_readme,
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
from harnb.data import preprocess
from harnb.data.datasets import DataFormatError, DatasetMissing, hugadb

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


# ------------------------------------------------------------------------------------ HuGaDB
#: HuGaDB's documented ranges, written out here: int16 over ±2 g and ±2000 °/s
HG_ACC = 2 * 9.80665 / 32768  # m/s² per count
HG_GYRO = 2000 / 32768 * np.pi / 180  # rad/s per count
HG_RATE = 2111962 / 35903  # the authors' Table 1: samples / seconds


def _hg_sensor(n: int, base: int) -> np.ndarray:
    """(n, 6) int16 counts, distinct per sensor (``base``) and per sample."""
    k = np.arange(n)[:, None]
    return base + np.array([[0, 100, 16384, 10, 20, 30]]) + k


def test_hugadb_units_rate_labels_and_position(tmp_path: Path) -> None:
    acts = [1, 1, 6, 8, 8, 5, 9, 10, 11, 12, 2, 3, 4, 7]
    n = len(acts)
    sensors = {"rt": _hg_sensor(n, 0), "lt": _hg_sensor(n, -5000), "rs": _hg_sensor(n, 700)}
    write_hugadb(tmp_path, "various", 8, 2, sensors, acts)
    write_hugadb_readme(tmp_path)
    (r,) = D.load("HuGaDB", root=tmp_path)
    assert (r.subject, r.session, r.position) == ("8", "various_02", "right thigh")
    assert r.meta["file"] == "HuGaDB_v1_various_08_02.txt"
    np.testing.assert_allclose(r.acc.xyz, sensors["rt"][:, :3] * HG_ACC)
    np.testing.assert_allclose(r.gyro.xyz, sensors["rt"][:, 3:] * HG_GYRO)
    assert r.acc.xyz[0, 2] == pytest.approx(config.G)  # 16384 counts = 1 g
    assert r.nominal_rate == pytest.approx(HG_RATE) and 58.8 < HG_RATE < 58.9
    np.testing.assert_allclose(r.acc.t, np.arange(n) / HG_RATE)
    np.testing.assert_array_equal(r.acc.t, r.gyro.t)
    union = {1: "Walking", 8: "Standing", 5: "Sitting", 9: "Cycling", 2: "Running"}
    union |= {3: "Upstairs", 4: "Downstairs"}
    assert r.labels.tolist() == [CI[union[a]] if a in union else -1 for a in acts]
    (lt,) = D.load("HuGaDB", root=tmp_path, position="left_thigh")
    np.testing.assert_allclose(lt.acc.xyz, sensors["lt"][:, :3] * HG_ACC)
    (rs,) = D.load("HuGaDB", root=tmp_path, position="Right shank")  # the README's word
    assert rs.position == "right shin"
    np.testing.assert_allclose(rs.gyro.xyz, sensors["rs"][:, 3:] * HG_GYRO)
    with pytest.raises(ValueError, match="right_thigh, left_thigh"):
        D.load("HuGaDB", root=tmp_path, position="wrist")
    with pytest.raises(TypeError, match="position"):
        D.load("HuGaDB", root=tmp_path, keep_unlabelled=True)


def test_hugadb_genuine_row_crlf_and_lf_alike(tmp_path: Path) -> None:
    crlf, lf = tmp_path / "crlf", tmp_path / "lf"
    for root, text in ((crlf, HUGADB_EXCERPT), (lf, HUGADB_EXCERPT.replace("\r\n", "\n"))):
        d = root / "HuGaDB" / "Data"
        d.mkdir(parents=True)
        (d / "HuGaDB_v1_walking_08_00.txt").write_bytes(text.encode())
        write_hugadb_readme(root)
    (a,) = D.load("HuGaDB", root=crlf)
    (b,) = D.load("HuGaDB", root=lf)
    # right thigh of the genuine first row: acc -13952 -3632 648, gyro -276 2447 1729, walking
    np.testing.assert_allclose(a.acc.xyz[0], np.array([-13952, -3632, 648]) * HG_ACC)
    np.testing.assert_allclose(a.gyro.xyz[0], np.array([-276, 2447, 1729]) * HG_GYRO)
    assert a.labels.tolist() == [CI["Walking"]]
    for x, y in ((a.acc, b.acc), (a.gyro, b.gyro)):
        np.testing.assert_array_equal(x.xyz, y.xyz)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_hugadb_corrupted_gyroscope_files_left_out_per_sensor(tmp_path: Path) -> None:
    acts = [1] * 5
    # names and verdicts of three genuine README rows (published_formats.HUGADB_README_ROWS)
    for activity, subject, counter in (("various", 3, 0), ("walking", 18, 0), ("sitting", 5, 1)):
        write_hugadb(tmp_path, activity, subject, counter, {}, acts)
    write_hugadb(tmp_path, "walking", 2, 0, {}, acts)  # not in the table: good everywhere
    write_hugadb(tmp_path, "running", 2, 0, {}, acts)
    write_hugadb_readme(tmp_path, {"HuGaDB_v1_running_02_00.txt": {"Left shank": "Corrupted"}})

    def kept(position: str) -> list[str]:
        return sorted(r.meta["file"] for r in D.load("HuGaDB", root=tmp_path, position=position))

    everything = sorted(p.name for p in hugadb.data_files(tmp_path))
    assert len(everything) == 5
    for position, bad in {
        "right_thigh": ["HuGaDB_v1_various_03_00.txt"],
        "left_thigh": ["HuGaDB_v1_walking_18_00.txt"],
        # the blank cell of sitting_05_01 is not known good
        "right_shin": ["HuGaDB_v1_sitting_05_01.txt", "HuGaDB_v1_various_03_00.txt",
                       "HuGaDB_v1_walking_18_00.txt"],
        "left_shin": ["HuGaDB_v1_running_02_00.txt", "HuGaDB_v1_walking_18_00.txt"],
        "left_foot": ["HuGaDB_v1_sitting_05_01.txt", "HuGaDB_v1_walking_18_00.txt"],
    }.items():  # fmt: skip
        assert sorted(hugadb.left_out(tmp_path, position)) == bad, position
        assert kept(position) == sorted(set(everything) - set(bad)), position
    (tmp_path / "HuGaDB" / "README.md").unlink()
    with pytest.raises(DatasetMissing, match="Corrupted gyroscope data"):
        D.load("HuGaDB", root=tmp_path)


def test_hugadb_unlabelled_file_skipped_and_duplicate_read_once(tmp_path: Path) -> None:
    write_hugadb(tmp_path, "down_by_elevator", 12, 0, {}, [11] * 6)  # only dropped activities
    write_hugadb(tmp_path, "various", 12, 1, {}, [6, 6, 8, 8, 7])
    write_hugadb(tmp_path / "copy", "various", 12, 1, {}, [6, 6, 8, 8, 7])  # a second copy
    write_hugadb_readme(tmp_path)
    recs = D.load("HuGaDB", root=tmp_path)
    assert [r.meta["file"] for r in recs] == ["HuGaDB_v1_various_12_01.txt"]
    assert recs[0].labels.tolist() == [-1, -1, CI["Standing"], CI["Standing"], -1]


def test_hugadb_bad_files_named_by_line(tmp_path: Path) -> None:
    write_hugadb_readme(tmp_path)
    p = write_hugadb(tmp_path, "walking", 8, 0, {}, [1] * 4)
    good = p.read_bytes()
    lines = good.split(b"\r\n")
    p.write_bytes(
        b"\r\n".join([*lines[:3], lines[3].replace(b"gyro_rt_x", b"gyro_rt_X"), *lines[4:]])
    )
    with pytest.raises(DataFormatError, match=r"walking_08_00\.txt, line 4: unexpected column"):
        D.load("HuGaDB", root=tmp_path)
    p.write_bytes(b"\r\n".join([lines[0].replace(b"#Activity", b"#Act"), *lines[1:]]))
    with pytest.raises(DataFormatError, match=r"walking_08_00\.txt, line 1: expected a #Activity"):
        D.load("HuGaDB", root=tmp_path)
    short = lines[6].rsplit(b"\t", 1)[0]  # the third data row loses its activity id
    p.write_bytes(b"\r\n".join([*lines[:6], short, *lines[7:]]))
    with pytest.raises(DataFormatError, match=r"walking_08_00\.txt, line 7: expected 39 fields"):
        D.load("HuGaDB", root=tmp_path)
    p.write_bytes(b"\r\n".join([*lines[:5], lines[5][:-1] + b"13", *lines[6:]]))
    with pytest.raises(DataFormatError, match=r"line 6: activity id 13 is not one of 1-12"):
        D.load("HuGaDB", root=tmp_path)
    p.write_bytes(b"\r\n".join([*lines[:4], b"40000" + lines[4][1:], *lines[5:]]))
    with pytest.raises(DataFormatError, match=r"line 5: a sensor value outside int16"):
        D.load("HuGaDB", root=tmp_path, position="right_foot")
    p.write_bytes(b"\r\n".join(lines[:4]) + b"\r\n")
    with pytest.raises(DataFormatError, match="no data rows"):
        D.load("HuGaDB", root=tmp_path)


def test_hugadb_resampled_to_50_hz(tmp_path: Path) -> None:
    n = 600  # about 10 s: 300 walking samples, 300 standing
    acts = [1] * 300 + [8] * 300
    write_hugadb(tmp_path, "various", 9, 0, {"rt": _hg_sensor(n, 0)}, acts)
    write_hugadb_readme(tmp_path)
    (r,) = D.load("HuGaDB", root=tmp_path)
    (seg,) = preprocess.resample_recording(r)
    t, x, y = seg
    np.testing.assert_allclose(np.diff(t), 1 / 50)
    assert len(t) == int((n - 1) / HG_RATE * 50) + 1
    # each grid point takes the label of the latest sample at or before it
    want = np.where(np.floor(np.arange(len(t)) * HG_RATE / 50 + 1e-9) < 300, 1, 8)
    assert y.tolist() == [CI["Walking"] if a == 1 else CI["Standing"] for a in want]
    _, wy, _ = preprocess.window_segments([seg])
    runs = np.bincount(want)[[1, 8]]
    assert len(wy) == sum((k - 128) // 64 + 1 for k in runs if k >= 128)


# ------------------------------------------------------------------------------------ registry, missing data
def test_registry_and_unknown_name() -> None:
    assert set(D.REGISTRY) == set(config.DATASETS) | set(config.EXTRA_DATASETS)
    assert config.EXTRA_DATASETS == ("HuGaDB",) and "HuGaDB" not in config.DATASETS
    assert D.names()[: len(config.DATASETS) + 1] == (*config.DATASETS, "HuGaDB")
    hg = D.REGISTRY["HuGaDB"]
    assert hg.paper_table1 is None and "hugadb-v1-subset.zip" in hg.mirror_files
    assert hg.nominal_rate == pytest.approx(hugadb.RATE)
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
