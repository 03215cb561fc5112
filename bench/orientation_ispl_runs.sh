#!/usr/bin/env bash
# The orientation study's ISPL part (issue 23, item 2): `none` and the two arms HART ranks best
# (chapter 8's ranking, ArmStudy.choose), with P_F-tBN beside P_F (ISPL has BatchNorm).
#   ARMS="none <arm1> <arm2>" bench/orientation_ispl_runs.sh LANE [OUT_DIR]  (resumable)
# A queue of (seed, target, arm) groups, seed-major, shared by the lanes as in
# orientation_runs.sh (lanes.sh). `none` can start before HART's ranking is known: it is in the
# study whatever the ranking. SEEDS (default "0 1 2") cuts seeds, as the note must then say.
set -euo pipefail
lane=${1:?lane name, e.g. A}
out=${2:-data/results/partial/orientation}
arms=${ARMS:?set ARMS to "none" and the two arms HART ranks best}
mkdir -p "$out"
source "$(dirname "$0")/lanes.sh"
for seed in ${SEEDS:-0 1 2}; do
  for target in UCI MotionSense MobiAct; do
    for arm in $arms; do
      claim "$out/.claims" "ispl_${arm}_${target}_$seed" || continue
      run_group "$out/times_ispl_$lane.txt" "lane ispl-$lane $arm $target seed $seed" \
        "$out/progress_ispl_$lane.log" "$out/cpu_ispl_$arm.csv" \
        --profile cpu --model ispl --protocol paper --target "$target" --seed "$seed" \
        --orientation "$arm" --ratio 0 1 5 10 --strategy P_0 Rd P_F P_F-tBN P_F-LP P_U FE-RF FE-LR
    done
  done
done
