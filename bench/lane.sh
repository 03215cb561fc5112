#!/usr/bin/env bash
# One lane of the long runs (started by start_lanes.sh, which sets RUNS and PYTHON and copies
# the lane scripts into $RUNS/bench), queue after queue:
#   1. HART's orientation study, under its frozen code ($RUNS/wt-hart), unless it is complete
#      (committed in data/results/orientation/, or in partial/);
#   2. HART's part of the four-dataset cross matrix (about 17 min a group), under the current
#      code ($RUNS/wt-code), as is the rest;
#   3. the choice: `harnb recipe` applies chapter 8's criterion to HART's complete study. While
#      the other lane finishes HART's last group, this one runs ISPL's `none` arm for seed 0
#      (it is in the study whatever the ranking);
#   4. seed by seed, the source-count curve with the chosen arm (issue 24: about 2 h a seed on
#      two lanes); a seed already whole in every file (publish_sources.py --whole) is skipped;
#   5. seed by seed, ISPL with `none` and the two arms HART ranks best (issue 23: about 4.4 h a
#      seed);
#   6. ISPL's part of the cross matrix (about 1 h a group): last, since no issue waits on it
#      (HART's part gives chapter 3 HuGaDB's row and column). The cheaper issue's runs first,
#      so that it finishes sessions earlier; seed-major, so that a stop leaves whole seeds.
#   RUNS=... PYTHON=... bash $RUNS/bench/lane.sh LANE OUT_DIR
set -euo pipefail
lane=${1:?lane name}
out=${2:?results folder (data/results/partial of the checkout)}
committed=$(dirname "$out")/orientation  # where a finished study is moved (and committed)
bench=$RUNS/bench
export LANE_PID=$$  # claims stay this lane's while it works through the queues
export HARNB="$PYTHON -m harnb.cli"
hart() { (cd "$RUNS/wt-hart" && PYTHONPATH=$PWD bash "$bench/orientation_runs.sh" "$lane" "$out/orientation"); }
choose() {  # HART's complete study, committed or still in partial/: sets CHOSEN and RUNNERS_UP
  local vars dir
  for dir in "$committed" "$out/orientation"; do
    [ -d "$dir" ] || continue
    if vars=$($HARNB recipe "$dir" --shell 2> /dev/null); then
      eval "$vars"
      echo "$(date -u +%FT%TZ) lane $lane: recipe $CHOSEN ($dir), ISPL arms none $RUNNERS_UP"
      return 0
    fi
  done
  return 1
}
drained() {  # $RUNS/DRAIN (lanes.sh): finish the running group, take no other
  [ -e "$RUNS/DRAIN" ] && echo "$(date -u +%FT%TZ) lane $lane: drained" && exit 0
  return 0
}
cd "$RUNS/wt-code"
export PYTHONPATH=$PWD
choose || hart  # a committed study is not run again
MODELS=hart bash "$bench/cross_runs.sh" "$lane" "$out/cpu_cross.csv"
drained
if ! choose; then
  ARMS=none SEEDS=0 bash "$bench/orientation_ispl_runs.sh" "$lane" "$out/orientation"
  hart  # a group a stopped lane left (finished groups skip in seconds)
  drained
  if ! choose; then
    echo "lane $lane: HART's orientation study is not complete; ISPL's none arm only" >&2
    ARMS=none bash "$bench/orientation_ispl_runs.sh" "$lane" "$out/orientation"
    exit 1
  fi
fi
# a seed finished in every file of the curve is skipped without a `harnb run` per group
# (if the check fails, every group is asked, and a finished one skips in seconds)
whole=" $($PYTHON "$PWD/bench/publish_sources.py" --whole --src "$out/sources/cpu_hart_src-*.csv" \
  || true) "
for seed in ${SEEDS:-0 1 2}; do
  [[ $whole == *" $seed "* ]] && continue
  ARM=$CHOSEN SEEDS=$seed bash "$bench/sources_runs.sh" "$lane" "$out/sources"
done
for seed in ${SEEDS:-0 1 2}; do
  ARMS="none $RUNNERS_UP" SEEDS=$seed bash "$bench/orientation_ispl_runs.sh" "$lane" "$out/orientation"
done
MODELS=ispl bash "$bench/cross_runs.sh" "$lane" "$out/cpu_cross.csv"
