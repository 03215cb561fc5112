"""What a newcomer's own data meets at ``harnb data add`` (issue 25), on real recordings.

A MotionSense export (subjects 1-3, the CSV folder format) is copied and corrupted the ways a
real smartwatch export went wrong: one huge value, a value beyond float32, the wrong time,
acc and gyro units, a gyro that was not recorded, timestamps in bursts, recordings too short
for a window, and eleven classes of one's own. Each was accepted silently before.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harnb import config
from harnb.cli import ALLOW_CHECKS, main
from harnb.data import datasets as D
from harnb.data import preprocess
from harnb.data.datasets import added, csvfolder
from harnb.data.datasets.base import Recording, Stream

pytestmark = pytest.mark.mirror
ACC = ["acc_x", "acc_y", "acc_z"]
GYRO = ["gyro_x", "gyro_y", "gyro_z"]
FIRST = "1/dws_1.csv"  # the first file read


@pytest.fixture(scope="module")
def ms_folder(mirror: Path, session_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MotionSense subjects 1, 2, 3 written by ``harnb data export-csv`` (SI units, 50 Hz)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("HARNB_DATA", str(session_data))
    mp.setenv("HARNB_MIRROR", str(mirror))
    out = tmp_path_factory.mktemp("ms") / "ms-csv"
    try:
        assert (
            main(["data", "export-csv", "MotionSense", str(out), "--subjects", "1", "2", "3"]) == 0
        )
    finally:
        mp.undo()
    return out


def corrupt(
    src: Path,
    dst: Path,
    edit: Callable[[pd.DataFrame], None] | None = None,
    files: list[str] | None = None,
    units: dict[str, str] | None = None,
    **meta: object,
) -> Path:
    """A copy of ``src`` whose CSV files (all, or ``files``) went through ``edit`` (in place)
    and whose metadata has ``units`` and ``meta`` changed."""
    shutil.copytree(src, dst)
    if edit is not None:
        paths = sorted(dst.glob("*/*.csv")) if files is None else [dst / f for f in files]
        for p in paths:
            df = pd.read_csv(p, dtype={"label": str}, keep_default_na=False)
            edit(df)
            df.to_csv(p, index=False, float_format="%.9g", lineterminator="\n")
    doc = json.loads((dst / csvfolder.META).read_text())
    doc["units"].update(units or {})
    doc.update(meta)
    (dst / csvfolder.META).write_text(json.dumps(doc, indent=1))
    return dst


def _set(col: str, row: int, value: float) -> Callable[[pd.DataFrame], None]:
    def edit(df: pd.DataFrame) -> None:
        df.loc[row, col] = value

    return edit


def _scale(cols: list[str], factor: float) -> Callable[[pd.DataFrame], None]:
    def edit(df: pd.DataFrame) -> None:
        df[cols] = df[cols] * factor

    return edit


def _add_error(capsys: pytest.CaptureFixture[str], folder: Path, *allow: str) -> str:
    """``harnb data add`` fails: status 2, one line on stderr; returns the line."""
    argv = ["data", "add", str(folder), *(a for c in allow for a in ("--allow", c))]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("harnb data add: error: "), err
    return err


#: name -> (edit, files, units, the error, the check that names it, --allow to add anyway,
#: and what happens then: "" = added; else the next error)
CASES: dict[str, tuple] = {
    # one acc value of 1e30 in ~190,000 rows: accepted, it made every window ≈ 0
    "acc-1e30": (
        _set("acc_y", 1000, 1e30), [FIRST], {},
        rf"{FIRST}, line 1002: acc_y is 1e\+30 m/s\^2, beyond any phone or IMU accelerometer's "
        r"range \(±32 g = ±314 m/s² per axis\): a corrupted value .*1 of \d+ rows",
        "acc-range", ["acc-range"], "",
    ),
    "time-ms-declared-s": (
        _scale(["timestamp"], 1000), None, {},
        rf"{FIRST}, column timestamp: the median step is 20 s, a rate of 0\.05 Hz, more than 3× "
        r"off the declared rate_hz 50: timestamps in ms declared as s\?",
        "rate", ["rate"], "not added: no window of 128 samples",
    ),
    "time-s-declared-ms": (
        None, None, {"timestamp": "ms"},
        rf"{FIRST}, column timestamp: the median step is 0\.02 ms, a rate of 5e\+04 Hz, .*"
        "timestamps in s declared as ms\\?",
        "rate", ["rate"], "every recording is shorter",
    ),
    "gyro-deg-declared-rad": (
        _scale(GYRO, 180 / math.pi), None, {},
        rf"{FIRST}, line \d+: gyro_. is -?[\d.]+ rad/s, beyond any phone or IMU gyroscope's "
        r"range \(±4000 °/s = ±69\.8 rad/s per axis\): gyro in deg/s declared as rad/s\?",
        "gyro-range", ["gyro-range"], "beyond what a body reaches",
    ),
    "acc-g-declared-ms2": (
        _scale(ACC, 1 / config.G), None, {},
        rf"{csvfolder.META}, line \d+: the median \|acc\| over 45 file\(s\), \d+ rows is 1\.0\d "
        r"m/s² \(0\.10\d g\), .*acc in g declared as m/s²\?",
        "gravity", ["gravity"], "",
    ),
    "acc-mg-declared-g": (
        _scale(ACC, 1000 / config.G), None, {"acc": "g"},
        rf"{FIRST}, line 2: acc_x is -?\d+\.?\d* g, beyond .*: acc in mg\? \(the file's median "
        r"\|acc\| is 10\d\d g",
        "acc-range", ["acc-range"], "acc in mg?",
    ),
    "gyro-all-zero": (
        _scale(GYRO, 0.0), [FIRST], {},
        rf"{FIRST}, columns gyro_x, gyro_y, gyro_z: the gyroscope reads \(0\.0, 0\.0, 0\.0\) "
        r"rad/s in all \d+ rows: it was not recorded",
        "flat", ["flat"], "",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_implausible_values_are_refused_with_file_value_cause_and_flag(
    case: str, ms_folder: Path, tmp_path: Path, data: Path, capsys
) -> None:
    edit, files, units, error, check, allow, then = CASES[case]
    folder = corrupt(ms_folder, tmp_path / case, edit, files, units)
    err = _add_error(capsys, folder)
    assert f"error: {folder}" in err
    assert re.search(error, err), err
    assert err.rstrip().endswith(f"if the values are real, pass --allow {check} to harnb data add")
    assert "MotionSense_csv" not in D.names()  # nothing registered
    if then:  # the check was the first of two problems: the next one is reported
        assert then in _add_error(capsys, folder, *allow)
        assert "MotionSense_csv" not in D.names()
        return
    assert main(["data", "add", str(folder), *(a for c in allow for a in ("--allow", c))]) == 0
    out = capsys.readouterr()
    assert f"checks turned off: {', '.join(allow)}" in out.err
    assert added.get("MotionSense_csv").allow == tuple(allow)  # remembered for every later read
    if case == "gyro-all-zero":  # the windows are built with the same allowance
        assert len(preprocess.build_windows("MotionSense_csv", progress=False)) > 2000
        from harnb.pretrained import finetune  # and fine-tuning reads the folder as added

        assert finetune.load_user_windows(folder).allow == ("flat",)


def test_prediction_reads_new_recordings_as_the_model_was_trained(
    ms_folder: Path, tmp_path: Path, data: Path
) -> None:
    """A model fine-tuned with ``--allow flat`` records it; prediction applies it."""
    from test_finetune import _model_folder

    from harnb.data.datasets import DataFormatError
    from harnb.pretrained import finetune

    folder = corrupt(ms_folder, tmp_path / "zero", _scale(GYRO, 0.0), [FIRST])
    with pytest.raises(DataFormatError, match="--allow flat"):
        finetune.load_user_windows(folder, ignore_labels=True)
    ud = finetune.load_user_windows(folder, allow=["flat"])
    model = _model_folder(tmp_path / "model", ud.store.X)
    with pytest.raises(DataFormatError, match="the gyroscope reads"):
        finetune.predict_folder(model, folder)
    card = json.loads((model / "card.json").read_text())
    card["preprocessing"]["checks_allowed"] = ["flat"]
    (model / "card.json").write_text(json.dumps(card))
    pred = finetune.predict_folder(model, folder)
    assert len(pred) >= len(ud.store) and set(pred["class"]) <= set(config.CLASSES)


def test_allow_names_every_check() -> None:
    assert set(ALLOW_CHECKS) == set(csvfolder.CHECKS)


def test_deg_per_s_passes_when_both_gyro_checks_are_allowed(
    ms_folder: Path, tmp_path: Path, data: Path, capsys
) -> None:
    folder = corrupt(ms_folder, tmp_path / "deg", _scale(GYRO, 180 / math.pi))
    err = _add_error(capsys, folder, "gyro-range")
    assert "1 % of the gyro samples over 45 file(s)" in err and "gyro in deg/s declared" in err
    assert main(["data", "add", str(folder), "--allow", "gyro-range", "--allow", "gyro-body"]) == 0


def test_beyond_float32_is_refused_even_when_allowed(
    ms_folder: Path, tmp_path: Path, data: Path, capsys
) -> None:
    """1e39 is finite in the CSV and infinite in float32: it made half the inputs NaN."""
    folder = corrupt(ms_folder, tmp_path / "f32", _set("acc_x", 5, 1e39), [FIRST])
    for allow in ((), ALLOW_CHECKS):
        err = _add_error(capsys, folder, *allow)
        assert f"{folder / FIRST}, line 7: acc_x is 1e+39 m/s^2, beyond float32" in err
        assert "--allow" not in err


def test_the_real_export_passes_every_check(ms_folder: Path) -> None:
    recs = csvfolder.read_folder(ms_folder)
    assert len(recs) == 45 and not any(r.meta.get("note") for r in recs)


@pytest.mark.parametrize("name", ["UCI", "MotionSense", "MobiAct"])
def test_the_mirrors_datasets_pass_every_check(name: str, session_data: Path, mirror: Path):
    """No false alarm on real recordings: each of the mirror's datasets, as its loader reads
    it (SI units), passes every check at its nominal rate, and none is re-timed."""
    mp = pytest.MonkeyPatch()
    mp.setenv("HARNB_DATA", str(session_data))
    mp.setenv("HARNB_MIRROR", str(mirror))
    try:
        recs = D.load(name)
    finally:
        mp.undo()
    meta = csvfolder.FolderMeta(
        name, "", "", recs[0].nominal_rate, "s", "m/s^2", "rad/s", (), {}, False, config.CLASSES
    )
    for r in recs:
        t, note = csvfolder.check_recording(Path(r.session), r.acc.t, r.acc.xyz, r.gyro.xyz, meta)
        assert note == "" and t is r.acc.t
    csvfolder.check_dataset(Path(name), meta, recs)


def _bursts(df: pd.DataFrame, seed: int = 0, declared: float = 50.0) -> None:
    """A watch's delivery: the samples of each ~100 ms arrive together, 1-2 ms apart."""
    rng = np.random.default_rng(seed + len(df))
    n, per = len(df), round(declared / 10)  # samples per 100 ms
    burst = np.arange(n) // per
    within = np.arange(n) % per
    start = burst * 0.1 + 0.09 + rng.uniform(0, 0.004, burst.max() + 1)[burst]
    step = rng.uniform(0.001, 0.002, n)
    step[within == 0] = 0.0
    offset = np.cumsum(step) - np.repeat(np.cumsum(step)[within == 0], per)[:n]
    df["timestamp"] = np.round(start + offset, 6)


def test_bursty_timestamps_are_retimed_at_the_declared_rate(
    ms_folder: Path, tmp_path: Path, data: Path, capsys
) -> None:
    """~5 samples 1-2 ms apart every ~100 ms, declared 50 Hz: the gap rule (5 median steps)
    cut every burst and no window fitted. The declared rate wins, with a note; the windows
    are then those of the evenly timed original."""
    folder = corrupt(ms_folder, tmp_path / "bursts", _bursts)
    t = pd.read_csv(folder / FIRST)["timestamp"].to_numpy()
    assert 0.001 <= np.median(np.diff(t)) <= 0.002 and abs(len(t) / t[-1] - 50) < 1
    # without the re-timing, as before: every burst is its own piece, no window fits
    meta = csvfolder.read_meta(folder)
    raw_t, acc, gyro, y = csvfolder.read_csv(folder / FIRST, meta)
    raw = Recording("x", "1", "a", "", "", Stream(raw_t, acc), Stream(raw_t, gyro), y, 50.0)
    assert len(preprocess.windows_from_recordings([raw])[0]) == 0
    assert main(["data", "add", str(folder)]) == 0
    out = capsys.readouterr()
    assert "2860 windows" in out.out, out.out
    assert "note: 45 of 45 files were re-timed" in out.err
    assert "the declared rate_hz 50 wins, they are re-timed at 50 Hz" in out.err
    ours = preprocess.build_windows("MotionSense_csv", progress=False)
    assert main(["data", "add", str(ms_folder), "--replace"]) == 0
    ref = preprocess.build_windows("MotionSense_csv", progress=False)
    np.testing.assert_array_equal(ours.y, ref.y)
    np.testing.assert_array_equal(ours.X, ref.X)
    # prediction reads the same way (it said 20 s recordings were too short for 2.56 s)
    from harnb.pretrained import finetune

    assert len(finetune.load_user_windows(folder, ignore_labels=True).store) >= len(ref)


def test_bursts_at_another_rate_than_declared_are_refused(
    ms_folder: Path, tmp_path: Path, data: Path, capsys
) -> None:
    """Declared 100 Hz, delivered in bursts at 50 Hz: the declared rate cannot win. Allowed
    anyway, the gap rule cuts every burst, and the refusal says so."""
    folder = corrupt(ms_folder, tmp_path / "b100", _bursts, rate_hz=100)
    err = _add_error(capsys, folder)
    assert f"{folder / FIRST}, column timestamp:" in err
    assert "the samples come in bursts whose mean rate, 50 Hz, is not the declared one" in err
    err = _add_error(capsys, folder, "rate")
    assert f"{folder}: not added: no window of 128 samples (2.56 s at 50 Hz) fits" in err
    assert "gap-free pieces of 5 samples on average, because a step longer than 0.2 s" in err
    assert "re-timed only when their mean rate is within 10 % of rate_hz (100 Hz)" in err


def test_a_pause_in_bursts_stays_a_gap(ms_folder: Path) -> None:
    """Re-timing keeps a pause (a step over 1 s) as it was: the windows never span it."""
    meta = csvfolder.read_meta(ms_folder)
    df = pd.read_csv(ms_folder / FIRST)
    _bursts(df)
    t = df["timestamp"].to_numpy(copy=True)
    t[1000:] += 5.0  # the watch stopped sending for 5 s
    acc, gyro = df[ACC].to_numpy(), df[GYRO].to_numpy()
    new, note = csvfolder.check_recording(ms_folder / FIRST, t, acc, gyro, meta)
    assert "re-timed at 50 Hz" in note
    steps = np.diff(new)
    np.testing.assert_allclose(np.delete(steps, 999), 0.02, atol=1e-9)
    assert steps[999] == t[1000] - t[999] > 5  # the pause, as long as it was
    assert preprocess.PreprocessConfig().max_gap_s == added.GAP_S  # what the errors say
    assert preprocess.PreprocessConfig().max_gap_rel == added.GAP_REL


def test_a_folder_without_a_window_is_not_added(
    ms_folder: Path, tmp_path: Path, data: Path, capsys
) -> None:
    """2 s recordings: no 2.56 s window. It was registered, listed as available, and broke a
    plain ``harnb data windows``; now it is refused, saying why, and nothing changes."""
    folder = corrupt(
        ms_folder, tmp_path / "short", lambda df: df.drop(df.index[100:], inplace=True)
    )
    err = _add_error(capsys, folder)
    assert f"error: {folder}: not added: no window of 128 samples (2.56 s at 50 Hz) fits" in err
    assert "every recording is shorter (the longest, " in err and "lasts 1.98 s)" in err
    assert (
        D.names() == (*config.DATASETS, *config.EXTRA_DATASETS)
        and not (data / "user-datasets.json").exists()
    )

    # labels that change every second: the why is the labels
    def flip(df: pd.DataFrame) -> None:
        df["label"] = np.where((np.arange(len(df)) // 50) % 2, "Sitting", "Standing")

    folder = corrupt(ms_folder, tmp_path / "flip", flip)
    err = _add_error(capsys, folder)
    assert "no stretch of one label lasts 2.56 s" in err and "the longest run has 50" in err


def trial_classes(src: Path, dst: Path, n: int, name: str) -> tuple[Path, list[str]]:
    """A copy of a MotionSense export whose labels are its trials (file names, 15 per
    subject), the first ``n`` of them own classes ``trial_<file>``, the others dropped."""
    every = sorted(p.stem for p in (src / "1").glob("*.csv"))
    shutil.copytree(src, dst)
    for p in dst.glob("*/*.csv"):
        df = pd.read_csv(p, dtype={"label": str}, keep_default_na=False)
        df["label"] = p.stem
        df.to_csv(p, index=False, lineterminator="\n")
    doc = json.loads((dst / csvfolder.META).read_text())
    doc.update(name=name, classes="own", derived_from="")
    doc["labels"] = {s: (f"trial_{s}" if s in every[:n] else None) for s in every}
    (dst / csvfolder.META).write_text(json.dumps(doc))
    return dst, [f"trial_{s}" for s in every[:n]]


def test_own_classes_of_any_number_are_counted_under_their_names(
    ms_folder: Path, tmp_path: Path, data: Path, capsys
) -> None:
    """Eleven own classes (MotionSense trials) crashed ``harnb data windows`` in a zip();
    with ten or fewer the counts were printed under the union's class names."""
    for n in (11, 6):
        folder, names = trial_classes(ms_folder, tmp_path / f"own{n}", n, f"Trials{n}")
        assert main(["data", "add", str(folder)]) == 0
        capsys.readouterr()
        assert main(["data", "windows", f"Trials{n}"]) == 0
        out = capsys.readouterr().out
        st = preprocess.build_windows(f"Trials{n}", progress=False)
        counts = np.bincount(st.y, minlength=n)
        assert len(counts) == n and (counts > 0).all()
        header, row = out.splitlines()[0], out.splitlines()[-1].split()
        assert header.split()[-n:] == names  # no union class name
        assert row[0] == f"Trials{n}" and [int(v) for v in row[-n:]] == counts.tolist()
        assert list(st.summary().columns[4:]) == names
