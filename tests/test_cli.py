"""The ``harnb`` command line: sub-commands exist and bad input fails early with a message."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harnb.cli import build_parser, main


def test_parser_has_every_subcommand() -> None:
    p = build_parser()
    for argv in (["data", "fetch"], ["data", "windows"], ["book"], ["run"]):
        args = p.parse_args(argv)
        assert callable(args.func)


def test_unknown_profile_fails_early(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--profile", "nope"]) == 2
    assert "ci" in capsys.readouterr().err


def test_unknown_dataset_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HARNB_DATA", str(tmp_path))
    assert main(["data", "fetch", "NotADataset"]) != 0


def test_unknown_chapter_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["book", "--chapters", "99", "--no-execute"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("harnb book: error: unknown chapter") and "01_datasets" in err
    with pytest.raises(ValueError, match="01_datasets"):  # --debug: the exception itself
        main(["--debug", "book", "--chapters", "99", "--no-execute"])


def test_entry_point_runs() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "harnb.cli", "--help"], capture_output=True, text=True, check=True
    )
    assert "book" in r.stdout and "run" in r.stdout


# ------------------------------------------------------------------ one line, exit 2, at once


def _bad_calls(tmp: Path) -> list[tuple[list[str], str]]:
    """Calls a newcomer makes by mistake, with the words their one error line must hold."""
    out = str(tmp / "m.tflite")
    return [
        (
            ["finetune", "--model", "mobilehart", "--data", "MotionSense"],
            "no released 'mobilehart'",
        ),
        (["finetune", "--model", "bert", "--data", "MotionSense"], "neither a released model"),
        (["finetune", "--data", "MotionSense", "--ratio", "0"], "ratio must be"),
        (["finetune", "--data", "MotionSense", "--profile", "gpu"], "unknown profile"),
        (["export", "mobilehart", "--format", "tflite", "--out", out], "no released 'mobilehart'"),
        (["export", "hart", "--format", "tflite", "--batch", "0", "--out", out], "--batch must"),
        (["export", "bert", "--format", "onnx"], "neither a released model"),
        (["export", str(tmp / "gone.keras"), "--format", "onnx"], "no such file"),
        (["export", "hart", "--format", "onnx", "--out", str(tmp)], "is a folder"),
        (["predict", "--model", "mobilehart", "--data", str(tmp)], "no model.keras"),
        (["pretrain", "--release", "--model", "bert"], "invalid choice: 'bert'"),
        (["pretrain", "--release", "--max-steps", "0"], "--max-steps must be >= 1"),
        (["run", "--model", "bert"], "unknown model 'bert'"),
        (["run", "--profile", "cpu", "--target", "NoSuchSet"], "unknown dataset 'NoSuchSet'"),
        (["run", "--ratio", "one"], "invalid int value"),
        (["publish", "data/results/cpu_hart.csv", "--model", "bert"], "unknown model 'bert'"),
    ]


def test_bad_calls_fail_in_one_line_before_any_data_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each: exit status 2, one ``harnb …: error:`` line, no traceback, under 2 s (a name is
    checked before windowing, fetching or importing Keras), nothing written."""
    data = tmp_path / "data"
    monkeypatch.setenv("HARNB_DATA", str(data))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for argv, words in _bad_calls(work):
        t = time.perf_counter()
        rc = main(argv)
        took = time.perf_counter() - t
        err = capsys.readouterr().err
        assert rc == 2, (argv, rc, err)
        assert err.count("\n") == 1 and err.startswith("harnb ") and ": error: " in err, err
        assert words in err and "Traceback" not in err, (argv, err)
        assert took < 2.0, (argv, took)
        assert sorted(p.name for p in work.iterdir()) == [], argv  # no partial output
        assert not (data / "raw").exists() and not (data / "processed").exists(), argv


def test_unreleased_model_fails_before_windowing_in_python(tmp_path: Path, monkeypatch) -> None:
    """``finetune.run`` (chapter 7's path) refuses an unreleased model before it reads data."""
    from harnb.pretrained import PretrainedError, finetune

    monkeypatch.setenv("HARNB_DATA", str(tmp_path))
    t = time.perf_counter()
    with pytest.raises(PretrainedError, match="harnb pretrain --release --model mobilehart"):
        finetune.run("MotionSense", model="mobilehart")
    assert time.perf_counter() - t < 2.0 and not (tmp_path / "raw").exists()


def test_multi_line_messages_become_one_line(tmp_path, monkeypatch, capsys) -> None:
    """A missing dataset's instructions span lines in Python; the command prints one."""
    monkeypatch.setenv("HARNB_DATA", str(tmp_path))
    monkeypatch.setenv("HARNB_MIRROR", "")
    assert main(["data", "fetch", "MobiAct"]) == 2  # no public URL: no download is tried
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "by request to its authors" in err
    assert "HARNB_MIRROR is empty: no mirror" in err


def test_a_failed_write_leaves_no_file(tmp_path: Path, monkeypatch) -> None:
    from harnb.pretrained import export

    target = tmp_path / "m.tflite"
    export.write_atomic(target, b"1234")
    assert target.read_bytes() == b"1234"

    def broken(self, data):  # a full disk half-way through
        Path.write_text(self, "partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", broken)
    with pytest.raises(OSError, match="No space"):
        export.write_atomic(tmp_path / "n.tflite", b"5678")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tflite"]
    with pytest.raises(ValueError, match="--batch must be a positive"):
        export.check_request("tflite", tmp_path / "x.tflite", batch=0)


def test_model_names_need_no_keras() -> None:
    """The names a command checks are the registry's (``harnb.models.MODELS``)."""
    r = subprocess.run(
        [sys.executable, "-c", "import sys, harnb.cli as c, harnb.config as f;"
         "c.build_parser(); print('keras' in sys.modules, f.ARCHITECTURES == c.MODEL_NAMES)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert r.stdout.split() == ["False", "True"]
    from harnb import models
    from harnb.config import ARCHITECTURES

    assert models.MODELS == ARCHITECTURES


# ------------------------------------------------------------------ run --plan, the mirror


def test_plan_says_it_is_an_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--plan"]) == 0
    out = capsys.readouterr().out
    header, *rows = out.splitlines()
    assert "estimated hours" in header and "total" in out
    note = " ".join(out.split("\n\n", 1)[1].split())
    assert note.startswith("estimated hours: an estimate, not a measurement")
    for left_out in ("validation passes", "precise-BatchNorm", "two lanes"):
        assert left_out in note, left_out


def test_mirror_defaults_to_shared_datasets_beside_the_repo(tmp_path, monkeypatch) -> None:
    """Unset ``HARNB_MIRROR``: ``../shared/datasets`` beside the repository where it exists
    (so ``harnb data fetch UCI`` works in a fresh shell); empty: no mirror."""
    from harnb import config

    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.setattr(config, "REPO_ROOT", repo)
    monkeypatch.delenv("HARNB_MIRROR", raising=False)
    assert config.mirror_dir() is None
    assert "does not exist" in config.mirror_state() and str(tmp_path / "shared") in (
        config.mirror_state()
    )
    shared = tmp_path / "shared" / "datasets"
    shared.mkdir(parents=True)
    assert config.mirror_dir() == shared.resolve()
    assert config.mirror_state() == f"HARNB_MIRROR unset, so its default {shared.resolve()}"
    monkeypatch.setenv("HARNB_MIRROR", str(tmp_path / "elsewhere"))
    assert config.mirror_dir() == (tmp_path / "elsewhere").resolve()
    monkeypatch.setenv("HARNB_MIRROR", "")
    assert config.mirror_dir() is None and "empty" in config.mirror_state()


@pytest.mark.mirror
def test_fetch_in_a_fresh_shell_uses_the_default_mirror(mirror, tmp_path, monkeypatch) -> None:
    """The repository's own layout: the real mirror found with the variable unset."""
    from harnb import config

    if config.default_mirror().resolve() != mirror:
        pytest.skip(f"the mirror {mirror} is not at the default {config.default_mirror()}")
    env = {k: v for k, v in os.environ.items() if k != "HARNB_MIRROR"}
    env["HARNB_DATA"] = str(tmp_path)
    r = subprocess.run(
        [sys.executable, "-m", "harnb.cli", "data", "fetch", "UCI"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "raw" / "UCI").is_dir()


def test_data_list_gives_the_name_the_book_shows(data: Path, capsys) -> None:
    """The mirror's MobiAct is the 9-subject MobiFall subset: ``data list`` says what the
    book's tables call it, as the paper's name alone would mislead."""
    assert main(["data", "list"]) == 0
    lines = {x.split()[0]: x for x in capsys.readouterr().out.splitlines()}
    assert lines["MobiAct"].endswith("shown as MobiFall (9 subj.)")
    assert "shown as" not in lines["UCI"]


@pytest.mark.parametrize(("setting", "on"), [(None, True), ("0", False)])
def test_importing_harnb_turns_tensorflows_onednn_kernels_on(setting: str | None, on: bool) -> None:
    """TensorFlow leaves oneDNN off on some CPUs (an AMD EPYC: training 1.3-1.5 times slower);
    ``import harnb`` turns it on before TensorFlow loads, unless the user said otherwise."""
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if setting is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = setting
    code = (
        "import harnb, tensorflow\n"
        "from tensorflow.python.util import _pywrap_util_port as port\n"  # what TF reads back
        "print('oneDNN', port.IsMklEnabled())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert f"oneDNN {on}" in out
