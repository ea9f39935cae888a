"""Check whether this Python environment already holds mmallnet's stack.

``tools/install.sh`` runs this first and skips every pip call when it passes:
each ``pip install`` and each extra interpreter that imports torch costs
several seconds on a small CPU machine, which the demo's time budget cannot
spare. The check passes when

* torch and torchvision import,
* mmcv imports with its compiled ops and a version mmseg 1.2.2 accepts,
* every requirement in the given requirement files is installed at an
  accepted version (markers are honoured),
* mmallnet is installed from this checkout (``pip install -e .``), and
  ``mmseg.models`` and ``mmpretrain.models`` import.

Usage::

    python tools/misc/check_environment.py [requirements/*.txt ...]
    python tools/misc/check_environment.py --mmcv-only

Exit status 0 when everything holds (one summary line), 1 otherwise (one
line per missing piece).
"""
import argparse
import importlib.metadata
import sys
from pathlib import Path
from typing import List

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

REPO_ROOT = Path(__file__).resolve().parents[2]
MMCV_RANGE = (Version('2.0.0rc4'), Version('2.2.0'))


def read_requirements(path: Path) -> List[Requirement]:
    """Parse a pip requirements file of plain requirement lines.

    Args:
        path (Path): The requirements file.

    Returns:
        list[Requirement]: One entry per non-empty, non-comment line.

    Raises:
        ValueError: On a line that is a pip option (``-r``, ``--index-url``
            ...) or not a valid requirement; the message names the file and
            line.
    """
    requirements = []
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split('#', 1)[0].strip()
        if not line:
            continue
        if line.startswith('-'):
            raise ValueError(f'{path}:{lineno}: pip options such as '
                             f'{line.split()[0]!r} are not supported here; '
                             'expected one requirement per line')
        try:
            requirements.append(Requirement(line))
        except InvalidRequirement as err:
            raise ValueError(f'{path}:{lineno}: {line!r} is not a valid '
                             f'requirement ({err})') from err
    return requirements


def unmet_requirements(requirements: List[Requirement]) -> List[str]:
    """Requirements that are not installed at an accepted version.

    Args:
        requirements (list[Requirement]): What must be installed.

    Returns:
        list[str]: One description per unmet requirement (empty when all
        are met). Requirements whose environment marker does not apply
        are ignored.
    """
    problems = []
    for req in requirements:
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            installed = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f'{req} is not installed')
            continue
        if req.specifier and not req.specifier.contains(
                installed, prereleases=True):
            problems.append(f'{req} is required, {installed} is installed')
    return problems


def check_mmcv() -> List[str]:
    """Check that mmcv imports with its ops at a version mmseg accepts.

    ``tools/install.sh`` also asks this (``--mmcv-only``) before and after
    installing mmcv.

    Returns:
        list[str]: Problems found (empty when mmcv is usable).
    """
    try:
        import mmcv
        from mmcv.ops import nms  # noqa: F401 (fails without compiled ops)
    except Exception as err:  # noqa: BLE001 (any import failure counts)
        return [f'mmcv with compiled ops does not import ({err})']
    low, high = MMCV_RANGE
    if not low <= Version(mmcv.__version__) < high:
        return [f'mmcv {mmcv.__version__} is outside [{low}, {high}) '
                'required by mmseg']
    return []


def check_stack() -> List[str]:
    """Import the compiled stack and mmallnet; describe what fails.

    Returns:
        list[str]: Problems found (empty when torch, torchvision, mmcv with
        ops, mmseg, mmpretrain and mmallnet from this checkout import).
    """
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
    except Exception as err:  # noqa: BLE001 (any import failure counts)
        return [f'torch/torchvision do not import ({err})']
    problems = check_mmcv()
    if problems:
        return problems
    try:
        import mmpretrain.models  # noqa: F401
        import mmseg.models  # noqa: F401

        import mmallnet
    except Exception as err:  # noqa: BLE001
        return [f'mmseg/mmpretrain/mmallnet do not import ({err})']
    package_dir = Path(mmallnet.__file__).resolve().parent
    if package_dir != REPO_ROOT / 'mmallnet':
        problems.append(f'mmallnet is imported from {package_dir}, not from '
                        f'this checkout ({REPO_ROOT})')
    try:
        importlib.metadata.version('mmallnet')
    except importlib.metadata.PackageNotFoundError:
        problems.append('mmallnet is not pip-installed (pip install -e .)')
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('requirements', nargs='*', type=Path,
                        help='requirement files that must be satisfied')
    parser.add_argument('--mmcv-only', action='store_true',
                        help='only check mmcv (compiled ops, version)')
    args = parser.parse_args(argv)
    if args.mmcv_only:
        problems = check_mmcv()
        for problem in problems:
            print(f'[mmallnet install] to install: {problem}')
        return 1 if problems else 0
    requirements = []
    for path in args.requirements:
        if not path.is_file():
            parser.error(f'requirements file {path} does not exist')
        requirements += read_requirements(path)
    problems = unmet_requirements(requirements) + check_stack()
    if problems:
        for problem in problems:
            print(f'[mmallnet install] to install: {problem}')
        return 1
    import mmcv
    import torch

    import mmallnet
    print(f'[mmallnet install] environment complete: torch '
          f'{torch.__version__}, mmcv {mmcv.__version__}, mmallnet '
          f'{mmallnet.__version__} (from {REPO_ROOT}); nothing to install')
    return 0


if __name__ == '__main__':
    sys.exit(main())
