#!/usr/bin/env bash
# Install everything, then train and evaluate the default demo (a small
# ALLNet) on degraded SynthScenes images (generated on first use), write
# prediction pictures and the MaE routing table, and, when a baseline run
# exists in $BASELINE_WORK_DIR, compare against it (with Δ_MTL).
#   bash tools/run_demo.sh [extra train.py --cfg-options ...]
# The multi-task baseline to compare with:
#   CONFIG=configs/mtl_baseline/mtl-baseline_r18-w32_1xb8-500_synthscenes-96x128.py \
#   WORK_DIR=work_dirs/demo_baseline bash tools/run_demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash tools/install.sh
PYTHON=${PYTHON:-python3}
CONFIG=${CONFIG:-configs/allnet/allnet_r18-w32_1xb8-500_synthscenes-96x128.py}
WORK_DIR=${WORK_DIR:-work_dirs/demo}
BASELINE_WORK_DIR=${BASELINE_WORK_DIR:-work_dirs/demo_baseline}

$PYTHON tools/misc/generate_synthscenes.py data/synthscenes
# No validation during training: the test below evaluates the same split.
$PYTHON tools/train.py "$CONFIG" --work-dir "$WORK_DIR" --no-validate "$@"
CKPT=$(cat "$WORK_DIR/last_checkpoint")
$PYTHON tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR" \
  --show-dir vis --out "$WORK_DIR/predictions" | tee "$WORK_DIR/test_log.txt"
if [ -d "$BASELINE_WORK_DIR" ] && [ "$BASELINE_WORK_DIR" != "$WORK_DIR" ]; then
  echo
  echo "Against the baseline in $BASELINE_WORK_DIR (Δ %: positive = better):"
  $PYTHON tools/analysis_tools/compare_results.py "$BASELINE_WORK_DIR" \
    "$WORK_DIR" --names baseline "$(basename "$CONFIG" .py)" \
    | tee -a "$WORK_DIR/test_log.txt"
fi
echo
echo "Demo finished in $(( $(date +%s) - start )) s."
echo "Results table: above (also in $WORK_DIR/test_log.txt)."
echo "Pictures: $(ls -d "$WORK_DIR"/*/vis_data/vis_image 2>/dev/null | tail -n 1)"
