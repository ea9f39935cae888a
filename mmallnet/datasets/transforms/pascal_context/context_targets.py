"""Targets derived from the PASCAL-Context ``LabelMap``.

- boundary: nonzero 3x3 Laplacian of the ``LabelMap``, thinned to one
  pixel (:func:`context_label_edges`);
- normals: the distilled normals are kept only where the Context label is
  in :data:`~.classes.NORMALS_VALID_CONTEXT_CLASSES`, elsewhere the zero
  vector (invalid) (:func:`mask_normals`).
"""
from typing import Sequence

import cv2
import numpy as np

from mmallnet.utils.dense_maps import thin_binary


def context_label_edges(label_map: np.ndarray) -> np.ndarray:
    """Boundary target of a Context label map.

    Pixels where the 3x3 Laplacian (OpenCV's default aperture and border)
    of the label map is nonzero, thinned with
    :func:`~mmallnet.utils.dense_maps.thin_binary`.

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
