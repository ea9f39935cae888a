"""The human-parts map of a PASCAL-Part ``anno`` ``.mat`` file.

``human_parts/<id>.mat`` holds the PASCAL-Part ``anno`` struct
(``anno.objects(i).class_ind / .mask / .parts(j).part_name / .mask``);
only persons (class 15) with part annotations are drawn, with the 6-part
grouping of :data:`~.classes.HUMAN_PART_IDS`; an image without any gives
an all-ignore (255) map, as the InvPT-family ``AddIgnoreRegions`` does.
"""
from typing import Dict, Optional, Tuple

import numpy as np

from mmallnet.structures import TASK_SPECS
from mmallnet.utils.dense_maps import load_mat

from .classes import HUMAN_PART_IDS, PERSON_CLASS_IND

_PARTS_IGNORE = int(TASK_SPECS['parts'].ignore_value)


def _mat_str(value) -> str:
    """A MATLAB char array loaded by scipy -> Python str."""
    array = np.asarray(value)
    if array.dtype.kind not in 'US':
        raise TypeError(f'expected a string, got dtype {array.dtype}')
    return ''.join(str(s) for s in array.ravel()).strip()


def _struct_field(record, name: str, path: str, where: str):
    names = record.dtype.names or ()
    if name not in names:
        raise KeyError(f'{path}: {where} has no field "{name}" (fields: '
                       f'{list(names)}).')
    return record[name]


def load_human_parts(path: str,
                     shape: Optional[Tuple[int, int]] = None,
                     part_ids: Optional[Dict[str, int]] = None) -> np.ndarray:
    """Build the human-parts map from a PASCAL-Part ``anno`` ``.mat`` file.

    Every object with ``class_ind == 15`` (person) and a non-empty
    ``parts`` list is drawn: its part masks are painted, in file order,
    with the ids of ``part_ids``; every other pixel is background (0).
    When no person has parts, or the map holds only background, the whole
    map is ignore (255), as the InvPT-family ``AddIgnoreRegions`` does.

    Args:
        path (str): ``human_parts/<id>.mat``.
        shape (tuple[int, int], optional): (H, W) of the image; required
            when the file has no object mask, checked otherwise.
        part_ids (dict, optional): Part name -> label. Default
            :data:`HUMAN_PART_IDS`.

    Returns:
        np.ndarray: (H, W) uint8, 0 background, 1..6 parts, 255 ignore.
    """
    part_ids = HUMAN_PART_IDS if part_ids is None else part_ids
    mat = load_mat(path)
    if 'anno' not in mat:
        keys = sorted(k for k in mat if not k.startswith('__'))
        raise KeyError(f'{path}: no field "anno" (fields: {keys}).')
    anno = np.asarray(mat['anno'])
    if anno.dtype.names is None or anno.size != 1:
        raise ValueError(f'{path}: "anno" must be a 1x1 struct, got dtype '
                         f'{anno.dtype} and shape {anno.shape}.')
    objects = np.asarray(_struct_field(anno.ravel()[0], 'objects', path,
                                       'anno'))
    target = None
    if objects.size:
        if objects.dtype.names is None:
            raise ValueError(f'{path}: anno.objects must be a struct array, '
                             f'got dtype {objects.dtype}.')
        for i, obj in enumerate(objects.ravel()):
            where = f'anno.objects({i + 1})'
            class_ind = np.asarray(
                _struct_field(obj, 'class_ind', path, where))
            parts = np.asarray(_struct_field(obj, 'parts', path, where))
            if class_ind.size != 1:
                raise ValueError(f'{path}: {where}.class_ind must be a '
                                 f'scalar, got shape {class_ind.shape}.')
            if int(class_ind.ravel()[0]) != PERSON_CLASS_IND or \
                    parts.size == 0:
                continue
            if parts.dtype.names is None:
                raise ValueError(f'{path}: {where}.parts must be a struct '
                                 f'array, got dtype {parts.dtype}.')
            obj_mask = np.asarray(_struct_field(obj, 'mask', path, where))
            if target is None:
                target_shape = tuple(obj_mask.shape)
                if shape is not None and target_shape != tuple(shape):
                    raise ValueError(
                        f'Size mismatch: {path} {where}.mask is '
                        f'{target_shape} but the image is {tuple(shape)}.')
                target = np.zeros(target_shape, np.uint8)
            for j, part in enumerate(parts.ravel()):
                pwhere = f'{where}.parts({j + 1})'
                try:
                    name = _mat_str(
                        _struct_field(part, 'part_name', path, pwhere))
                except TypeError as err:
                    raise ValueError(
                        f'{path}: {pwhere}.part_name: {err}') from err
                if name not in part_ids:
                    raise ValueError(
                        f'{path}: {pwhere} has unknown person part name '
                        f'{name!r}; known: {sorted(part_ids)}.')
                mask = np.asarray(_struct_field(part, 'mask', path, pwhere))
                if mask.shape != target.shape:
                    raise ValueError(
                        f'Size mismatch: {path} {pwhere}.mask is '
                        f'{mask.shape} but the person masks are '
                        f'{target.shape}.')
                target[mask.astype(bool)] = part_ids[name]
    if target is None or not target.any():
        if target is None:
            if shape is None:
                raise ValueError(f'{path} has no person with parts and no '
                                 'image shape was given for the all-ignore '
                                 'map.')
            target = np.empty(tuple(shape), np.uint8)
        target.fill(_PARTS_IGNORE)
    return target
