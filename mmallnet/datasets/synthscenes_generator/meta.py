"""``meta.json`` of a SynthScenes dataset and the completeness check.

``meta.json`` is written last and records the generation settings (seed,
size, split sizes, classes, intrinsics, conventions) and the per-split
class pixel counts; a dataset is complete when it is readable, the split
files list exactly its ids and every id has its six files.
"""
import json
import os.path as osp
from typing import List, Optional, Tuple

from .camera import camera_intrinsics
from .settings import (
    DEPTH_DEFINITION,
    GENERATOR_VERSION,
    NORMALS_FRAME,
    SYNTHSCENES_CLASSES,
    SYNTHSCENES_PALETTE,
    SYNTHSCENES_SUBDIRS,
)

# Meta keys that are generated statistics, not generation settings.
_META_STAT_KEYS = ('class_pixel_counts', )


def image_ids(num_train: int, num_val: int) -> Tuple[List[str], List[str]]:
    """Zero-padded ids (at least 4 digits) of the train and val images."""
    total = num_train + num_val
    digits = max(4, len(str(total - 1)))
    ids = [str(i).zfill(digits) for i in range(total)]
    return ids[:num_train], ids[num_train:]


def expected_meta(num_train: int, num_val: int, height: int, width: int,
                  seed: int) -> dict:
    """The ``meta.json`` of these settings, without the statistics."""
    K = camera_intrinsics(height, width)
    return dict(
        name='SynthScenes',
        version=GENERATOR_VERSION,
        layout='NYUDv2 multi-task (InvPT)',
        seed=int(seed),
        height=int(height),
        width=int(width),
        num_train=int(num_train),
        num_val=int(num_val),
        num_images=int(num_train + num_val),
        classes=list(SYNTHSCENES_CLASSES),
        palette=[list(c) for c in SYNTHSCENES_PALETTE],
        intrinsics=dict(
            fx=float(K[0, 0]), fy=float(K[1, 1]), cx=float(K[0, 2]),
            cy=float(K[1, 2])),
        depth=DEPTH_DEFINITION,
        normals=NORMALS_FRAME,
        segmentation='uint8 PNG, 0 = unlabelled, class k stored as k + 1',
        edge='uint8 PNG, 0 or 255',
        saliency='uint8 PNG, 0 or 255 (object pixels)')


def read_meta(out_dir: str) -> Optional[dict]:
    """``out_dir/meta.json`` as a dict, or None if it is not readable."""
    path = osp.join(out_dir, 'meta.json')
    try:
        with open(path, encoding='utf-8') as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def is_synthscenes_complete(out_dir: str) -> bool:
    """Whether ``out_dir`` holds a complete SynthScenes dataset.

    Complete means: ``meta.json`` (written last) is readable, the split
    files list exactly the ids it announces, and every id has all six
    files (image, segmentation, depth, normals, edge, saliency).

    Args:
        out_dir (str): Dataset root.

    Returns:
        bool: True if complete.
    """
    meta = read_meta(out_dir)
    if meta is None or meta.get('name') != 'SynthScenes':
        return False
    num_train, num_val = meta.get('num_train'), meta.get('num_val')
    if not all(isinstance(n, int) and n >= 0 for n in (num_train, num_val)):
        return False
    if num_train + num_val < 1:
        return False
    train_ids, val_ids = image_ids(num_train, num_val)
    for split, ids in (('train', train_ids), ('val', val_ids)):
        path = osp.join(out_dir, 'gt_sets', f'{split}.txt')
        try:
            with open(path, encoding='utf-8') as f:
                listed = f.read().split()
        except OSError:
            return False
        if listed != ids:
            return False
    for img_id in train_ids + val_ids:
        for sub, suffix in SYNTHSCENES_SUBDIRS.items():
            if not osp.isfile(osp.join(out_dir, sub, img_id + suffix)):
                return False
    return True


def meta_differences(existing: dict, expected: dict) -> List[str]:
    """``'key: old != new'`` for every differing generation setting."""
    keys = sorted(set(existing) | set(expected))
    return [
        f'{k}: {existing.get(k)!r} != {expected.get(k)!r}' for k in keys
        if k not in _META_STAT_KEYS and existing.get(k) != expected.get(k)
    ]
