"""Readers of the PASCAL-Context label and saliency PNGs.

- semseg: ``semseg/VOC12/<id>.png`` (or ``semseg/pascal-context/<id>.png``),
  an 8-bit label PNG (grayscale or palette indices), 0 = background,
  1..20 = VOC classes, 255 = ignore (:func:`load_label_png`);
- saliency: ``sal_distill/<id>.png``, ``v / 255 > 0.5`` -> 1
  (:func:`load_saliency`).

A missing file raises a FileNotFoundError naming it; an unreadable
(e.g. truncated) or malformed one an
:class:`~mmallnet.utils.dense_maps.AnnotationError` naming it.
"""
import os.path as osp

import cv2
import numpy as np
from PIL import Image

from mmallnet.utils.dense_maps import AnnotationError

from ...annotation_checks import read_image_file


def _check_file(path: str) -> None:
    if not osp.isfile(path):
        raise FileNotFoundError(f'Annotation file not found: {path}')


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
    except Exception as err:  # PIL raises several types on bad files
        raise AnnotationError(
            path, f'Could not decode label image ({type(err).__name__}: '
            f'{err}); expected a complete 8-bit label PNG.') from err
    if mode not in ('L', 'P') or label.ndim != 2:
        raise AnnotationError(
            path, 'expected an 8-bit grayscale or palette label PNG, got '
            f'PIL mode {mode!r} with shape {label.shape}.')
    return label.astype(np.uint8, copy=False)


def load_saliency(path: str) -> np.ndarray:
    """Load a distilled saliency PNG and binarise it at ``v / 255 > 0.5``.

    Args:
        path (str): 8-bit grayscale PNG.

    Returns:
        np.ndarray: (H, W) uint8 in {0, 1}.
    """
    sal = read_image_file(path, cv2.IMREAD_UNCHANGED,
                          'an 8-bit single-channel saliency PNG')
    if sal.ndim != 2 or sal.dtype != np.uint8:
        raise AnnotationError(
            path, 'expected an 8-bit single-channel saliency PNG, got shape '
            f'{sal.shape} and dtype {sal.dtype}.')
    return (sal.astype(np.float32) / 255.0 > 0.5).astype(np.uint8)
