"""Fixed settings of the SynthScenes generator and the checks of its arguments.

Classes and palette, the camera's field of view, the on-disk layout (the
NYUD-v2 multi-task sub-folders) and the texts ``meta.json`` records for
the depth and normals conventions. Bump :data:`GENERATOR_VERSION` whenever
the rendered bytes change.
"""
from typing import Dict, List, Tuple

import numpy as np

GENERATOR_VERSION = '1.0.0'

SYNTHSCENES_CLASSES: Tuple[str, ...] = (
    'wall', 'floor', 'ceiling', 'cabinet', 'table', 'bed', 'box', 'ball',
    'pillar', 'stool')

SYNTHSCENES_PALETTE: List[List[int]] = [
    [174, 199, 232], [152, 223, 138], [255, 187, 120], [31, 119, 180],
    [255, 127, 14], [214, 39, 40], [148, 103, 189], [188, 189, 34],
    [140, 86, 75], [23, 190, 207]]

#: Class ids of the room planes (not salient).
ROOM_CLASS_IDS: Tuple[int, ...] = (0, 1, 2)

#: Horizontal field of view of the camera in degrees.
HFOV_DEG = 60.0

#: Sub-folders of the NYUD-v2 multi-task layout and their file suffixes.
SYNTHSCENES_SUBDIRS: Dict[str, str] = {
    'images': '.png',
    'segmentation': '.png',
    'depth': '.npy',
    'normals': '.png',
    'edge': '.png',
    'saliency': '.png',
}

NORMALS_FRAME = ('camera frame: x right, y down, z forward (OpenCV); unit '
                 'vectors facing the camera; PNG v = round((n + 1) / 2 * '
                 '255), R=x, G=y, B=z')
DEPTH_DEFINITION = 'z-depth along the optical axis in metres, float32'

#: Class name -> id.
CLASS_ID = {name: i for i, name in enumerate(SYNTHSCENES_CLASSES)}


def check_seed(value, name: str) -> None:
    """Raise a ValueError unless ``value`` is a non-negative int."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < 0:
        raise ValueError(f'{name} must be a non-negative int, got {value!r}')


def check_size(height, width) -> None:
    """Raise a ValueError unless both sizes are ints >= 2."""
    for name, value in (('height', height), ('width', width)):
        if isinstance(value, bool) or not isinstance(
                value, (int, np.integer)) or value < 2:
            raise ValueError(f'{name} must be an int >= 2, got {value!r}')
