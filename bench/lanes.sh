# Shared by the lane scripts (sourced): one group of a long run, timed.
#   run_group TIMES_FILE LABEL PROGRESS_LOG RESULTS_FILE [harnb run arguments...]
# runs `$HARNB run ARGS --out RESULTS_FILE` quietly (progress to PROGRESS_LOG) and appends
# "<UTC time> LABEL: <seconds> s" to TIMES_FILE. A rerun skips the group's finished cells.
run_group() {
  local times=$1 label=$2 log=$3 out=$4 start
  shift 4
  start=$(date +%s)
  ${HARNB:-harnb} run "$@" --out "$out" --no-progress --progress-log "$log" > /dev/null
  echo "$(date -u +%FT%TZ) $label: $(( $(date +%s) - start )) s" >> "$times"
}
