"""Loading of the PASCAL-Context multi-task annotations (PASCAL_MT layout).

File formats (root ``PASCALContext/``, see DESIGN §2 and the benchmark
notes):

- semseg: ``semseg/VOC12/<id>.png`` (or ``semseg/pascal-context/<id>.png``),
  an 8-bit label PNG (grayscale or palette indices), 0 = background,
  1..20 = VOC classes, 255 = ignore;
- parts: ``human_parts/<id>.mat``, the PASCAL-Part ``anno`` struct
  (``anno.objects(i).class_ind / .mask / .parts(j).part_name / .mask``);
  only persons (class 15) with part annotations are drawn, with the 6-part
  grouping of :data:`HUMAN_PART_IDS`; an image without any gives an
  all-ignore (255) map;
- saliency: ``sal_distill/<id>.png``, ``v / 255 > 0.5`` -> 1;
- normals: ``normals_distill/<id>.png``, ``n = 2 v / 255 - 1`` (RGB = x, y,
  z), kept only where the Context label (``LabelMap`` of
  ``pascal-context/trainval/<id>.mat``) is in
  :data:`NORMALS_VALID_CONTEXT_CLASSES`, elsewhere the zero vector
  (invalid);
- boundary: nonzero 3x3 Laplacian of that ``LabelMap``, thinned to one
  pixel (:func:`thin_binary`).
"""
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
import scipy.io
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS
from PIL import Image

from mmallnet.structures import TASK_SPECS, check_tasks

from .loading import annotation_path, load_normals, store_annotation

#: PASCAL-Part category of persons (``anno.objects(i).class_ind``).
PERSON_CLASS_IND = 15

#: PASCAL-Part person part name -> 6-part label (0 = background):
#: 1 head (hair, head, ears, eyebrows, eyes, mouth, nose), 2 torso (torso,
#: neck), 3 upper arms, 4 lower arms and hands, 5 upper legs, 6 lower legs
#: and feet.
HUMAN_PART_IDS: Dict[str, int] = {
    **{name: 1 for name in ('hair', 'head', 'lear', 'rear', 'lebrow',
                            'rebrow', 'leye', 'reye', 'mouth', 'nose')},
    'torso': 2,
    'neck': 2,
    'luarm': 3,
    'ruarm': 3,
    **{name: 4 for name in ('llarm', 'rlarm', 'lhand', 'rhand')},
    'luleg': 5,
    'ruleg': 5,
    **{name: 6 for name in ('llleg', 'rlleg', 'lfoot', 'rfoot')},
}

#: Context classes (459-label ``LabelMap`` id -> name) on which the distilled
#: normals are kept: the Context names that are also NYUD-v2 object names
#: ('unknown' excluded), plus 'tvmonitor' (NYUD's 'television'); 170 ids.
NORMALS_VALID_CONTEXT_CLASSES: Dict[int, str] = {
    3: 'air conditioner', 4: 'antenna', 6: 'ashtray', 9: 'bag', 10: 'ball',
    11: 'balloon', 13: 'barrel', 15: 'basket', 17: 'bathtub', 18: 'bed',
    22: 'bench', 23: 'bicycle', 29: 'blackboard', 30: 'board', 33: 'book',
    34: 'bottle', 36: 'bowl', 37: 'box', 38: 'bracelet', 39: 'brick',
    41: 'broom', 43: 'bucket', 46: 'cabinet', 49: 'cake', 50: 'calculator',
    51: 'calendar', 53: 'camera', 55: 'can', 56: 'candle', 59: 'car',
    61: 'cart', 62: 'case', 65: 'cat', 66: 'cd', 68: 'ceiling',
    69: 'cell phone', 72: 'chair', 73: 'chessboard', 78: 'clock',
    83: 'coffee machine', 84: 'comb', 85: 'computer', 87: 'cone',
    88: 'container', 95: 'corkscrew', 96: 'counter', 101: 'crate',
    104: 'cup', 105: 'curtain', 107: 'cutting board', 111: 'dishwasher',
    113: 'dog', 115: 'door', 122: 'drum', 124: 'duck', 135: 'envelope',
    141: 'fan', 142: 'faucet', 143: 'fax machine', 146: 'fire extinguisher',
    150: 'fish tank', 154: 'flag', 157: 'flashlight', 158: 'floor',
    159: 'flower', 165: 'fork', 172: 'fruit', 174: 'furnace', 181: 'glass',
    183: 'globe', 184: 'glove', 191: 'guitar', 193: 'hammer', 195: 'handle',
    197: 'hanger', 199: 'hat', 202: 'heater', 213: 'ipod',
    215: 'ironing board', 216: 'jar', 219: 'key', 220: 'keyboard',
    223: 'knife', 225: 'ladder', 228: 'laptop', 230: 'lid', 232: 'light',
    233: 'light bulb', 238: 'lock', 239: 'machine', 242: 'map', 243: 'mask',
    246: 'mattress', 250: 'microphone', 251: 'microwave', 252: 'mirror',
    255: 'money', 260: 'mouse', 261: 'mouse pad', 263: 'napkin',
    269: 'oven', 272: 'pan', 273: 'paper', 275: 'paper cutter', 281: 'pen',
    283: 'pencil', 284: 'person', 285: 'photo', 286: 'piano',
    287: 'picture', 288: 'pig', 290: 'pillow', 291: 'pipe', 292: 'pitcher',
    293: 'plant', 295: 'plate', 304: 'pool table', 307: 'pot',
    309: 'printer', 310: 'projector', 314: 'radiator', 315: 'radio',
    319: 'range hood', 323: 'remote control', 329: 'rope', 330: 'rug',
    331: 'ruler', 336: 'scale', 342: 'sculpture', 345: 'sewing machine',
    349: 'shelves', 350: 'shoe', 351: 'shopping cart', 352: 'shovel',
    355: 'sign', 357: 'sink', 368: 'sofa', 370: 'spatula', 371: 'speaker',
    374: 'spoon', 379: 'stapler', 380: 'stick', 383: 'stool', 384: 'stove',
    397: 'table', 401: 'tape', 403: 'telephone', 405: 'tent',
    407: 'toaster', 408: 'toilet', 411: 'toothbrush', 412: 'towel',
    413: 'toy', 414: 'toy car', 417: 'trampoline', 419: 'tray',
    421: 'tricycle', 423: 'trophy', 427: 'tvmonitor', 429: 'typewriter',
    430: 'umbrella', 432: 'vacuum cleaner', 440: 'wall', 441: 'wallet',
    442: 'wardrobe', 443: 'washing machine', 444: 'watch',
    446: 'water dispenser', 454: 'window', 457: 'wire',
}

_PARTS_KEY = TASK_SPECS['parts'].pipeline_key
_PARTS_IGNORE = int(TASK_SPECS['parts'].ignore_value)


def _check_file(path: str) -> None:
    if not osp.isfile(path):
        raise FileNotFoundError(f'Annotation file not found: {path}')


def _load_mat(path: str) -> dict:
    _check_file(path)
    try:
        return scipy.io.loadmat(path)
    except Exception as err:  # scipy raises several types on bad files
        raise ValueError(f'Could not read MATLAB file {path}: {err}') from err


def load_label_png(path: str) -> np.ndarray:
    """Load an 8-bit label PNG, grayscale or palette (indices are kept).

    Args:
        path (str): Label PNG.

    Returns:
        np.ndarray: (H, W) uint8 labels.
    """
    _check_file(path)
    try:
        with Image.open(path) as img:
            mode = img.mode
            label = np.array(img)
    except Exception as err:
        raise ValueError(f'Could not decode label image {path}: {err}') \
            from err
    if mode not in ('L', 'P') or label.ndim != 2:
        raise ValueError(f'{path}: expected an 8-bit grayscale or palette '
                         f'label PNG, got PIL mode {mode!r} with shape '
                         f'{label.shape}.')
    return label.astype(np.uint8, copy=False)


def load_saliency(path: str) -> np.ndarray:
    """Load a distilled saliency PNG and binarise it at ``v / 255 > 0.5``.

    Args:
        path (str): 8-bit grayscale PNG.

    Returns:
        np.ndarray: (H, W) uint8 in {0, 1}.
    """
    _check_file(path)
    sal = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if sal is None:
        raise ValueError(f'Could not decode image file {path}; expected a '
                         'PNG readable by OpenCV.')
    if sal.ndim != 2 or sal.dtype != np.uint8:
        raise ValueError(f'{path}: expected an 8-bit single-channel saliency '
                         f'PNG, got shape {sal.shape} and dtype {sal.dtype}.')
    return (sal.astype(np.float32) / 255.0 > 0.5).astype(np.uint8)


def load_context_label_map(path: str) -> np.ndarray:
    """Read the 459-class PASCAL-Context ``LabelMap`` of a ``.mat`` file.

    Args:
        path (str): ``pascal-context/trainval/<id>.mat``.

    Returns:
        np.ndarray: (H, W) int64 Context class ids.
    """
    mat = _load_mat(path)
    if 'LabelMap' not in mat:
        keys = sorted(k for k in mat if not k.startswith('__'))
        raise KeyError(f'{path}: no field "LabelMap" (fields: {keys}).')
    label = np.asarray(mat['LabelMap'])
    if label.ndim != 2 or not np.issubdtype(label.dtype, np.number):
        raise ValueError(f'{path}: "LabelMap" must be a 2-D numeric array, '
                         f'got shape {label.shape} and dtype {label.dtype}.')
    return label.astype(np.int64)


# Neighbour weights of :func:`thin_binary`: bit k is neighbour x_{k+1},
# counter-clockwise from the east (x1 = E, x2 = NE, ..., x8 = SE).
_NEIGHBOUR_BITS = ((0, 1, 1), (-1, 1, 2), (-1, 0, 4), (-1, -1, 8),
                   (0, -1, 16), (1, -1, 32), (1, 0, 64), (1, 1, 128))


def _thinning_tables() -> Tuple[np.ndarray, np.ndarray]:
    """Deletion tables of the two sub-iterations of Guo & Hall (1989).

    Returns:
        tuple[np.ndarray, np.ndarray]: Two (256,) bool tables indexed by the
        8-neighbourhood code (see ``_NEIGHBOUR_BITS``).
    """
    first = np.zeros(256, bool)
    second = np.zeros(256, bool)
    for code in range(256):
        x = [bool(code >> k & 1) for k in range(8)]
        # C(p): number of 8-connected foreground runs around p must be 1.
        crossings = sum(not x[i] and (x[i + 1] or x[(i + 2) % 8])
                        for i in (0, 2, 4, 6))
        n1 = sum(x[k - 1] or x[k] for k in (1, 3, 5, 7))
        n2 = sum(x[k] or x[(k + 1) % 8] for k in (1, 3, 5, 7))
        removable = crossings == 1 and min(n1, n2) in (2, 3)
        # sub-iteration 1 keeps p when (x2 or x3 or not x8) and x1;
        # sub-iteration 2 is the 180-degree rotation of that rule.
        first[code] = removable and not ((x[1] or x[2] or not x[7]) and x[0])
        second[code] = removable and not ((x[5] or x[6] or not x[3])
                                          and x[4])
    return first, second


_THIN_TABLES = _thinning_tables()


def thin_binary(mask: np.ndarray) -> np.ndarray:
    """Thin a binary map to one-pixel-wide curves.

    Two-sub-iteration parallel thinning of Guo & Hall (1989), the algorithm
    of ``skimage.morphology.thin`` (pixels outside the image count as
    background), repeated until nothing changes.

    Args:
        mask (np.ndarray): (H, W) map; nonzero = foreground.

    Returns:
        np.ndarray: (H, W) bool thinned map.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f'thin_binary expects a 2-D map, got shape '
                         f'{mask.shape}.')
    skel = mask != 0
    h, w = skel.shape
    count = int(skel.sum())
    while True:
        for table in _THIN_TABLES:
            padded = np.pad(skel, 1).astype(np.uint8)
            code = np.zeros((h, w), np.uint8)
            for dy, dx, weight in _NEIGHBOUR_BITS:
                code += padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] * \
                    np.uint8(weight)
            skel = skel & ~table[code]
        new_count = int(skel.sum())
        if new_count == count:
            return skel
        count = new_count


def context_label_edges(label_map: np.ndarray) -> np.ndarray:
    """Boundary target of a Context label map.

    Pixels where the 3x3 Laplacian (OpenCV's default aperture and border)
    of the label map is nonzero, thinned with :func:`thin_binary`.

    Args:
        label_map (np.ndarray): (H, W) integer Context label map.

    Returns:
        np.ndarray: (H, W) uint8 in {0, 1}.
    """
    lap = cv2.Laplacian(np.asarray(label_map, np.float64), cv2.CV_64F)
    return thin_binary(np.abs(lap) > 0).astype(np.uint8)


def mask_normals(normals: np.ndarray, label_map: np.ndarray,
                 valid_classes: Sequence[int]) -> np.ndarray:
    """Zero the normals outside the whitelisted Context classes.

    Args:
        normals (np.ndarray): (H, W, 3) decoded normals.
        label_map (np.ndarray): (H, W) Context label map.
        valid_classes (Sequence[int]): Context ids whose normals are kept.

    Returns:
        np.ndarray: (H, W, 3) float32; invalid pixels are the zero vector.
    """
    keep = np.isin(label_map, np.asarray(list(valid_classes)))
    return np.where(keep[..., None], normals, 0).astype(np.float32)


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
    mat = _load_mat(path)
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


@TRANSFORMS.register_module()
class LoadPascalContextAnnotations(BaseTransform):
    """Load the PASCAL-Context multi-task targets of one sample.

    Required keys: ``ann_paths`` (dict task -> file, from
    :class:`PascalContextMultiTaskDataset`), ``context_label_path`` (the
    ``LabelMap`` ``.mat`` used to mask the normals) when normals are
    loaded, and ``img_shape`` (from ``LoadImageFromFile``). Added keys: the
    pipeline key of every task (``gt_seg_map``, ``gt_parts``,
    ``gt_saliency``, ``gt_normal``, ``gt_boundary``) and ``seg_fields``.

    ``ann_paths`` formats: semseg label PNG; parts ``anno`` ``.mat``;
    saliency PNG; normals PNG; boundary the Context ``LabelMap`` ``.mat``
    (the edge map is computed from it).

    Args:
        tasks (Sequence[str], optional): Tasks to load; default every task
            in ``ann_paths``. A task asked for but missing from
            ``ann_paths`` raises a KeyError.
        normals_valid_classes (Sequence[int], optional): Context ids whose
            normals are kept. Default :data:`NORMALS_VALID_CONTEXT_CLASSES`.
        num_classes (int): Semseg classes; a label other than 0 ..
            ``num_classes - 1`` and 255 raises a ValueError. Default 21.
    """

    SUPPORTED_TASKS = ('semseg', 'parts', 'saliency', 'normals', 'boundary')

    def __init__(self,
                 tasks: Optional[Sequence[str]] = None,
                 normals_valid_classes: Optional[Sequence[int]] = None,
                 num_classes: int = 21) -> None:
        self.tasks = None if tasks is None else self._check(
            tasks, 'LoadPascalContextAnnotations.tasks')
        self.num_classes = int(num_classes)
        if normals_valid_classes is None:
            normals_valid_classes = sorted(NORMALS_VALID_CONTEXT_CLASSES)
        self.normals_valid_classes = tuple(
            int(c) for c in normals_valid_classes)

    def _check(self, tasks, where: str):
        tasks = check_tasks(tasks, where)
        for task in tasks:
            if task not in self.SUPPORTED_TASKS:
                raise KeyError(f'Task {task!r} in `{where}` has no '
                               'PASCAL-Context annotation; supported: '
                               f'{list(self.SUPPORTED_TASKS)}.')
        return tasks

    def transform(self, results: Dict) -> Dict:
        ann_paths = results.get('ann_paths')
        if ann_paths is None:
            raise KeyError('LoadPascalContextAnnotations needs '
                           "results['ann_paths'] (dict task -> annotation "
                           'file) from the dataset.')
        tasks = self.tasks if self.tasks is not None else self._check(
            ann_paths, "results['ann_paths']")
        img_shape = results.get('img_shape')
        shape = None if img_shape is None else tuple(img_shape[:2])
        label_maps: Dict[str, np.ndarray] = {}

        def context_labels(path: str) -> np.ndarray:
            if path not in label_maps:
                label_maps[path] = load_context_label_map(path)
            return label_maps[path]

        for task in tasks:
            path = annotation_path(results, task)
            if task == 'semseg':
                target = load_label_png(path)
                bad = (target >= self.num_classes) & (target != 255)
                if bad.any():
                    raise ValueError(
                        f'{path}: semseg labels must be 0..'
                        f'{self.num_classes - 1} or 255, found '
                        f'{sorted(np.unique(target[bad]).tolist())}.')
            elif task == 'parts':
                target = load_human_parts(path, shape)
            elif task == 'saliency':
                target = load_saliency(path)
            elif task == 'boundary':
                target = context_label_edges(context_labels(path))
            else:  # normals
                label_path = results.get('context_label_path')
                if label_path is None:
                    raise KeyError(
                        'LoadPascalContextAnnotations needs '
                        "results['context_label_path'] (the LabelMap .mat) "
                        f"to mask the normals of {results.get('img_path')}.")
                normals = load_normals(path)
                labels = context_labels(label_path)
                if labels.shape != normals.shape[:2]:
                    raise ValueError(
                        f'Size mismatch: LabelMap of {label_path} is '
                        f'{labels.shape} but normals {path} are '
                        f'{normals.shape[:2]}.')
                target = mask_normals(normals, labels,
                                      self.normals_valid_classes)
            store_annotation(results, task, target, path)
        results['reduce_zero_label'] = False
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(tasks={self.tasks}, '
                f'normals_valid_classes=<{len(self.normals_valid_classes)} '
                f'ids>, num_classes={self.num_classes})')


@TRANSFORMS.register_module()
class IgnoreEmptyParts(BaseTransform):
    """Turn a human-parts map holding only background / ignore into ignore.

    The InvPT-family ``AddIgnoreRegions`` rule, applied after cropping: a
    crop without any part pixel (labels only 0 or 255) is entirely ignored,
    so part-less crops do not train the parts head on background only.
    Samples without ``gt_parts`` pass through unchanged.

    Args:
        ignore_index (int): Ignore label. Default 255.
    """

    def __init__(self, ignore_index: int = _PARTS_IGNORE) -> None:
        self.ignore_index = int(ignore_index)

    def transform(self, results: Dict) -> Dict:
        parts = results.get(_PARTS_KEY)
        if parts is None:
            return results
        if not np.any((parts != 0) & (parts != self.ignore_index)):
            results[_PARTS_KEY] = np.full_like(parts, self.ignore_index)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(ignore_index={self.ignore_index})'


__all__: Sequence[str] = [
    'HUMAN_PART_IDS', 'NORMALS_VALID_CONTEXT_CLASSES', 'PERSON_CLASS_IND',
    'IgnoreEmptyParts', 'LoadPascalContextAnnotations',
    'context_label_edges', 'load_context_label_map', 'load_human_parts',
    'load_label_png', 'load_saliency', 'mask_normals', 'thin_binary'
]
