#!/usr/bin/env bash
# Start the long runs in the background, one lane per core (the results go into this checkout's
# data/results/partial/, to be committed as they finish):
#   bench/start_lanes.sh [LANES]          (default "A B"; resumable: finished cells skip)
# Each lane (lane.sh) works through the queues in turn, taking groups no live lane has claimed
# (lanes.sh): HART's orientation study under the code its files were started with (HART_COMMIT;
# a running study does not change code), then under CODE_COMMIT (default: HEAD) the four-dataset
# cross matrix, the recipe (`harnb recipe`), and seed by seed ISPL's three arms and the
# source-count curve (see bench/README.md).
# The code runs from frozen worktrees under $RUNS (default ~/harnb-runs, also HARNB_DATA, the
# windows and pre-training caches) and the lane scripts from a copy there, so editing this
# checkout does not reach a running lane. Stop: pkill -f bench/lane.sh; pkill -f harnb.cli
# (the lost work is the groups in flight), or touch $RUNS/DRAIN to let the lanes finish their
# groups first. HARNB_MIRROR must name the dataset mirror.
set -euo pipefail
lanes=${1:-A B}
repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-$HOME/harnb-runs}
hart_commit=${HART_COMMIT:-e15b558}
code_commit=$(git -C "$repo" rev-parse "${CODE_COMMIT:-HEAD}")
python=${PYTHON:-$repo/.venv/bin/python}
: "${HARNB_MIRROR:?set HARNB_MIRROR to the dataset mirror}"
mkdir -p "$runs/bench"
rm -f "$runs/DRAIN"  # left by a drained stop
for wt in "hart:$hart_commit" "code:$code_commit"; do
  dir=$runs/wt-${wt%%:*}
  if [ -d "$dir" ]; then git -C "$dir" checkout -q --detach "${wt#*:}"
  else git -C "$repo" worktree add -q --detach "$dir" "${wt#*:}"; fi
done
cp "$repo"/bench/{lanes,lane,orientation_runs,orientation_ispl_runs,cross_runs,sources_runs}.sh "$runs/bench/"
export HARNB_DATA=$runs HARNB_MIRROR RUNS=$runs PYTHON=$python
# Each lane its share of the cores (THREADS, default cores / lanes, at least 1): TensorFlow's
# default (every core per process) oversubscribes two lanes on two cores. ISPL, 2 processes on
# a 2-core AMD EPYC (bench_concurrency.py, 2026-12-07): 61 samples/s in all with the default
# threads, 77 with one thread each.
n_lanes=$(wc -w <<< "$lanes")
threads=${THREADS:-$(( $(nproc) / n_lanes > 0 ? $(nproc) / n_lanes : 1 ))}
export TF_NUM_INTRAOP_THREADS=$threads TF_NUM_INTEROP_THREADS=$threads
echo "$n_lanes lane(s), $threads thread(s) each"
for lane in $lanes; do
  nohup bash "$runs/bench/lane.sh" "$lane" "$repo/data/results/partial" > "$runs/lane$lane.out" 2>&1 &
  echo "lane $lane: pid $!, log $runs/lane$lane.out"
  sleep 20  # the first lane's store and caches first
done
