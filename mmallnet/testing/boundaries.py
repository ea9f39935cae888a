"""Boundary predictions and ground truths for the SEISM tests.

:func:`two_region_label` is a label map whose boundary is a rectangle,
:func:`synthetic_boundary_pair` a random label map with a plausible
boundary probability for it (blurred true boundaries, a false line and
noise), :func:`boundary_sample` a data sample (as a dict) holding both, as
:class:`~mmallnet.evaluation.BoundarySEISMMetric` receives it.
"""
from typing import Tuple

import cv2
import numpy as np
import torch
from mmengine.structures import PixelData
from scipy import ndimage

from mmallnet.evaluation.functional.seism import seg2bmap
from mmallnet.structures import MultiTaskDataSample


def two_region_label(h: int = 40,
                     w: int = 50,
                     top: int = 8,
                     left: int = 10,
                     bottom: int = 30,
                     right: int = 38) -> np.ndarray:
    """A label map: one rectangle (label 2) on a background (label 1)."""
    label = np.ones((h, w), np.int64)
    label[top:bottom, left:right] = 2
    return label


def synthetic_boundary_pair(seed: int,
                            h: int = 48,
                            w: int = 64) -> Tuple[np.ndarray, np.ndarray]:
    """A label map and a plausible boundary probability for it.

    Returns:
        tuple[np.ndarray, np.ndarray]: (H, W) float32 probability and
        (H, W) int32 label map (0 background, ellipses 1..3).
    """
    rng = np.random.default_rng(seed)
    label = np.zeros((h, w), np.int32)
    for k in range(1, 4):
        cy, cx = rng.integers(10, h - 10), rng.integers(10, w - 10)
        ry, rx = rng.integers(5, 14), rng.integers(5, 18)
        cv2.ellipse(label, (int(cx), int(cy)), (int(rx), int(ry)),
                    float(rng.uniform(0, 180)), 0, 360, k, -1)
    dist = ndimage.distance_transform_edt(~seg2bmap(label))
    prob = np.exp(-dist**2 / 3.0) * rng.uniform(0.4, 1.0)
    cv2.line(prob, (0, int(rng.integers(0, h))), (w - 1, int(rng.integers(
        0, h))), float(rng.uniform(0.2, 0.6)), 1)
    prob = np.clip(prob + rng.uniform(0, 0.03, (h, w)), 0, 1)
    return prob.astype(np.float32), label


def boundary_sample(pred: np.ndarray,
                    gt: np.ndarray,
                    img_id: str,
                    degradation_type: str = 'clean') -> dict:
    """A data sample dict with ``pred_boundary``, ``gt_boundary`` and the
    ``img_id`` / ``degradation_type`` metainfo."""
    sample = MultiTaskDataSample()
    sample.set_metainfo(dict(img_id=img_id,
                             degradation_type=degradation_type))
    sample.pred_boundary = PixelData(data=torch.as_tensor(pred)[None])
    sample.gt_boundary = PixelData(
        data=torch.as_tensor(np.asarray(gt, np.float32))[None])
    return sample.to_dict()
