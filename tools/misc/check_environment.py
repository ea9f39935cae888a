"""Check whether this Python environment already holds mmallnet's stack.

``tools/install.sh`` runs this first and skips every pip call when it passes:
each ``pip install`` and each extra interpreter that imports torch costs
several seconds on a small CPU machine, which the demo's time budget cannot
spare. The check passes when

* torch and torchvision import,
* mmcv imports with its compiled ops at a version in the range of
  ``requirements/mminstall.txt`` (the range mmseg accepts),
* every requirement in the given requirement files is installed at an
  accepted version (markers are honoured); with ``--tested`` also the pins
  of ``requirements/tested.txt``, except torch, torchvision and mmcv: a
  working build of those is kept whatever its version,
* mmallnet is installed from this checkout (``pip install -e .``), and
  ``mmseg.models`` and ``mmpretrain.models`` import.

``requirements/tested.txt`` is the one place the tested versions are
written; ``--versions`` and ``--list-tested`` print them for install.sh.

Usage::

    python tools/misc/check_environment.py [--tested] [requirements/*.txt]
    python tools/misc/check_environment.py --mmcv-only
    python tools/misc/check_environment.py --versions torch mmcv ...
    python tools/misc/check_environment.py --list-tested

Exit status 0 when everything holds (one summary line), 1 otherwise (one
line per missing piece). ``--versions`` prints the pinned versions on one
line, space-separated; ``--list-tested`` prints the pins ``--tested``
checks, one per line.
"""
import argparse
import importlib.metadata
import sys
from pathlib import Path
from typing import List, Optional

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The tested stack: exact pins (what tools/install.sh installs).
TESTED_REQUIREMENTS = REPO_ROOT / 'requirements' / 'tested.txt'
#: Holds the mmcv range mmseg accepts.
MMCV_REQUIREMENTS = REPO_ROOT / 'requirements' / 'mminstall.txt'
#: Compiled packages kept when they work, whatever their version (replacing
#: them could undo a user's CUDA build): ``--tested`` skips their pins.
KEPT_WHEN_WORKING = ('torch', 'torchvision', 'mmcv')


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


def find_requirement(requirements: List[Requirement],
                     name: str) -> Requirement:
    """The requirement on package ``name`` (names compared as pip does).

    Raises:
        ValueError: When no requirement names the package.
    """
    for req in requirements:
        if canonicalize_name(req.name) == canonicalize_name(name):
            return req
    raise ValueError(f'no requirement on {name!r}')


def pinned_version(requirement: Requirement) -> str:
    """The version of an exact pin ``name==version``.

    Raises:
        ValueError: When the requirement is not one exact pin (a range, a
            wildcard ``==1.*`` or several specifiers).
    """
    specifiers = list(requirement.specifier)
    if (len(specifiers) != 1 or specifiers[0].operator != '=='
            or specifiers[0].version.endswith('*')):
        raise ValueError(f'{requirement} is not an exact pin '
                         '(name==version)')
    return specifiers[0].version


def tested_versions(names: List[str],
                    path: Optional[Path] = None) -> List[str]:
    """The versions the tested stack pins the packages ``names`` to.

    Args:
        names (list[str]): Package names.
        path (Path, optional): The pins; :data:`TESTED_REQUIREMENTS` when
            not given.

    Raises:
        ValueError: When a package is not pinned exactly in ``path``.
    """
    path = TESTED_REQUIREMENTS if path is None else path
    requirements = read_requirements(path)
    versions = []
    for name in names:
        try:
            versions.append(
                pinned_version(find_requirement(requirements, name)))
        except ValueError as err:
            raise ValueError(f'{path}: {err}') from err
    return versions


def tested_requirements(path: Optional[Path] = None) -> List[Requirement]:
    """The tested pins that must hold as written.

    Args:
        path (Path, optional): The pins; :data:`TESTED_REQUIREMENTS` when
            not given.

    Returns:
        list[Requirement]: Every requirement of ``path`` except those on
        torch, torchvision and mmcv (:data:`KEPT_WHEN_WORKING`), which are
        kept at any version when they work.
    """
    path = TESTED_REQUIREMENTS if path is None else path
    return [
        req for req in read_requirements(path)
        if canonicalize_name(req.name) not in KEPT_WHEN_WORKING
    ]


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


def check_mmcv(path: Optional[Path] = None) -> List[str]:
    """Check that mmcv imports with its ops at a version mmseg accepts.

    ``tools/install.sh`` also asks this (``--mmcv-only``) before and after
    installing mmcv.

    Args:
        path (Path, optional): The requirements file holding the accepted
            mmcv range; :data:`MMCV_REQUIREMENTS` when not given.

    Returns:
        list[str]: Problems found (empty when mmcv is usable).
    """
    path = MMCV_REQUIREMENTS if path is None else path
    accepted = find_requirement(read_requirements(path), 'mmcv')
    try:
        import mmcv
        from mmcv.ops import nms  # noqa: F401 (fails without compiled ops)
    except Exception as err:  # noqa: BLE001 (any import failure counts)
        return [f'mmcv with compiled ops does not import ({err})']
    if not accepted.specifier.contains(mmcv.__version__, prereleases=True):
        return [f'mmcv {mmcv.__version__} does not meet {accepted} '
                f'({path.name}: the range mmseg accepts)']
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
    parser.add_argument('--tested', action='store_true',
                        help='also require the pins of '
                        'requirements/tested.txt, except torch, '
                        'torchvision and mmcv (kept when they work)')
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--mmcv-only', action='store_true',
                      help='only check mmcv (compiled ops, version)')
    mode.add_argument('--versions', nargs='+', metavar='NAME',
                      help='print the versions requirements/tested.txt '
                      'pins these packages to, on one line')
    mode.add_argument('--list-tested', action='store_true',
                      help='print the pins --tested requires, one per line')
    args = parser.parse_args(argv)
    if ((args.mmcv_only or args.versions or args.list_tested)
            and (args.requirements or args.tested)):
        parser.error('--mmcv-only, --versions and --list-tested take no '
                     'requirement files and no --tested')
    if args.versions:
        try:
            print(' '.join(tested_versions(args.versions)))
        except ValueError as err:
            print(f'[mmallnet install] {err}', file=sys.stderr)
            return 1
        return 0
    if args.list_tested:
        for req in tested_requirements():
            print(req)
        return 0
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
    if args.tested:
        requirements += tested_requirements()
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
