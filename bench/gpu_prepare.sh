#!/usr/bin/env bash
# Prepare a GPU run of bench/gpu_full_slice.sh. Run HERE, on the CPU machine, in the checkout
# that the device tool sends (the session's own repo root), before the device call:
#
#   bash bench/gpu_prepare.sh
#
# It fills .gpu/ (ignored through .git/info/exclude), which the call carries:
#   .gpu/whl/     the exact wheels the GPU machine lacks (keras, papermill, a Jupyter kernel,
#                 myst-nb's glue), for CPython 3.12 on x86-64 Linux;
#   .gpu/resume/  (yours to fill, kept here) what a stopped slice brought back: pretrained.tar
#                 and the results CSVs, so a fresh machine resumes it (gpu_full_slice.sh);
#   .gpu/stores/  the windows stores of every available dataset, packed losslessly
#                 (harnb.data.storepack: each overlapping sample once, lzma; bit-exact, checked),
#                 so the GPU machine needs no raw data and no mirror.
# and prints what would travel (tracked + untracked-not-ignored files + .gpu), which must
# stay under the device's 64 MiB.
#
# Environment: HARNB_PY (a python with harnb's dependencies and pip; default .venv/bin/python
# of this checkout, else /work/main/.venv/bin/python), HARNB_DATA and HARNB_MIRROR as for
# harnb (the stores are built from the mirror if this machine has none yet).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
ROOT=$(pwd)
PY=${HARNB_PY:-}
if [[ -z $PY ]]; then
    for c in "$ROOT/.venv/bin/python" /work/main/.venv/bin/python; do
        [[ -x $c ]] && PY=$c && break
    done
fi
[[ -n $PY ]] || { echo "gpu_prepare: set HARNB_PY to a python with harnb's dependencies" >&2; exit 2; }
if [[ -z ${HARNB_MIRROR:-} && -d ../shared/datasets ]]; then
    export HARNB_MIRROR=$(realpath ../shared/datasets)
fi

# .gpu/ must never be committed: ignore it for this clone and all its worktrees
EXCLUDE="$(git rev-parse --git-common-dir)/info/exclude"
mkdir -p "$(dirname "$EXCLUDE")"
grep -qxF '/.gpu/' "$EXCLUDE" 2>/dev/null || echo '/.gpu/' >>"$EXCLUDE"

# What the GPU machine has not (it has numpy, jax, pandas, scipy, matplotlib, pyyaml, click,
# requests, aiohttp, tqdm, rich, h5py, ml-dtypes, absl-py, psutil, pygments, attrs,
# python-dateutil, narwhals, packaging, typing-extensions): the versions of harnb's venv.
# Left out on purpose, both optional at import and measured to work without: debugpy (5 MiB,
# the kernel's debugger) and jedi + parso (5 MiB, IPython's completion).
WHEELS=(
    keras==3.15.1 namex==0.1.0 optree==0.20.0
    papermill==2.7.0 entrypoints==0.4.2 tenacity==9.2.1
    nbclient==0.11.0 nbformat==5.11.1 fastjsonschema==2.22.3
    jsonschema==4.26.0 jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==2026.9.1
    jupyter-core==5.9.1 platformdirs==4.14.9 traitlets==5.16.1
    jupyter-client==8.10.0 pyzmq==27.3.0 tornado==6.6.1
    ipykernel==7.4.0 comm==0.2.3 matplotlib-inline==0.2.2 nest-asyncio2==1.7.4
    ipython==9.18.1 ipython-pygments-lexers==1.1.1 pexpect==4.9.0 ptyprocess==0.7.0
    prompt-toolkit==3.0.53 wcwidth==0.9.4
    stack-data==0.6.3 executing==2.3.0 asttokens==3.0.2 pure-eval==0.2.4
    myst-nb==1.4.0 docutils==0.21.2
)
mkdir -p .gpu/whl .gpu/stores
rm -f .gpu/whl/*.whl
echo "gpu_prepare: downloading ${#WHEELS[@]} wheels for CPython 3.12, x86-64 Linux"
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 -d .gpu/whl "${WHEELS[@]}" 2> >(grep -v '^WARNING: Location' >&2)
n=$(find .gpu/whl -name '*.whl' | wc -l)
if [[ $n -ne ${#WHEELS[@]} ]]; then
    echo "gpu_prepare: expected ${#WHEELS[@]} wheels, got $n" >&2
    exit 1
fi

echo "gpu_prepare: packing the windows stores (bit-exact, checked)"
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m harnb.data.storepack pack .gpu/stores

# What the device tool sends: tracked and untracked-not-ignored files, shared/, and .gpu
tree=$( (git ls-files -z --cached --others --exclude-standard |
    xargs -0 -r stat -c %s -- 2>/dev/null || true) | awk '{s += $1} END {print s + 0}')
shared=0
[[ -d shared ]] && shared=$(du -sb shared | cut -f1)
whl=$(du -sb .gpu/whl | cut -f1)
stores=$(du -sb .gpu/stores | cut -f1)
resume=0 # what a stopped call brought back, to resume on a fresh machine (gpu_full_slice.sh)
[[ -d .gpu/resume ]] && resume=$(du -sb .gpu/resume | cut -f1)
total=$((tree + shared + whl + stores + resume))
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
echo "gpu_prepare: travels: repo $(mib "$tree") + shared $(mib "$shared") +" \
    "wheels $(mib "$whl") + stores $(mib "$stores") + resume $(mib "$resume") =" \
    "$(mib "$total") (limit 64 MiB)"
if ((total >= 64 * 1048576)); then
    echo "gpu_prepare: over the device's 64 MiB: carry less" >&2
    exit 1
fi
echo "gpu_prepare: ready; on the device: bash bench/gpu_full_slice.sh (carry [\".gpu\"])"
