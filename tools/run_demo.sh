#!/usr/bin/env bash
# Install everything, then train and evaluate the default demo on degraded
# SynthScenes images (generated on first use) and write prediction pictures.
#   bash tools/run_demo.sh [extra train.py --cfg-options ...]
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash tools/install.sh
PYTHON=${PYTHON:-python3}
CONFIG=${CONFIG:-configs/mtl_baseline/mtl-baseline_r18-w32_1xb8-500_synthscenes-96x128.py}
WORK_DIR=${WORK_DIR:-work_dirs/demo}

$PYTHON tools/misc/generate_synthscenes.py data/synthscenes
$PYTHON tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
CKPT=$(cat "$WORK_DIR/last_checkpoint")
$PYTHON tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR" \
  --show-dir vis --out "$WORK_DIR/predictions" | tee "$WORK_DIR/test_log.txt"
echo
echo "Demo finished in $(( $(date +%s) - start )) s."
echo "Results table: above (also in $WORK_DIR/test_log.txt)."
echo "Pictures: $(ls -d "$WORK_DIR"/*/vis_data/vis_image 2>/dev/null | tail -n 1)"
