#!/usr/bin/env bash
# One `full`-profile slice of chapter 5 on a GPU machine, within a time limit. Run ON the
# device (the device tool's `run`, with carry [".gpu"] filled by bench/gpu_prepare.sh):
#
#   bash bench/gpu_full_slice.sh [--target NAME] [--ratios "0 1 5 10"] [--limit SECONDS]
#                                [--epochs N] [--smoke]
#
# The slice: HART, one target (default MotionSense), the paper protocol, seed 0, ratios
# 0 1 5 10, the profile's strategies, 200 epochs of pre-training and fine-tuning as in the
# paper; notebooks/05_lodo.ipynb runs it through papermill (profile "full" plus the slice's
# parameters; the committed results' tables are not rendered there, so plotly is not needed),
# on JAX. It installs the carried wheels into /tmp/site, unpacks the packed
# stores into a HARNB_DATA under /tmp (no raw data: HARNB_STORES_ONLY=1), and stops the
# notebook after --limit seconds (default 480). The grid writes each finished cell at once,
# so whatever finished lands in $OUT:
#   slice.log                      every step with its wall time, versions, the cells' times
#   <profile>_hart_<target>.csv    the results (+ .confusion.csv), harnb's results format
#   05_lodo.<profile>.ipynb        the executed (or partly executed) notebook
#   runs.tar.gz                    the training histories (fine-tuning and pre-training)
#   pretrained.tar                 the pre-trained weights and history (HART: 6 MiB), to resume
#                                  in a later session
# Exit status: 0 the slice completed; 124 the time limit stopped it (the finished cells are
# kept; a rerun on the same warm machine resumes); anything else, it failed.
#
# Across sessions (a fresh machine): put what a stopped call brought back, pretrained.tar and
# the results CSV with its .confusion.csv, into .gpu/resume/ here and carry .gpu again; the
# slice then restores them and runs only the cells still missing, without pre-training again.
#
# --smoke: a budget for proving the script on a CPU (1 epoch, <= 2000 windows per dataset,
# profile renamed "full-smoke"); --epochs N (or HARNB_SLICE_MAX_EPOCHS): N epochs instead of
# 200 (profile "full-eN"). HARNB_SLICE_PYTHON=/path/to/python uses that interpreter as it is
# instead of python3 + the carried wheels. HARNB_SLICE_DATA (default /tmp/harnb-slice) is
# the data folder; OUT defaults to _build/gpu_slice.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TARGET=${HARNB_SLICE_TARGET:-MotionSense}
RATIOS=${HARNB_SLICE_RATIOS:-0 1 5 10}
LIMIT=${HARNB_SLICE_LIMIT:-480}
EPOCHS=${HARNB_SLICE_MAX_EPOCHS:-}
SMOKE=0
while (($#)); do
    case $1 in
    --target) TARGET=$2 && shift ;;
    --ratios) RATIOS=$2 && shift ;;
    --limit) LIMIT=$2 && shift ;;
    --epochs) EPOCHS=$2 && shift ;;
    --smoke) SMOKE=1 ;;
    *) echo "gpu_full_slice: unknown argument $1" >&2 && exit 2 ;;
    esac
    shift
done
OUT=${OUT:-$ROOT/_build/gpu_slice}
export HARNB_DATA=${HARNB_SLICE_DATA:-/tmp/harnb-slice}
mkdir -p "$OUT" "$HARNB_DATA"
LOG=$OUT/slice.log
T0=$(date +%s)
say() { echo "[slice +$(($(date +%s) - T0))s $(date -u +%H:%M:%S)] $*" | tee -a "$LOG"; }
fail() { say "FAILED: $*" && exit 3; }
# the profile: the paper's, or a smaller budget under its own name
NAME=full
CHANGES=null
if ((SMOKE)); then
    NAME=full-smoke EPOCHS=${EPOCHS:-1}
    CHANGES="{name: $NAME, max_windows_per_dataset: 2000, pretrain_budget: {max_epochs: $EPOCHS}, finetune_budget: {max_epochs: $EPOCHS}}"
elif [[ -n $EPOCHS ]]; then
    NAME=full-e$EPOCHS
    CHANGES="{name: $NAME, pretrain_budget: {max_epochs: $EPOCHS}, finetune_budget: {max_epochs: $EPOCHS}}"
fi
say "start: profile $NAME, target $TARGET, ratios $RATIOS, limit ${LIMIT}s, epochs ${EPOCHS:-200}"

# 1. Python: the device's python3 plus the carried wheels, or the one given
if [[ -n ${HARNB_SLICE_PYTHON:-} ]]; then
    PY=$HARNB_SLICE_PYTHON
    say "python: $PY as it is (no wheels installed)"
else
    PY=python3
    ls .gpu/whl/*.whl >/dev/null 2>&1 || fail "no wheels in .gpu/whl: run bench/gpu_prepare.sh, carry .gpu"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .gpu/whl/*.whl >>"$LOG" 2>&1 || fail "wheel install (see $LOG)"
    export PYTHONPATH=/tmp/site
    say "python: $PY + $(ls .gpu/whl/*.whl | wc -l) wheels in /tmp/site"
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export KERAS_BACKEND=jax HARNB_STORES_ONLY=1 PYTHONUNBUFFERED=1 TQDM_DISABLE=1
export HARNB_PROGRESS_LOG=$LOG # the pace of a run stopped at the limit, line by line
export PYTHONWARNINGS="ignore:IProgress not found" TF_CPP_MIN_LOG_LEVEL=2
export JUPYTER_RUNTIME_DIR=$HARNB_DATA/jupyter-runtime
unset HARNB_MIRROR

# 2. The packed stores -> $HARNB_DATA/processed (kept when already there and identical)
"$PY" -m harnb.data.storepack unpack .gpu/stores 2>&1 | tee -a "$LOG"
((PIPESTATUS[0] == 0)) || fail "unpacking .gpu/stores"
say "stores unpacked"

# 2b. What an earlier, stopped call brought back (.gpu/resume/): its pre-training and cells
RESULTS=$HARNB_DATA/runs/results/${NAME}_hart_${TARGET}.csv # survives a rerun on a warm machine
if [[ -f .gpu/resume/pretrained.tar ]]; then
    tar xf .gpu/resume/pretrained.tar -C "$HARNB_DATA" || fail "unpacking .gpu/resume/pretrained.tar"
    say "resume: pre-trainings restored: $(tar tf .gpu/resume/pretrained.tar | grep -c '\.weights\.h5$')"
fi
if [[ -f .gpu/resume/$(basename "$RESULTS") && ! -f $RESULTS ]]; then
    mkdir -p "$(dirname "$RESULTS")"
    for f in "$RESULTS" "${RESULTS%.csv}.confusion.csv"; do
        [[ -f .gpu/resume/$(basename "$f") ]] && cp ".gpu/resume/$(basename "$f")" "$f"
    done
    say "resume: $(grep -c ',macro_f1,' "$RESULTS") finished cells restored"
fi

"$PY" - >>"$LOG" 2>&1 <<'EOF' || fail "the environment check (see $LOG)"
import platform, jax, keras, papermill, numpy
print("python", platform.python_version(), "| jax", jax.__version__, "| keras", keras.__version__,
      keras.backend.backend(), "| papermill", papermill.__version__, "| numpy", numpy.__version__)
print("jax devices:", jax.devices())
EOF
tail -2 "$LOG"
if ((!SMOKE)) && [[ -z ${HARNB_SLICE_ALLOW_CPU:-} ]]; then
    "$PY" -c 'import jax, sys; sys.exit(jax.default_backend() != "gpu")' ||
        fail "JAX sees no GPU (HARNB_SLICE_ALLOW_CPU=1 runs anyway)"
fi
command -v nvidia-smi >/dev/null && nvidia-smi -L >>"$LOG" 2>&1

# 3. The slice, as papermill parameters of chapter 5
PARAMS=$HARNB_DATA/slice-params.yaml
cat >"$PARAMS" <<EOF
profile: full
run: true
models: [hart]
targets: [$TARGET]
protocols: [paper]
seeds: [0]
ratios: [$(echo $RATIOS | sed 's/ /, /g')]
results_out: $RESULTS
profile_changes: $CHANGES
published_results: $HARNB_DATA/no-committed-results/*.csv
partial_results: $HARNB_DATA/no-committed-results/*.csv
EOF
cat "$PARAMS" >>"$LOG"
say "chapter 5 with papermill, profile $NAME, at most ${LIMIT}s"
T1=$(date +%s)
# into the log, not through a pipe: a kernel left behind would hold a pipe open
timeout --kill-after=30 "$LIMIT" "$PY" -m papermill notebooks/05_lodo.ipynb \
    "$OUT/05_lodo.$NAME.ipynb" -f "$PARAMS" -k python3 --cwd "$ROOT" --no-progress-bar \
    --log-output >>"$LOG" 2>&1
rc=$?
# a kernel the stopped papermill left behind (it runs in its own session): ours alone
for pid in $(pgrep -f "$JUPYTER_RUNTIME_DIR/kernel-" 2>/dev/null); do kill "$pid" 2>/dev/null; done
say "papermill exited $rc after $(($(date +%s) - T1))s"

# 4. What came out -> $OUT
for f in "$RESULTS" "${RESULTS%.csv}.confusion.csv"; do
    [[ -f $f ]] && cp "$f" "$OUT/"
done
# histories in one file; the pre-trainings (weights + history) in another, for a later resume
(cd "$HARNB_DATA" && tar czf "$OUT/runs.tar.gz" --ignore-failed-read --exclude='*.weights.h5' \
    "runs/histories/$NAME" "runs/pretrained/$NAME" 2>/dev/null) || true
if [[ -d $HARNB_DATA/runs/pretrained/$NAME ]]; then
    (cd "$HARNB_DATA" && tar cf "$OUT/pretrained.tar" "runs/pretrained/$NAME") || true
    if (($(stat -c %s "$OUT/pretrained.tar" 2>/dev/null || echo 0) > 16 * 1024 * 1024)); then
        say "pretrained.tar is over the 16 MiB that comes back: left out" && rm -f "$OUT/pretrained.tar"
    fi
fi
"$PY" - "$RESULTS" <<'EOF' 2>&1 | tee -a "$LOG"
import sys
from pathlib import Path
import pandas as pd
p = Path(sys.argv[1])
df = pd.read_csv(p, dtype=str) if p.is_file() else pd.DataFrame()
if df.empty:
    print("cells finished: 0")
    sys.exit()
f1 = df[df["metric"] == "macro_f1"]
ok = f1[f1["status"] == "ok"]
print(f"cells finished: {len(ok)} ok, {int((f1['status'] == 'error').sum())} failed")
for r in f1.itertuples():
    v = f"{float(r.value) * 100:.1f}" if r.status == "ok" else r.error[:80]
    print(f"  {r.protocol} {r.target} {r.model} {r.strategy:>4} {r.ratio:>3}% s{r.seed}: "
          f"macro-F1 {v}  ({r.seconds} s)")
EOF
case $rc in
0) say "SLICE COMPLETED" ;;
124 | 137) say "SLICE STOPPED at the ${LIMIT}s limit; finished cells are in $OUT" && rc=124 ;;
*) say "SLICE FAILED (papermill exit $rc; see $OUT/05_lodo.$NAME.ipynb)" ;;
esac
exit "$rc"
