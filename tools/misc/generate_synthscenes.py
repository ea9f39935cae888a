"""Generate the procedural SynthScenes dataset (NYUD-v2 multi-task layout).

Example:
    python tools/misc/generate_synthscenes.py data/synthscenes \
        --num-train 200 --num-val 50 --height 120 --width 160 --seed 0
"""
import argparse
import importlib
import importlib.util
import os.path as osp
import sys
import time
from types import ModuleType
from typing import List, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PACKAGE_DIR = osp.join(REPO_ROOT, 'mmallnet', 'datasets',
                       'synthscenes_generator')
#: Modules outside the generator package that it imports (numpy / scipy
#: only), loaded by file too when the ``mmallnet`` package cannot be.
DEPENDENCIES = {
    'mmallnet.utils.dense_maps':
    osp.join(REPO_ROOT, 'mmallnet', 'utils', 'dense_maps.py'),
}


def _exec_file(name: str, path: str, package: bool = False) -> ModuleType:
    """Load ``path`` as module ``name`` (a package if ``package``)."""
    if package:
        spec = importlib.util.spec_from_file_location(
            name, osp.join(path, '__init__.py'),
            submodule_search_locations=[path])
    else:
        spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so worker processes can unpickle
    spec.loader.exec_module(module)
    return module


def load_generator() -> ModuleType:
    """Import ``mmallnet.datasets.synthscenes_generator``.

    Tries the installed / importable package first, then the repository
    this script lives in. The generator only needs numpy, OpenCV and
    mmengine, so if a package ``__init__`` on the way fails to import, the
    generator package and its :data:`DEPENDENCIES` are loaded from their
    files on their own.
    """
    name = 'mmallnet.datasets.synthscenes_generator'
    try:
        return importlib.import_module(name)
    except Exception:
        pass
    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)
    try:
        return importlib.import_module(name)
    except Exception as exc:  # a broken package __init__
        if not osp.isfile(osp.join(PACKAGE_DIR, '__init__.py')):
            raise ImportError(
                f'cannot import mmallnet.datasets.synthscenes_generator '
                f'and {PACKAGE_DIR} is not a package') from exc
    # registered under their real names, so the generator's absolute
    # imports find them without running the broken package __init__
    for dep, path in DEPENDENCIES.items():
        _exec_file(dep, path)
    return _exec_file('mmallnet_synthscenes_generator', PACKAGE_DIR,
                      package=True)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate the procedural SynthScenes multi-task dataset '
        '(images, segmentation, depth, normals, edge, saliency) in the '
        'NYUD-v2 (InvPT) layout.')
    parser.add_argument(
        'out_dir',
        nargs='?',
        default='data/synthscenes',
        help='output root (default: data/synthscenes)')
    parser.add_argument(
        '--num-train', type=int, default=200, help='training images')
    parser.add_argument(
        '--num-val', type=int, default=50, help='validation images')
    parser.add_argument('--height', type=int, default=120, help='height')
    parser.add_argument('--width', type=int, default=160, help='width')
    parser.add_argument('--seed', type=int, default=0, help='dataset seed')
    parser.add_argument(
        '--num-workers',
        type=int,
        default=0,
        help='worker processes (0: render in this process); the output '
        'does not depend on it')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='regenerate even if out_dir already holds a dataset')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    gen = load_generator()
    reused = (not args.overwrite
              and gen.is_synthscenes_complete(args.out_dir))
    start = time.perf_counter()
    meta = gen.generate_synthscenes(
        args.out_dir,
        num_train=args.num_train,
        num_val=args.num_val,
        height=args.height,
        width=args.width,
        seed=args.seed,
        overwrite=args.overwrite,
        progress=not args.no_progress,
        num_workers=args.num_workers)
    elapsed = time.perf_counter() - start
    action = 'Reused existing' if reused else 'Generated'
    print(f'{action} SynthScenes v{meta["version"]} in {args.out_dir} '
          f'({elapsed:.1f} s)')
    print(f'  images: {meta["num_train"]} train + {meta["num_val"]} val, '
          f'{meta["height"]}x{meta["width"]}, seed {meta["seed"]}')
    intr = meta['intrinsics']
    print(f'  intrinsics: fx={intr["fx"]:.3f} fy={intr["fy"]:.3f} '
          f'cx={intr["cx"]:.1f} cy={intr["cy"]:.1f}')
    counts = meta.get('class_pixel_counts', {}).get('train')
    total = sum(counts) if counts else 0
    print(f'  {len(meta["classes"])} classes (train pixel share):')
    for k, name in enumerate(meta['classes']):
        share = f'{100 * counts[k] / total:5.1f}%' if total else '   n/a'
        print(f'    {k:2d} {name:<10s} {share}')
    return meta


if __name__ == '__main__':
    main()
