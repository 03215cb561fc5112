"""Bring your own dataset: the CSV folder format, ``harnb data add``, ``register()`` in code,
and the round trip export-csv -> add -> windows on the real MotionSense mirror.

Small folders are written by the tests in the documented format (book/your_data_format.md).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_train import fake_models  # noqa: F401  (fixture)

from harnb import config
from harnb.cli import main
from harnb.data import datasets as D
from harnb.data import preprocess
from harnb.data.datasets import DataFormatError, DatasetError, Recording, Stream, csvfolder

HEADER = "timestamp,acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z,label"


def _meta(**over: object) -> dict:
    doc = {
        "format": "harnb-csv/1",
        "name": "MyHAR",
        "device": "Pixel 7",
        "position": "front pocket",
        "rate_hz": 50,
        "units": {"timestamp": "ms", "acc": "g", "gyro": "deg/s"},
        "subjects": ["s1", "s2"],
        "labels": {"walk": "Walking", "sit": "Sitting", "idle": None},
    }
    doc.update(over)
    return doc


def _rows(n: int, label: str = "walk", t0: float = 0.0) -> list[str]:
    """n rows at 50 Hz (ms timestamps), acc in g (1 g on z), gyro in deg/s."""
    return [
        f"{t0 + 20 * i:.0f},0.01,-0.02,1.0,{math.sin(i / 5):.4f},0,{180 / math.pi:.6f},{label}"
        for i in range(n)
    ]


def write_folder(root: Path, meta: dict | None = None, files: dict | None = None) -> Path:
    """A dataset folder: metadata + {relative path: list of rows (header added)}."""
    root.mkdir(parents=True, exist_ok=True)
    (root / csvfolder.META).write_text(json.dumps(meta or _meta(), indent=1))
    if files is None:
        files = {
            "s1/a.csv": _rows(300) + _rows(200, "sit", 6000),
            "s2/a.csv": _rows(400, "sit") + _rows(10, "idle", 8000),
        }
    for rel, rows in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("\n".join([HEADER, *rows]) + "\n")
    return root


def test_folder_reads_in_si_units(tmp_path: Path) -> None:
    recs = csvfolder.read_folder(write_folder(tmp_path / "ds"))
    assert [(r.subject, r.session) for r in recs] == [("s1", "a"), ("s2", "a")]
    r = recs[0]
    assert r.dataset == "MyHAR" and r.device == "Pixel 7" and r.nominal_rate == 50.0
    np.testing.assert_allclose(r.acc.t[:3], [0.0, 0.02, 0.04])  # ms -> s
    np.testing.assert_allclose(r.acc.xyz[0], [0.01 * config.G, -0.02 * config.G, config.G])
    np.testing.assert_allclose(r.gyro.xyz[0, 2], 1.0, rtol=1e-6)  # deg/s -> rad/s
    walk, sit = config.CLASS_INDEX["Walking"], config.CLASS_INDEX["Sitting"]
    assert (r.labels[:300] == walk).all() and (r.labels[300:] == sit).all()
    assert (recs[1].labels[-10:] == -1).all()  # "idle" maps to null: dropped


def _bad(root: Path, rows: list[str], rel: str = "s1/a.csv") -> Path:
    files = {"s1/a.csv": _rows(5), "s2/a.csv": _rows(5)}
    files[rel] = rows
    return write_folder(root, files=files)


GOOD = _rows(5)


@pytest.mark.parametrize(
    ("rows", "line", "match"),
    [
        (GOOD[:2] + ["40,0.01,-0.02,1.0,0,0,abc,walk"] + GOOD[3:], 4, "gyro_z is not a number"),
        (GOOD[:3] + ["60,0.01,,1.0,0,0,0,walk"] + GOOD[4:], 5, "acc_y is missing"),
        (GOOD[:1] + ["20,NaN,0,1,0,0,0,walk"] + GOOD[2:], 3, "acc_x is missing, NaN"),
        (GOOD[:3] + ["40,0,0,1,0,0,0,walk"] + GOOD[4:], 5, "not after the previous"),
        (GOOD[:2] + ["40,0,0,1,0,0,0,run"] + GOOD[3:], 4, "label 'run' is not in"),
        (GOOD[:2] + ["40,0,0,1,0,0"] + GOOD[3:], 4, "expected 8 fields, found 6"),
        (GOOD[:4] + ["80,0,0,1,0,0,0"], 6, "expected 8 fields, found 7"),
        (GOOD[:1] + ["20,0,0,1,0,0,0,walk,9"] + GOOD[2:], 3, "expected 8 fields, found 9"),
    ],
    ids=[
        "not-a-number",
        "empty",
        "nan",
        "non-monotonic",
        "label",
        "short-row",
        "no-label",
        "long-row",
    ],  # fmt: skip
)
def test_bad_row_names_file_and_line(tmp_path: Path, rows: list[str], line: int, match: str):
    root = _bad(tmp_path / "ds", rows)
    with pytest.raises(DataFormatError, match=match) as e:
        csvfolder.read_folder(root)
    assert str(e.value).startswith(f"{root / 's1' / 'a.csv'}, line {line}: ")


def test_bad_header_and_layout(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "a", files={"s1/a.csv": GOOD, "s2/a.csv": GOOD})
    (root / "s2" / "a.csv").write_text("timestamp,acc_x,acc_y,acc_z,gyro_x,gyro_y,label\n")
    with pytest.raises(DataFormatError, match=r"s2/a.csv, line 1: missing column\(s\) gyro_z"):
        csvfolder.read_folder(root)
    root = write_folder(tmp_path / "b", files={"s1/a.csv": GOOD, "s3/a.csv": GOOD})
    with pytest.raises(DataFormatError, match="subject folder 's3' is not listed"):
        csvfolder.read_folder(root)
    root = write_folder(tmp_path / "c", files={"s1/a.csv": GOOD})
    with pytest.raises(DataFormatError, match=r"subject\(s\) \['s2'\] have no"):
        csvfolder.read_folder(root)


def test_read_for_prediction_needs_no_labels(tmp_path: Path) -> None:
    """``labels=False``: no label column, no ``labels`` mapping; every other check stays."""
    meta = _meta()
    del meta["labels"]
    root = write_folder(tmp_path / "new", meta=meta)
    for p in sorted(root.glob("s*/a.csv")):  # the label is the last field
        p.write_text("\n".join(r.rsplit(",", 1)[0] for r in p.read_text().splitlines()) + "\n")
    recs = csvfolder.read_folder(root, labels=False)
    ref = csvfolder.read_folder(write_folder(tmp_path / "labelled"))
    assert [(r.subject, len(r.labels)) for r in recs] == [(r.subject, len(r.labels)) for r in ref]
    for r, q in zip(recs, ref, strict=True):
        np.testing.assert_array_equal(r.acc.t, q.acc.t)
        np.testing.assert_array_equal(r.acc.xyz, q.acc.xyz)
        np.testing.assert_array_equal(r.gyro.xyz, q.gyro.xyz)
        assert (r.labels == 0).all()  # one run per recording
    with pytest.raises(DataFormatError, match=r"harnb-dataset.json: missing key\(s\) labels"):
        csvfolder.read_folder(root)  # data add, fine-tuning: labels required as before
    p = root / "s1" / "a.csv"
    rows = p.read_text().splitlines()
    rows[3] = rows[2]
    p.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataFormatError, match="not after the previous") as e:
        csvfolder.read_folder(root, labels=False)
    assert str(e.value).startswith(f"{p}, line 4: ")


@pytest.mark.parametrize(
    ("over", "key", "match"),
    [
        ({"units": {"timestamp": "min", "acc": "g", "gyro": "rad/s"}}, "timestamp", "unknown"),
        ({"units": {"timestamp": "s", "acc": "g", "gyro": "rpm"}}, "gyro", "'rpm'"),
        ({"labels": {"walk": "Strolling"}}, "walk", "not one of the 10 union classes"),
        ({"rate_hz": 0}, "rate_hz", "nominal sampling rate"),
        ({"acc_includes_gravity": False}, "acc_includes_gravity", "with gravity"),
        ({"format": "v0"}, "format", "harnb-csv/1"),
    ],
)
def test_bad_metadata_names_file_and_line(tmp_path: Path, over: dict, key: str, match: str):
    root = write_folder(tmp_path / "ds", meta=_meta(**over))
    text = (root / csvfolder.META).read_text()
    line = next(i for i, s in enumerate(text.splitlines(), 1) if f'"{key}"' in s)
    with pytest.raises(DataFormatError, match=match) as e:
        csvfolder.read_meta(root)
    assert str(e.value).startswith(f"{root / csvfolder.META}, line {line}: ")


def test_add_registers_persistently_and_windows_are_cached(tmp_path: Path, data: Path) -> None:
    root = write_folder(tmp_path / "ds")
    s = D.add_folder(root)
    assert (s["subjects"], s["recordings"], s["samples"]) == (2, 2, 910)
    assert json.loads((data / "user-datasets.json").read_text())["datasets"]["MyHAR"]
    assert "MyHAR" in D.names() and D.available() == ["MyHAR"]
    assert D.check_name("myhar") == "MyHAR"
    st = preprocess.build_windows("MyHAR", progress=False)
    # (300 - 128)//64 + 1 = 3 walking, 2 sitting; s2: 5 sitting; idle dropped
    assert len(st) == 10 and set(st.subject) == {"MyHAR:s1", "MyHAR:s2"}
    np.testing.assert_allclose(st.X[0, :, 2].mean(), config.G, rtol=1e-5)
    (cached,) = [p for p in config.processed_dir().iterdir() if p.name.startswith("MyHAR-")]
    assert preprocess.build_windows("MyHAR", progress=False).X.shape == st.X.shape
    # the cache is keyed by content: editing a value gives a new store
    p = root / "s1" / "a.csv"
    p.write_text(p.read_text().replace("0.01,-0.02", "0.02,-0.02", 1))
    preprocess.build_windows("MyHAR", progress=False)
    assert len([p for p in config.processed_dir().iterdir() if p.name.startswith("MyHAR-")]) == 2
    # another folder under the same name needs --replace; removing forgets it
    other = write_folder(tmp_path / "other")
    with pytest.raises(ValueError, match="--replace"):
        D.add_folder(other)
    assert main(["data", "add", str(other / csvfolder.META), "--replace"]) == 0  # the file alone
    assert D.locate("MyHAR") == other.resolve()
    assert main(["data", "remove", "MyHAR"]) == 0 and "MyHAR" not in D.names()
    assert cached.is_dir()


def test_own_classes_cannot_join_lodo(tmp_path: Path, data: Path) -> None:
    meta = _meta(
        name="Gym", classes="own", labels={"walk": "treadmill", "sit": "rowing", "idle": None}
    )
    D.add_folder(write_folder(tmp_path / "gym", meta=meta))
    assert D.classes("Gym") == ("treadmill", "rowing") and D.available() == []
    st = preprocess.build_windows("Gym", progress=False)  # alone: fine (fine-tuning data)
    assert set(st.y) == {0, 1}
    D.add_folder(write_folder(tmp_path / "ds"))
    with pytest.raises(DatasetError, match="its own classes .*cannot be a LODO target"):
        preprocess.load_windows(["MyHAR", "Gym"], progress=False)


def test_register_in_code(tmp_path: Path, data: Path) -> None:
    src = tmp_path / "mine"
    src.mkdir()
    np.save(src / "subject7.npy", np.tile([0.0, 0.0, 9.81, 0.1, 0.0, 0.0], (400, 1)))

    # --- what a user writes: a loader returning Recordings, and one register() call
    def load_mine(root: Path) -> list[Recording]:
        out = []
        for f in sorted(root.glob("subject*.npy")):
            x, t = np.load(f), np.arange(400) / 50.0
            walking = np.full(len(x), config.CLASS_INDEX["Walking"], np.int8)
            out.append(Recording("Mine", f.stem, "1", "phone", "hand",
                                 Stream(t, x[:, :3]), Stream(t, x[:, 3:]), walking, 50.0))  # fmt: skip
        return out

    D.register("Mine", load_mine, root=src)
    # ---
    try:
        assert "Mine" in D.available()
        st = preprocess.build_windows("Mine", progress=False)
        assert len(st) == 5 and set(st.subject) == {"Mine:subject7"}
        assert any(f.name == "test_user_datasets.py" for f in preprocess._loader_files("Mine"))
        with pytest.raises(ValueError, match="already registered"):
            D.register("Mine", load_mine, root=src)
        with pytest.raises(ValueError, match="root= .* or fingerprint="):
            D.register("Mine2", load_mine)
        with pytest.raises(ValueError, match="paper's datasets"):
            D.register("uci", load_mine, root=src)
    finally:
        D.unregister("Mine")
    assert "Mine" not in D.names()


def _run_cli(*argv: str, env_data: Path) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "HARNB_DATA": str(env_data)}
    env["HARNB_MIRROR"] = ""  # no mirror (unset would mean the default one)
    return subprocess.run(
        [sys.executable, "-m", "harnb.cli", *argv], capture_output=True, text=True, env=env
    )


def test_cli_errors_are_one_line_with_status_2(
    tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = GOOD[:2] + ["40,0.01,-0.02,1.0,0,0,abc,walk"] + GOOD[3:]
    root = _bad(tmp_path / "ds", rows)
    # a real process: exit status 2, one line on stderr, no traceback
    r = _run_cli("data", "add", str(root), env_data=tmp_path / "data")
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith(f"harnb data add: error: {root / 's1' / 'a.csv'}, line 4: ")
    assert main(["data", "windows", "NoSuchSet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown dataset 'NoSuchSet'" in err
    assert main(["data", "add", str(tmp_path / "nowhere")]) == 2
    assert "harnb-dataset.json" in capsys.readouterr().err
    with pytest.raises(DataFormatError, match="line 4"):  # --debug: the exception itself
        main(["--debug", "data", "add", str(root)])


@pytest.mark.mirror
@pytest.mark.slow
def test_export_add_windows_round_trip_on_motionsense(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MotionSense, 3 subjects, through the CSV format: the same windows as its own loader."""
    data = tmp_path / "data"
    monkeypatch.setenv("HARNB_DATA", str(data))
    monkeypatch.setenv("HARNB_MIRROR", str(mirror))  # a fresh data folder: fetched on first use
    out = tmp_path / "ms-csv"
    assert main(["data", "export-csv", "MotionSense", str(out), "--subjects", "1", "2", "3"]) == 0
    assert (data / "raw" / "MotionSense" / ".harnb-manifest.json").is_file()
    assert main(["data", "add", str(out)]) == 0
    meta = csvfolder.read_meta(out)
    assert meta.name == "MotionSense_csv" and meta.subjects == ("1", "2", "3")
    assert "MotionSense_csv" in D.available()
    assert meta.derived_from == "MotionSense"
    with pytest.raises(DatasetError, match="holds recordings of MotionSense"):
        preprocess.load_windows(["MotionSense", "MotionSense_csv"], progress=False)
    ours = preprocess.build_windows("MotionSense_csv", progress=False)
    recs = [r for r in D.load("MotionSense") if r.subject in ("1", "2", "3", "4", "5")]
    # the folder's order: subject folder, then file name
    two = sorted(
        (r for r in recs if r.subject in ("1", "2", "3")), key=lambda r: (r.subject, r.session)
    )
    ref, _ = preprocess.windows_from_recordings(two)
    assert len(ours) == len(ref) > 1000
    np.testing.assert_array_equal(ours.y, ref.y)
    np.testing.assert_allclose(ours.X, ref.X, rtol=1e-6, atol=1e-6)
    assert [s.split(":")[1] for s in ours.subject] == [s.split(":")[1] for s in ref.subject]
    # usable beside the six in a LODO split, as target
    from harnb.data.splits import lodo_split
    from harnb.data.store import WindowStore

    others, _ = preprocess.windows_from_recordings([r for r in recs if r.subject in ("4", "5")])
    st = WindowStore.concat([ours, others])  # the original loader's windows as a source
    sp = lodo_split(st, "MotionSense_csv", "paper", seed=0)
    assert len(sp.target_test) > 0 and set(st.dataset[sp.target_test]) == {"MotionSense_csv"}


def _noisy_rows(n: int, label: str, seed: int, t0: float = 0.0) -> list[str]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)) * 0.1 + [0, 0, 1, 0, 0, 0]
    return [
        f"{t0 + 20 * i:.0f},{','.join(f'{v:.5f}' for v in row)},{label}" for i, row in enumerate(x)
    ]


def test_added_folders_are_lodo_target_and_source_in_run_grid(
    tmp_path: Path,
    data: Path,
    fake_models,  # noqa: F811
) -> None:
    """`harnb run`'s path: the added datasets are found, windowed, split and fine-tuned on."""
    from harnb.study import grid
    from harnb.training import profiles, train

    for name, seed in (("MyHAR", 0), ("Other", 10)):
        subjects = [f"s{i}" for i in range(1, 5)]
        files = {
            f"{s}/a.csv": _noisy_rows(260, "walk", seed + i)
            + _noisy_rows(260, "sit", 100 + seed + i, 9000)
            for i, s in enumerate(subjects)
        }
        meta = _meta(name=name, subjects=subjects)
        D.add_folder(write_folder(tmp_path / name, meta=meta, files=files))
    prof = profiles.get_profile("ci").with_(
        models=("tiny",),
        pretrain_budget=train.Budget(max_epochs=1),
        finetune_budget=train.Budget(max_steps=4, eval_every=2),
        pretrain_batch=64,
    )
    df = grid.run_grid(
        prof, tmp_path / "res.csv", targets=["MyHAR"], protocols=["paper"],
        strategies=["P_0", "P_U"], ratios=[0, 70], seeds=[0], progress=False,
    )  # fmt: skip
    assert (df["status"] == "ok").all(), df["error"].unique()
    assert set(df["target"]) == {"MyHAR"} and set(df["strategy"]) == {"P_0", "P_U"}
