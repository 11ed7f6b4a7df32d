#!/usr/bin/env bash
# Issue 18's and 45's GPU measurements in one call of a short GPU lease (about 5 minutes on an H100): the inference
# table (1080p and 4K model-only, 1080p end to end with NVENC and with x264, peak GPU memory, the seed's
# job of four 300-frame 720p clips), then the top kernels of the compiled network at 1080p, then the
# stabiliser's cost. Results in $OUT.
#
# The GPU machine lacks PyAV: carry its wheel (.whl/, listed in .git/info/exclude), made here with
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 -d .whl av==18.1.0
# and a copy of ../shared/data/video/cockatoo_1280x720.mp4 under .gpu_shared/data/video/ (0.7 MB; excluded too),
# and run: SHARED=.gpu_shared bash scripts/gpu/infer_job.sh (carry [".whl", ".gpu_shared"]). A dry run on this
# CPU at tiny sizes:
#   PYTHON=.venv/bin/python OUT=/tmp/dry SIZES=360p E2E=360p REPEATS=1 FRAMES=4 \
#     SEED="--seed-clips 1 --seed-frames 8" PROFILE="--width 128 --height 96 --batch 1" bash scripts/gpu/infer_job.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:?set OUT to the folder for the results}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
if ! "$PYTHON" -c "import av" 2>/dev/null; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/av-*.whl
    export PYTHONPATH=/tmp/site
fi
export PYTHONUNBUFFERED=1
# shellcheck disable=SC2086  # the size lists are words
"$PYTHON" -m scripts.bench.infer --sizes ${SIZES:-1080p 4k} --end-to-end-sizes ${E2E:-1080p} --encoders nvenc x264 \
    --repeats "${REPEATS:-20}" --clip-frames "${FRAMES:-240}" --seed-job ${SEED:-} --out "$OUT/infer.json" \
    2>&1 | grep -v "cpp_extension.py" | tee "$OUT/infer.log"
# shellcheck disable=SC2086
"$PYTHON" -m scripts.bench.profile_transformer --compiled --profile --repeats "${REPEATS:-20}" ${PROFILE:-} \
    --out "$OUT/profile.json" 2>&1 | tee "$OUT/profile.log"
# The stabiliser's own cost a frame at 720p and 1080p: flow on the host, warp and blend with OpenCV on the host
# against torch on the GPU (issue 45, item 1).
# shellcheck disable=SC2086
"$PYTHON" -m scripts.bench.steady --skip quality drift flow_size --flow-sides 512 --repeats "${REPEATS:-20}" \
    --shared "${SHARED:-../shared}" --out "$OUT/steady_cost.json" 2>&1 | tee "$OUT/steady_cost.log"
