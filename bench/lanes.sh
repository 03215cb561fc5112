# Shared by the lane scripts (sourced). A long run is a queue of groups; each lane (one per core
# to spare, named by the caller) takes the next group no live lane has claimed, so the lanes
# finish together whatever the groups cost, and a stopped lane's groups go to the next start.

# claim DIR KEY: true for the one lane that gets group KEY. The claim is a file DIR/KEY holding
# the claiming lane's PID (LANE_PID, set by lane.sh for its whole life, else this script's),
# checked and written under a lock; a claim whose lane has died is free again (finished cells
# then skip, so a finished group costs seconds).
# A file DRAIN in $RUNS makes every claim fail: the lanes finish the groups they are running and
# stop (touch "$RUNS/DRAIN"; start_lanes.sh removes it). Killing lane.sh alone would free its
# claims while its group still runs, and another lane would run that group a second time.
claim() {
  local dir=$1 key=$2
  [ -e "${RUNS:-/nonexistent}/DRAIN" ] && return 1
  mkdir -p "$dir"
  (
    flock 9
    if [ -f "$dir/$key" ] && kill -0 "$(cat "$dir/$key")" 2> /dev/null; then exit 1; fi
    echo "${LANE_PID:-$$}" > "$dir/$key"
  ) 9> "$dir/.lock"
}

# run_group TIMES_FILE LABEL PROGRESS_LOG RESULTS_FILE [harnb run arguments...]
# runs `$HARNB run ARGS --out RESULTS_FILE` quietly (progress to PROGRESS_LOG) and appends
# "<UTC time> LABEL: <seconds> s" to TIMES_FILE. A rerun skips the group's finished cells.
run_group() {
  local times=$1 label=$2 log=$3 out=$4 start
  shift 4
  start=$(date +%s)
  ${HARNB:-harnb} run "$@" --out "$out" --no-progress --progress-log "$log" > /dev/null
  echo "$(date -u +%FT%TZ) $label: $(( $(date +%s) - start )) s" >> "$times"
}
