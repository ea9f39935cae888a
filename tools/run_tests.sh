#!/usr/bin/env bash
# Install everything (reusing a working torch/mmcv) and run the test suite.
#   bash tools/run_tests.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh --tests
PYTHON=${PYTHON:-python3}
$PYTHON -m ruff check mmallnet tools tests configs benchmarks demo projects
$PYTHON -m pytest tests "$@"
