#!/usr/bin/env bash
# The orientation study (issue 23) on the cpu profile, HART, in two lanes, group by group:
# each `harnb run` is one (arm, target, seed) group, so a stop loses at most one group per lane
# and every arm has the same finished groups (what chapter 8 pairs).
#   bench/orientation_runs.sh A|B [OUT_DIR]      (resumable: finished cells are skipped)
# Lane A: none, none-budget (shares none's pre-training), rotate3d, heading.
# Lane B: vector, align, permute, align+heading (moved from A on 2026-12-06 to balance the lanes:
# an arm's file and its finished cells do not depend on the lane that runs it).
set -euo pipefail
lane=${1:?lane A or B}
out=${2:-data/results/partial/orientation}
mkdir -p "$out"
harnb=${HARNB:-harnb}
case $lane in
  A) arms="none none-budget rotate3d heading" ;;
  B) arms="vector align permute align+heading" ;;
  *) echo "lane must be A or B" >&2; exit 2 ;;
esac
for seed in 0 1 2; do
  for target in UCI MotionSense MobiAct; do
    for arm in $arms; do
      if [ "$arm" = none-budget ]; then
        extra=(--orientation none --val-labels budget --ratio 1 5 10 --strategy Rd P_F P_U)
      else
        extra=(--orientation "$arm" --ratio 0 1 5 10 --strategy P_0 Rd P_F P_F-LP P_U FE-RF FE-LR)
      fi
      start=$(date +%s)
      $harnb run --profile cpu --model hart --protocol paper --target "$target" --seed "$seed" \
        "${extra[@]}" --out "$out/cpu_hart_$arm.csv" --no-progress \
        --progress-log "$out/progress_$lane.log" > /dev/null
      echo "$(date -u +%FT%TZ) lane $lane $arm $target seed $seed: $(( $(date +%s) - start )) s" \
        >> "$out/times_$lane.txt"
    done
  done
done
