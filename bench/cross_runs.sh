#!/usr/bin/env bash
# The cross-dataset matrix (chapter 3, Fig. 1) on four datasets (issue 24: HuGaDB's row and
# column), cpu profile, HART and ISPL, seeds 0-2, as a queue of (model, seed) groups shared by
# the lanes (lanes.sh):
#   bench/cross_runs.sh LANE [OUT_FILE]      (resumable: finished trainings are skipped)
# MODELS (default "ispl hart") runs part of it: lane.sh runs HART's groups (about 17 min each)
# first and ISPL's (about 1 h each) last, after ISPL's orientation study.
# A group trains the model once per dataset (4 trainings) and tests each on every dataset's test
# subjects; rows are appended per training, so a stop loses one training per lane. The file is
# one configuration per model (the four-dataset store is part of it): a model's rows replace
# its rows in data/results/cpu_cross.csv once its groups are finished (HART's are; ISPL's
# there are still the three-dataset matrix).
set -euo pipefail
lane=${1:?lane name, e.g. A}
out=${2:-data/results/partial/cpu_cross.csv}
dir=$(dirname "$out")
mkdir -p "$dir"
source "$(dirname "$0")/lanes.sh"
for seed in ${SEEDS:-0 1 2}; do
  for model in ${MODELS:-ispl hart}; do  # ISPL's group is about 4x HART's: the longer first
    claim "$dir/.claims" "cross_${model}_$seed" || continue
    run_group "$dir/times_cross_$lane.txt" "lane $lane cross $model seed $seed" \
      "$dir/progress_cross_$lane.log" "$out" \
      --profile cpu --cross --model "$model" --seed "$seed" \
      --datasets UCI MotionSense MobiAct HuGaDB
  done
done
