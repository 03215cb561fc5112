#!/usr/bin/env bash
# One lane of the long runs (started by start_lanes.sh, which sets RUNS and PYTHON and copies
# the lane scripts into $RUNS/bench): HART's orientation queue under its frozen code, then the
# four-dataset cross matrix and ISPL's `none` arm under the current code.
#   RUNS=... PYTHON=... bash $RUNS/bench/lane.sh LANE OUT_DIR
set -euo pipefail
lane=${1:?lane name}
out=${2:?results folder (data/results/partial of the checkout)}
bench=$RUNS/bench
export LANE_PID=$$  # claims stay this lane's while it works through the three queues
export HARNB="$PYTHON -m harnb.cli"
(cd "$RUNS/wt-hart" && PYTHONPATH=$PWD bash "$bench/orientation_runs.sh" "$lane" "$out/orientation")
cd "$RUNS/wt-code"
export PYTHONPATH=$PWD
bash "$bench/cross_runs.sh" "$lane" "$out/cpu_cross.csv"
ARMS=none bash "$bench/orientation_ispl_runs.sh" "$lane" "$out/orientation"
