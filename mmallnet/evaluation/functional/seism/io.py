"""Boundary predictions as SEISM reads them: uint8 PNG values, float32 maps.

A prediction is a probability map, (H, W) or (1, H, W), numpy or torch.
SEISM reads one uint8 PNG per image and scores ``E = q / 255`` in single
precision (MATLAB ``im2single(imread(.))``); :func:`quantize_boundary`
gives ``q`` (``round(255 p)`` by default, ``floor`` as InvPT writes it)
and :func:`prepare_boundary_prediction` the map ``E``.
"""
import os
import os.path as osp
from typing import Optional

import cv2
import numpy as np

from ..utils import ArrayLike, to_label_map


def as_map(x: ArrayLike, name: str) -> np.ndarray:
    """(H, W) numpy array from a (H, W) or (1, H, W) array / tensor."""
    return to_label_map(x, name, shapes='(H, W) or (1, H, W)')


def quantize_boundary(pred: ArrayLike, rounding: str = 'round') -> np.ndarray:
    """The uint8 map of a boundary probability, as stored in a PNG.

    Args:
        pred (ArrayLike): Probability map, (H, W) or (1, H, W); clipped to
            [0, 1].
        rounding (str): ``'round'`` (``round(255 p)``, half to even, the
            default) or ``'floor'`` (``floor(255 p)``, the truncating cast
            of InvPT's ``test_utils``).

    Returns:
        np.ndarray: (H, W) uint8.
    """
    p = np.clip(as_map(pred, 'boundary prediction').astype(np.float64), 0,
                1) * 255
    if rounding == 'round':
        q = np.round(p)
    elif rounding == 'floor':
        q = np.floor(p)
    else:
        raise ValueError(f"rounding must be 'round' or 'floor', got "
                         f'{rounding!r}.')
    return q.astype(np.uint8)


def prepare_boundary_prediction(pred: ArrayLike,
                                quantize: Optional[str] = 'round'
                                ) -> np.ndarray:
    """The float32 edge map SEISM would see.

    Args:
        pred (ArrayLike): Probability map (H, W) / (1, H, W), or an uint8
            map (taken as PNG values).
        quantize (str, optional): ``'round'`` / ``'floor'``: go through the
            uint8 PNG values (:func:`quantize_boundary`), then ``q / 255``
            in float32 (MATLAB ``im2single``). None: use the values as
            float32. Ignored for uint8 input.

    Returns:
        np.ndarray: (H, W) float32.
    """
    pred = as_map(pred, 'boundary prediction')
    if pred.dtype == np.uint8:
        q = pred
    elif quantize is None:
        return np.ascontiguousarray(pred, dtype=np.float32)
    else:
        q = quantize_boundary(pred, quantize)
    return q.astype(np.float32) / np.float32(255)


def write_boundary_png(pred: ArrayLike,
                       path: str,
                       rounding: str = 'round') -> None:
    """Write a boundary probability as the uint8 PNG SEISM reads.

    Args:
        pred (ArrayLike): Probability map, (H, W) or (1, H, W).
        path (str): Output file, normally ``<dir>/<id>.png``.
        rounding (str): See :func:`quantize_boundary`. Default 'round'.
    """
    folder = osp.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    if not cv2.imwrite(path, quantize_boundary(pred, rounding)):
        raise OSError(f'Could not write boundary PNG {path}.')


def read_boundary_png(path: str) -> np.ndarray:
    """Read a boundary PNG written by :func:`write_boundary_png`.

    Returns:
        np.ndarray: (H, W) uint8.
    """
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise OSError(f'Could not read boundary PNG {path}.')
    if img.ndim != 2 or img.dtype != np.uint8:
        raise ValueError(f'{path}: expected a single-channel uint8 PNG, got '
                         f'shape {img.shape} and dtype {img.dtype}.')
    return img
