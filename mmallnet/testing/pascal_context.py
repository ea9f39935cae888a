"""Write a tiny PASCAL-Context multi-task dataset in the PASCAL_MT layout.

:func:`write_pascal_context` writes four images with every annotation file
of the real layout (JPEG images, label / saliency / normals PNGs, PASCAL-Part
``anno`` and Context ``LabelMap`` ``.mat`` files written with
:func:`scipy.io.savemat` in the structure of the real files) and returns
the values a loader must produce, so tests can assert them exactly.

The four samples cover each case of the protocol:

============  =====  ===============  =========================
id            split  semseg source    human parts
============  =====  ===============  =========================
2008_000002   train  VOC12 (palette)  person with parts (+ a cat
                     + a decoy        with parts, a person
                     pascal-context   without parts)
2008_000003   train  pascal-context   no person (dog, cat)
2008_000007   val    VOC12            person without parts
2008_000008   val    pascal-context   no object at all
============  =====  ===============  =========================

Each Context ``LabelMap`` has two regions, left (columns ``< split_col``)
and right, of the classes listed in :data:`SAMPLE_SPECS`.
"""
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np
import scipy.io
from PIL import Image

from mmallnet.datasets.pascal_context_multi_task import voc_palette
from mmallnet.datasets.transforms.pascal_context import (
    HUMAN_PART_IDS,
    NORMALS_VALID_CONTEXT_CLASSES,
)

from .normals import random_normals_png

#: Smallest image the fixed part rectangles fit in.
MIN_SIZE = (40, 48)

#: id -> (split, semseg folder, parts case, split column, left and right
#: Context classes). 397 table, 284 person, 68 ceiling and 440 wall are
#: in the normals whitelist; 360 sky, 187 grass and 259 mountain are not.
SAMPLE_SPECS: Dict[str, tuple] = {
    '2008_000002': ('train', 'VOC12', 'person_parts', 20, 397, 360),
    '2008_000003': ('train', 'pascal-context', 'no_person', 24, 284, 187),
    '2008_000007': ('val', 'VOC12', 'person_no_parts', 16, 68, 440),
    '2008_000008': ('val', 'pascal-context', 'no_objects', 30, 360, 259),
}

#: Parts of the annotated person, painted in this order: (name, rows,
#: cols). 'lhand' overlaps 'torso' (the later part wins) and 'hair'
#: overlaps 'head'.
PERSON_PARTS: Tuple[Tuple[str, Tuple[int, int], Tuple[int, int]], ...] = (
    ('head', (4, 10), (12, 20)),
    ('hair', (4, 6), (12, 20)),
    ('torso', (10, 22), (10, 22)),
    ('lhand', (14, 18), (10, 14)),
    ('luarm', (10, 14), (8, 10)),
    ('ruleg', (22, 30), (10, 16)),
    ('lfoot', (30, 36), (16, 22)),
)
#: Rows and columns of the annotated person's object mask.
PERSON_BOX = ((4, 36), (8, 24))

_OBJECT_DTYPE = [('class', 'O'), ('class_ind', 'O'), ('mask', 'O'),
                 ('parts', 'O')]
_PART_DTYPE = [('part_name', 'O'), ('mask', 'O')]


def _box(shape: Tuple[int, int], rows: Tuple[int, int],
         cols: Tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[rows[0]:rows[1], cols[0]:cols[1]] = 1
    return mask


def _parts_array(parts: List[Tuple[str, np.ndarray]]) -> np.ndarray:
    if not parts:
        return np.zeros((0, 0))  # MATLAB's [] for an object without parts
    array = np.zeros((1, len(parts)), dtype=_PART_DTYPE)
    for j, (name, mask) in enumerate(parts):
        array[0, j] = (name, mask)
    return array


def _objects_array(objects: List[tuple]) -> np.ndarray:
    array = np.zeros((1, len(objects)), dtype=_OBJECT_DTYPE)
    for i, (name, class_ind, mask, parts) in enumerate(objects):
        array[0, i] = (name, np.array([[float(class_ind)]]), mask,
                       _parts_array(parts))
    return array


def _human_parts(case: str, shape: Tuple[int, int]
                 ) -> Tuple[List[tuple], np.ndarray]:
    """PASCAL-Part objects of one case and the expected 6-part map."""
    h, w = shape
    expected = np.full(shape, 255, np.uint8)
    cat_parts = [('head', _box(shape, (30, 38), (30, 38))),
                 ('tail', _box(shape, (34, 38), (38, 46)))]
    cat = ('cat', 8, _box(shape, (28, 38), (28, 46)), cat_parts)
    if case == 'person_parts':
        parts = [(name, _box(shape, rows, cols))
                 for name, rows, cols in PERSON_PARTS]
        expected = np.zeros(shape, np.uint8)
        for name, mask in parts:
            expected[mask.astype(bool)] = HUMAN_PART_IDS[name]
        objects = [('person', 15, _box(shape, *PERSON_BOX), parts), cat,
                   ('person', 15, _box(shape, (0, 4), (40, 48)), [])]
    elif case == 'no_person':
        objects = [('dog', 12, _box(shape, (0, h // 2), (0, w // 2)), []),
                   cat]
    elif case == 'person_no_parts':
        objects = [('person', 15, _box(shape, (2, 30), (4, 20)), [])]
    elif case == 'no_objects':
        objects = []
    else:
        raise ValueError(f'Unknown human parts case {case!r}.')
    return objects, expected


def write_pascal_context(root: str,
                         height: int = 40,
                         width: int = 48,
                         seed: int = 0) -> dict:
    """Write the tiny PASCAL-Context tree of :data:`SAMPLE_SPECS`.

    Args:
        root (str): Dataset root to create (the ``PASCALContext/`` folder).
        height (int): Image height, at least 40. Default 40.
        width (int): Image width, at least 48. Default 48.
        seed (int): Seed of the random image, label, saliency and normals
            content. Default 0.

    Returns:
        dict: ``root``; ``splits`` (split -> list of ids); ``samples`` (id ->
        dict) with ``split``, ``img`` (RGB uint8 before JPEG coding),
        ``semseg`` (expected 21-class map), ``semseg_dir`` ('VOC12' or
        'pascal-context'), ``parts_case``, ``parts`` (expected 6-part map,
        255 = ignore), ``saliency_png``, ``saliency`` (expected {0, 1}),
        ``normals_png`` (RGB uint8, unit normals), ``normals`` (expected,
        masked by the whitelist), ``label_map`` (Context ``LabelMap``) and
        ``split_col``.
    """
    if height < MIN_SIZE[0] or width < MIN_SIZE[1]:
        raise ValueError(f'write_pascal_context needs an image of at least '
                         f'{MIN_SIZE}, got {(height, width)}.')
    shape = (height, width)
    rng = np.random.default_rng(seed)
    for sub in ('JPEGImages', osp.join('semseg', 'VOC12'),
                osp.join('semseg', 'pascal-context'), 'human_parts',
                'sal_distill', 'normals_distill',
                osp.join('pascal-context', 'trainval'),
                osp.join('ImageSets', 'Context')):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    palette = np.array(voc_palette(256), np.uint8).ravel().tolist()
    whitelist = np.array(sorted(NORMALS_VALID_CONTEXT_CLASSES))
    splits: Dict[str, List[str]] = {'train': [], 'val': []}
    samples = {}
    for img_id, spec in SAMPLE_SPECS.items():
        split, semseg_dir, case, split_col, left, right = spec
        splits[split].append(img_id)
        img = rng.integers(0, 256, shape + (3, ), dtype=np.uint8)
        cv2.imwrite(
            osp.join(root, 'JPEGImages', img_id + '.jpg'),
            cv2.cvtColor(img, cv2.COLOR_RGB2BGR))

        semseg = rng.integers(0, 21, shape, dtype=np.uint8)
        semseg[:3, :5] = 255
        semseg_path = osp.join(root, 'semseg', semseg_dir, img_id + '.png')
        if semseg_dir == 'VOC12':
            label = Image.fromarray(semseg)
            label.putpalette(palette)  # 'L' -> 'P', indices kept
            label.save(semseg_path)
            # a different Context-derived map the loader must not take
            decoy = ((semseg.astype(np.int64) + 1) % 21).astype(np.uint8)
            Image.fromarray(decoy).save(
                osp.join(root, 'semseg', 'pascal-context', img_id + '.png'))
        else:
            Image.fromarray(semseg).save(semseg_path)

        objects, parts = _human_parts(case, shape)
        scipy.io.savemat(
            osp.join(root, 'human_parts', img_id + '.mat'),
            {'anno': {'imname': img_id, 'objects': _objects_array(objects)}})

        saliency_png = rng.integers(0, 256, shape, dtype=np.uint8)
        saliency_png[0, :4] = (127, 128, 0, 255)
        cv2.imwrite(osp.join(root, 'sal_distill', img_id + '.png'),
                    saliency_png)

        label_map = np.full(shape, right, np.uint16)
        label_map[:, :split_col] = left
        scipy.io.savemat(
            osp.join(root, 'pascal-context', 'trainval', img_id + '.mat'),
            {'LabelMap': label_map})

        normals_png = random_normals_png(rng, shape)
        cv2.imwrite(
            osp.join(root, 'normals_distill', img_id + '.png'),
            cv2.cvtColor(normals_png, cv2.COLOR_RGB2BGR))
        keep = np.isin(label_map, whitelist)[..., None]
        normals = np.where(keep,
                           normals_png.astype(np.float32) * 2 / 255 - 1,
                           0).astype(np.float32)

        samples[img_id] = dict(
            split=split,
            img=img,
            semseg=semseg,
            semseg_dir=semseg_dir,
            parts_case=case,
            parts=parts,
            saliency_png=saliency_png,
            saliency=(saliency_png > 127).astype(np.uint8),
            normals_png=normals_png,
            normals=normals,
            label_map=label_map,
            split_col=split_col)
    for split, ids in splits.items():
        with open(osp.join(root, 'ImageSets', 'Context', split + '.txt'),
                  'w') as f:
            f.write('\n'.join(ids) + '\n')
    return dict(root=root, splits=splits, samples=samples)
