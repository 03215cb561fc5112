"""The long-run lanes (bench/lane.sh and the queue scripts), with a fake ``harnb``.

Two lanes run concurrently through every queue; the fake records each call. What must hold:
every group runs exactly once whatever the interleaving, the recipe is asked of HART's
complete study, and ISPL's runners-up and the source curve's arm are the ones it names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = ("lanes", "lane", "orientation_runs", "orientation_ispl_runs", "cross_runs",
           "sources_runs")  # fmt: skip

#: Stands in for ``$PYTHON -m harnb.cli``: logs a run's arguments; `recipe` answers only once
#: HART's 72 orientation runs are logged (what `harnb recipe` checks on the real files), or
#: at once on a folder holding DONE (a study committed in data/results/orientation/). A run
#: already logged is finished: like the real one (whose finished cells skip), it does no work
#: and goes to a second log. That happens when a lane has finished every queue and exited while
#: the other still walks them: the exited lane's claims are free again.
FAKE = r"""#!/usr/bin/env bash
# bench/publish_sources.py --whole: the curve's seeds finished in every file (FAKE_WHOLE)
case $1 in *publish_sources.py) echo "${FAKE_WHOLE:-}"; exit 0 ;; esac
shift 2  # -m harnb.cli
log=$FAKE_LOG
if [ "$1" = recipe ]; then
  if [ -f "$2/DONE" ]; then echo CHOSEN=none; echo 'RUNNERS_UP="rotate3d vector"'; exit 0; fi
  n=$(grep -c -- '--model hart --protocol paper --target' "$log" || true)
  [ "$n" -ge 72 ] || { echo "not complete" >&2; exit 2; }
  echo CHOSEN=permute; echo 'RUNNERS_UP="permute rotate3d"'; exit 0
fi
key=$(echo "$PWD|$*" | sed -E 's/--progress-log [^ ]+//')  # the lane's own log aside
touch "$log.keys"
if grep -qxF -- "$key" "$log.keys"; then echo "$PWD|$*" >> "$log.skipped"; exit 0; fi
echo "$key" >> "$log.keys"
echo "$PWD|$*" >> "$log"
"""

needs_flock = pytest.mark.skipif(shutil.which("flock") is None, reason="needs flock")


def run_lanes(
    tmp_path: Path, whole: str = ""
) -> tuple[list[tuple[str, list[str]]], list[str], Path]:
    """Two lanes to the end: (working folder, arguments) of every call, their outputs, OUT.
    ``whole``: the curve's seeds that publish_sources.py --whole reports finished."""
    runs = tmp_path / "runs"
    (runs / "bench").mkdir(parents=True)
    for wt in ("wt-hart", "wt-code"):
        (runs / wt).mkdir()
    for s in SCRIPTS:
        shutil.copy(BENCH / f"{s}.sh", runs / "bench" / f"{s}.sh")
    fake = tmp_path / "fakepy"
    fake.write_text(FAKE)
    fake.chmod(0o755)
    log = tmp_path / "calls.log"
    log.touch()
    out = tmp_path / "partial"
    env = dict(os.environ, RUNS=str(runs), PYTHON=str(fake), FAKE_LOG=str(log), FAKE_WHOLE=whole)
    lanes = [
        subprocess.Popen(["bash", str(runs / "bench" / "lane.sh"), lane, str(out)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for lane in ("A", "B")
    ]  # fmt: skip
    outputs = [p.communicate(timeout=300)[0] for p in lanes]
    assert [p.returncode for p in lanes] == [0, 0], outputs
    calls = [tuple(line.split("|", 1)) for line in log.read_text().splitlines()]
    return calls, outputs, out


def opt(a: list[str], name: str) -> str:
    return a[a.index(name) + 1]


@needs_flock
def test_two_lanes_run_every_group_once_and_follow_the_recipe(tmp_path) -> None:
    calls, outputs, out = run_lanes(tmp_path)
    where = Counter(Path(cwd).name for cwd, _ in calls)
    args = [a.split() for _, a in calls]
    twice = [a for a, n in Counter(a for _, a in calls).items() if n > 1]
    assert not twice, twice[:3]

    hart = [a for a in args if "--orientation" in a and opt(a, "--model") == "hart"
            and "--sources" not in a and "HuGaDB" not in a]  # fmt: skip
    assert len(hart) == 72 and where["wt-hart"] == 72  # 63 groups, none-budget beside none
    cross = [a for a in args if "--cross" in a]
    assert sorted((opt(a, "--model"), opt(a, "--seed")) for a in cross) == sorted(
        (m, str(s)) for m in ("ispl", "hart") for s in range(3)
    )
    ispl = [a for a in args if opt(a, "--model") == "ispl" and "--cross" not in a]
    assert Counter(opt(a, "--orientation") for a in ispl) == {"none": 9, "permute": 9,
                                                               "rotate3d": 9}  # fmt: skip
    curve = [a for a in args if "HuGaDB" in a and "--cross" not in a]
    assert len(curve) == 84 and {opt(a, "--orientation") for a in curve} == {"permute"}
    assert where["wt-code"] == 6 + 27 + 84
    assert {str(Path(opt(a, "--out")).parent) for a in curve} == {str(out / "sources")}

    # each lane: HART's cross groups, the curve seed by seed, ISPL's study seed by seed, then
    # ISPL's cross groups (issue 24's runs before issue 23's; a stop leaves whole seeds)
    def phase(a: list[str]) -> tuple[int, int]:
        if "--cross" in a:
            return (0, 0) if opt(a, "--model") == "hart" else (3, int(opt(a, "--seed")))
        return (1 if a in curve else 2, int(opt(a, "--seed")))

    for lane in ("A", "B"):
        mine = [a for a in cross + ispl + curve
                if Path(opt(a, "--progress-log")).stem.endswith(lane)]  # fmt: skip
        steps = [phase(a) for a in args if a in mine]
        assert steps == sorted(steps) and len({p for p, _ in steps}) > 1
    said = [ln for o in outputs for ln in o.splitlines() if ": recipe " in ln]
    assert said and all(ln.endswith("ISPL arms none permute rotate3d") for ln in said)
    assert all(f"recipe permute ({out}/orientation)" in ln for ln in said)


@needs_flock
def test_a_committed_hart_study_is_not_run_again(tmp_path) -> None:
    """Once HART's files are moved to data/results/orientation/, a restart goes straight on."""
    (tmp_path / "orientation").mkdir()
    (tmp_path / "orientation" / "DONE").touch()  # the fake's complete study
    calls, outputs, _ = run_lanes(tmp_path)
    args = [a.split() for _, a in calls]
    assert not [a for a in args if opt(a, "--model") == "hart" and "--orientation" in a
                and "HuGaDB" not in a]  # fmt: skip
    ispl = [a for a in args if opt(a, "--model") == "ispl" and "--cross" not in a]
    assert {opt(a, "--orientation") for a in ispl} == {"none", "rotate3d", "vector"}
    assert len(ispl) == 27 and sum("--cross" in a for a in args) == 6
    curve = [a for a in args if "HuGaDB" in a and "--cross" not in a]
    assert len(curve) == 84 and {opt(a, "--orientation") for a in curve} == {"none"}


@needs_flock
def test_the_curves_whole_seeds_are_not_asked_again(tmp_path) -> None:
    """A seed finished in every file of the curve costs no `harnb run` (84 calls of ~10 s)."""
    (tmp_path / "orientation").mkdir()
    (tmp_path / "orientation" / "DONE").touch()
    calls, _, _ = run_lanes(tmp_path, whole="0 2")
    args = [a.split() for _, a in calls]
    curve = [a for a in args if "HuGaDB" in a and "--cross" not in a]
    assert len(curve) == 28 and {opt(a, "--seed") for a in curve} == {"1"}
    assert len([a for a in args if opt(a, "--model") == "ispl" and "--cross" not in a]) == 27


@needs_flock
def test_a_drained_start_claims_nothing(tmp_path) -> None:
    """With $RUNS/DRAIN the lanes take no group (they finish the one they run, then stop)."""
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "DRAIN").touch()
    calls, _, _ = run_lanes(tmp_path)
    assert calls == []
