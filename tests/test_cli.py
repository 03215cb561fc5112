"""The ``harnb`` command line: sub-commands exist and bad input fails early with a message."""

from __future__ import annotations

import subprocess
import sys

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
