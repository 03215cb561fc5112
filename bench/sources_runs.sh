#!/usr/bin/env bash
# The source-count curve (issue 24) on the cpu profile, HART, four datasets, with the orientation
# recipe chapter 8 chose (ARM; required, so a run never starts before the choice is made):
#   ARM=<arm> bench/sources_runs.sh LANE [OUT_DIR]      (resumable: finished cells skip)
# Groups, seed-major (a stop after seed 0 leaves a whole seed): for each seed, each target, each
# non-empty subset of the other three datasets (7), one `harnb run` that pre-trains once and
# fine-tunes at 0/1/5/10 %. The full set of sources is the plain four-dataset LODO run
# (`src-all`), which also holds Rd and the classical baseline (they do not depend on sources).
# Targets that share a subset share its pre-training (cached by sources, not target): 42 of 84.
# The groups are a queue shared by the lanes, as in orientation_runs.sh (lanes.sh).
set -euo pipefail
lane=${1:?lane name, e.g. A}
out=${2:-data/results/partial/sources}
arm=${ARM:?set ARM to the orientation arm chapter 8 chose}
mkdir -p "$out"
source "$(dirname "$0")/lanes.sh"
datasets=(UCI MotionSense MobiAct HuGaDB)
seeds=${SEEDS:-0 1 2}
for seed in $seeds; do
  for target in "${datasets[@]}"; do
    others=()
    for d in "${datasets[@]}"; do [ "$d" != "$target" ] && others+=("$d"); done
    # the 7 non-empty subsets of the 3 others, the full set first (it carries Rd and FE)
    for mask in 7 1 2 4 3 5 6; do
      subset=()
      for i in 0 1 2; do (( mask >> i & 1 )) && subset+=("${others[$i]}"); done
      if [ "$mask" = 7 ]; then
        label=all
        extra=(--strategy P_0 Rd P_F P_U FE-RF FE-LR)
      else
        label=$(printf '%s\n' "${subset[@]}" | sort | paste -sd+)
        extra=(--sources "${subset[@]}" --strategy P_0 P_F P_U)
      fi
      claim "$out/.claims" "src-${label}_${target}_$seed" || continue
      run_group "$out/times_$lane.txt" "lane $lane $target seed $seed src-$label" \
        "$out/progress_$lane.log" "$out/cpu_hart_src-$label.csv" \
        --profile cpu --model hart --protocol paper --datasets "${datasets[@]}" \
        --target "$target" --seed "$seed" --orientation "$arm" --ratio 0 1 5 10 "${extra[@]}"
    done
  done
done
