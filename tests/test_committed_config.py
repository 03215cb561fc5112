"""The committed results are still this code's configuration, but for the training version
they were run under: a module move, a refactor or a new option that is off by default must not
change any other setting of a committed file (its cells would no longer resume, and ``harnb run
--out`` would refuse it). A deliberate change of the numbers bumps ``TRAINING_VERSION`` and
names the committed files' version in ``PREVIOUS_TRAINING_VERSION``."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from harnb.data.fetch import fetch
from harnb.study.results import config_hash
from harnb.training import profiles
from harnb.training.folds import data_key, load_store
from harnb.training.profiles import get_profile

pytestmark = pytest.mark.mirror

RESULTS = Path(__file__).resolve().parent.parent / "data" / "results"
#: The three datasets the committed ``cpu`` runs used (the mirror may hold more).
COMMITTED_SETS = ("MobiAct", "MotionSense", "UCI")
FILES = sorted(
    p
    for p in RESULTS.glob("cpu_*.csv")
    if not p.name.endswith((".confusion.csv", "_cross.csv")) and "." not in p.stem
)


@pytest.fixture(scope="module")
def cpu_data_key(mirror: Path, session_data: Path) -> str:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNB_DATA", str(session_data))
        mp.setenv("HARNB_MIRROR", str(mirror))
        fetch(list(COMMITTED_SETS), progress=False)
        store = load_store(get_profile("cpu"), COMMITTED_SETS)
    return data_key(store)


@pytest.mark.skipif(not FILES, reason="no committed cpu results")
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_committed_results_match_this_codes_configuration(
    path: Path, cpu_data_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(profiles, "TRAINING_VERSION", profiles.PREVIOUS_TRAINING_VERSION)
    df = pd.read_csv(path, dtype=str)
    df = df[df["profile"] == "cpu"]
    assert len(df), f"{path.name}: no cpu rows"
    prof = get_profile("cpu")
    for protocol, got in df.groupby("protocol")["config"]:
        want = config_hash(prof, protocol, cpu_data_key)
        assert set(got) == {want}, (
            f"{path.name}, {protocol}: committed configuration {sorted(set(got))} is not this "
            f"code's {want}: a change altered the settings hash (bump it deliberately, or undo)"
        )


def test_the_check_can_fail(cpu_data_key: str) -> None:
    prof = get_profile("cpu")
    assert profiles.TRAINING_VERSION != profiles.PREVIOUS_TRAINING_VERSION
    assert config_hash(prof, "paper", cpu_data_key) != config_hash(
        prof.with_(lr=prof.lr * 2), "paper", cpu_data_key
    )
    assert os.fspath(RESULTS).endswith("data/results")


ARM_FILES = sorted(
    p
    for d in ("orientation", "partial/orientation")
    for p in (RESULTS / d).glob("cpu_*_*.csv")  # every model of the study (HART, ISPL)
    if not p.name.endswith(".confusion.csv")
)


@pytest.mark.skipif(not ARM_FILES, reason="no orientation results committed")
@pytest.mark.parametrize("path", ARM_FILES, ids=[p.stem for p in ARM_FILES])
def test_orientation_results_match_this_codes_configuration(path: Path, cpu_data_key: str) -> None:
    """A committed (or partial) arm file resumes under this code: its arm, its label budget."""
    from harnb.study.arms import arm_of
    from harnb.training.profiles import with_arm

    arm = arm_of(path)[2]
    base, _, budget = arm.partition("-")
    prof = with_arm(get_profile("cpu"), base)
    if budget:
        assert budget == "budget", arm
        prof = prof.with_(val_labels="budget")
    df = pd.read_csv(path, dtype=str)
    assert set(df["config"]) == {config_hash(prof, "paper", cpu_data_key)}, path.name
