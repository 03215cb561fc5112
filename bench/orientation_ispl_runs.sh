#!/usr/bin/env bash
# The orientation study's ISPL part (issue 23, item 2): `none` and the two arms HART ranks best
# (chapter 8's ranking, ArmStudy.choose), with P_F-tBN beside P_F (ISPL has BatchNorm).
#   ARMS="none <arm1> <arm2>" bench/orientation_ispl_runs.sh LANE NLANES [OUT_DIR]  (resumable)
# Groups are (seed, target, arm), seed-major; lane i of NLANES takes every NLANES-th group.
# `none` can start before HART's ranking is known: it is in the study whatever the ranking.
set -euo pipefail
lane=${1:?lane number (0-based)}
nlanes=${2:?number of lanes}
out=${3:-data/results/partial/orientation}
arms=${ARMS:?set ARMS to "none" and the two arms HART ranks best}
mkdir -p "$out"
source "$(dirname "$0")/lanes.sh"
n=0
for seed in 0 1 2; do
  for target in UCI MotionSense MobiAct; do
    for arm in $arms; do
      n=$((n + 1))
      (( (n - 1) % nlanes == lane )) || continue
      run_group "$out/times_ispl_$lane.txt" "lane ispl-$lane $arm $target seed $seed" \
        "$out/progress_ispl_$lane.log" "$out/cpu_ispl_$arm.csv" \
        --profile cpu --model ispl --protocol paper --target "$target" --seed "$seed" \
        --orientation "$arm" --ratio 0 1 5 10 --strategy P_0 Rd P_F P_F-tBN P_F-LP P_U FE-RF FE-LR
    done
  done
done
