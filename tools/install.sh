#!/usr/bin/env bash
# Install mmallnet and its stack into the current Python environment.
#
#   bash tools/install.sh [--tests] [--reinstall]
#
# Installs the tested stack, at the versions of requirements/tested.txt
# (this script writes none of them itself):
#   1. torch + torchvision, unless both import already;
#   2. mmcv with compiled ops, unless a working mmcv in the range of
#      requirements/mminstall.txt (the range mmseg accepts) imports already:
#      a working torch or mmcv is kept whatever its version (it may be a
#      CUDA build); a missing mmcv comes from a wheelhouse when one is given
#      (MMCV_WHEELHOUSE or PIP_FIND_LINKS), else it is built from source
#      (CPU ops, C++20 for torch >= 2.13; 20-45 minutes on 2 cores);
#   3. requirements/runtime.txt with the tested pins of the other packages
#      (mmengine, mmsegmentation, mmpretrain), then mmallnet itself
#      (pip install -e .) and, with --tests, requirements/tests.txt.
# Does nothing when tools/misc/check_environment.py finds all of that
# installed already; --reinstall runs the pip steps anyway. Environment:
#   PYTHON           interpreter to install into (default: python3)
#   MMCV_WHEELHOUSE  folder holding a wheel of the tested mmcv for this torch
#                    (default: PIP_FIND_LINKS, else ../shared/wheels if present)
#   FORCE_CUDA=1     build mmcv's CUDA ops as well (needs nvcc)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
PIP="$PYTHON -m pip"
WITH_TESTS=0
REINSTALL=0
for arg in "$@"; do
  case "$arg" in
    --tests) WITH_TESTS=1 ;;
    --reinstall) REINSTALL=1 ;;
    *) echo "install.sh: unknown argument '$arg'" \
         "(expected --tests or --reinstall)" >&2; exit 2 ;;
  esac
done

log() { echo "[mmallnet install] $*"; }
export PIP_DISABLE_PIP_VERSION_CHECK=1

# 0. Nothing to do? One interpreter checks everything (each pip call and
# each torch import below costs seconds).
REQUIREMENTS=(requirements/runtime.txt requirements/mminstall.txt)
if [ "$WITH_TESTS" = 1 ]; then
  REQUIREMENTS+=(requirements/tests.txt)
fi
if [ "$REINSTALL" = 0 ] && $PYTHON -c "import packaging" >/dev/null 2>&1 \
    && $PYTHON tools/misc/check_environment.py --tested \
         "${REQUIREMENTS[@]}"; then
  exit 0
fi

log "python: $($PYTHON --version 2>&1) ($(command -v $PYTHON))"
# pkg_resources is needed by the mmcv build and by mmseg:: config inheritance.
$PIP install -q "setuptools<81" wheel packaging

# The tested versions, read from requirements/tested.txt (needs packaging).
PINS=$($PYTHON tools/misc/check_environment.py --versions torch torchvision \
       mmcv mmengine)
read -r TORCH_VERSION TORCHVISION_VERSION MMCV_VERSION MMENGINE_VERSION \
  <<<"$PINS"
# The tested pins step 3 installs (all but torch, torchvision, mmcv).
TESTED_PINS=$($PYTHON tools/misc/check_environment.py --list-tested)
TESTED=()
while IFS= read -r pin; do
  [ -z "$pin" ] || TESTED+=("$pin")
done <<<"$TESTED_PINS"

# 1. torch + torchvision
if $PYTHON -c "import torch, torchvision" >/dev/null 2>&1; then
  log "reusing torch $($PYTHON -c 'import torch; print(torch.__version__)')," \
      "torchvision $($PYTHON -c 'import torchvision; print(torchvision.__version__)')"
else
  log "installing torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION"
  # torch's dependencies may upgrade setuptools: keep it pinned alongside
  $PIP install -q "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" \
    "setuptools<81"
fi

# 2. mmcv with compiled ops, in the range of requirements/mminstall.txt
mmcv_ok() {
  $PYTHON tools/misc/check_environment.py --mmcv-only >/dev/null 2>&1
}
WHEELHOUSE=${MMCV_WHEELHOUSE:-${PIP_FIND_LINKS:-}}
# A wheelhouse checked out beside the repository (../shared/wheels) is used
# when none is named.
if [ -z "$WHEELHOUSE" ] && [ -d ../shared/wheels ]; then
  WHEELHOUSE="$(cd ../shared/wheels && pwd)"
fi
if mmcv_ok; then
  log "reusing mmcv $($PYTHON -c 'import mmcv; print(mmcv.__version__)') (compiled ops present)"
elif [ -n "$WHEELHOUSE" ] && $PIP install -q --find-links "$WHEELHOUSE" \
      --only-binary mmcv "mmcv==$MMCV_VERSION" && mmcv_ok; then
  log "installed mmcv $MMCV_VERSION from wheelhouse $WHEELHOUSE"
else
  if [ -n "$WHEELHOUSE" ]; then
    log "no usable mmcv $MMCV_VERSION wheel in $WHEELHOUSE"
  fi
  log "building mmcv $MMCV_VERSION from source: this takes 20-45 minutes on" \
      "2 CPU cores (CPU ops only unless FORCE_CUDA=1)."
  build_dir=$(mktemp -d)
  # mmcv's setup.py imports pkg_resources: no build isolation, setuptools<81
  $PIP install -q ninja psutil "mmengine==$MMENGINE_VERSION" "setuptools<81"
  $PIP download -q --no-deps --no-binary :all: --no-build-isolation \
    -d "$build_dir" "mmcv==$MMCV_VERSION"
  tar -xzf "$build_dir"/mmcv-$MMCV_VERSION.tar.gz -C "$build_dir"
  src="$build_dir/mmcv-$MMCV_VERSION"
  # torch >= 2.13 headers require C++20; mmcv 2.1.0 hard-codes -std=c++17.
  if $PYTHON -c "import torch, sys; from packaging.version import Version as V; \
sys.exit(0 if V(torch.__version__.split('+')[0]) >= V('2.13') else 1)"; then
    sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
    log "patched mmcv setup.py to -std=c++20 for torch >= 2.13"
  fi
  (cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA=${FORCE_CUDA:-0} \
     MAX_JOBS=${MAX_JOBS:-$(nproc)} $PIP install --no-build-isolation .)
  rm -rf "$build_dir"
  mmcv_ok || { log "mmcv build finished but 'mmcv.ops' does not import"; exit 1; }
fi

# 3. OpenMMLab packages (runtime.txt at the tested pins), mmallnet itself
# (editable) and test tools
$PIP install -q -r requirements/runtime.txt "${TESTED[@]}"
$PIP install -q --no-build-isolation --no-deps -e .
if [ "$WITH_TESTS" = 1 ]; then
  $PIP install -q -r requirements/tests.txt
fi
$PYTHON -c "import mmallnet, mmseg.models, mmpretrain.models; \
print('[mmallnet install] ok: mmallnet', mmallnet.__version__)"
