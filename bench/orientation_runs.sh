#!/usr/bin/env bash
# The orientation study (issue 23) on the cpu profile, HART, as a shared queue of groups:
#   bench/orientation_runs.sh LANE_NAME [OUT_DIR]      (resumable: finished cells are skipped)
# Start as many lanes as there are cores to spare (e.g. A and B); each takes the next unclaimed
# (seed, target, arm) group, so the lanes finish together whatever the arms cost. A group is one
# `harnb run`, so a stop loses at most one group per lane, and seed-major order keeps every arm at
# the same finished groups (what chapter 8 pairs). Claims are directories under $CLAIMS (default
# OUT_DIR/.claims, not committed): clear it before starting the lanes again after a stop.
# `none-budget` shares `none`'s pre-training (content-keyed cache), so both are one group.
# Longest arms first within a (seed, target), so the queue's tail is short.
set -euo pipefail
lane=${1:?lane name, e.g. A}
out=${2:-data/results/partial/orientation}
claims=${CLAIMS:-$out/.claims}
mkdir -p "$out" "$claims"
source "$(dirname "$0")/lanes.sh"
arm_args() {
  if [ "$1" = none-budget ]; then
    echo --orientation none --val-labels budget --ratio 1 5 10 --strategy Rd P_F P_U
  else
    echo --orientation "$1" --ratio 0 1 5 10 --strategy P_0 Rd P_F P_F-LP P_U FE-RF FE-LR
  fi
}
for seed in 0 1 2; do
  for target in UCI MotionSense MobiAct; do
    for group in permute align+heading align "none none-budget" heading rotate3d vector; do
      mkdir "$claims/${group// /,}_${target}_$seed" 2> /dev/null || continue
      for arm in $group; do
        # shellcheck disable=SC2046  # arm_args prints words on purpose
        run_group "$out/times_$lane.txt" "lane $lane $arm $target seed $seed" \
          "$out/progress_$lane.log" "$out/cpu_hart_$arm.csv" \
          --profile cpu --model hart --protocol paper --target "$target" --seed "$seed" \
          $(arm_args "$arm")
      done
    done
  done
done
