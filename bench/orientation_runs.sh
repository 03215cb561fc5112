#!/usr/bin/env bash
# The orientation study (issue 23) on the cpu profile, HART, as a queue of groups:
#   bench/orientation_runs.sh LANE [OUT_DIR]      (resumable: finished cells are skipped)
# Start one lane per core to spare (e.g. `... A &` and `... B &`): each takes the next group no
# live lane has claimed (lanes.sh), so they finish together whatever the arms cost. A group is
# one `harnb run` of one (seed, target, arm), so a stop loses at most one group per lane, and
# seed-major order keeps every arm at the same finished groups (what chapter 8 pairs).
# `none-budget` reuses `none`'s pre-training (content-keyed cache): both are one group. Within
# a (seed, target) the longest arms come first, so the queue's tail is short.
set -euo pipefail
lane=${1:?lane name, e.g. A}
out=${2:-data/results/partial/orientation}
mkdir -p "$out"
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
      claim "$out/.claims" "hart_${group// /,}_${target}_$seed" || continue
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
