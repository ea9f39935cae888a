"""Ground truth as SEISM scores it: the thinned ``seg2bmap`` of a label map.

SEISM reads NYUD's binary ``edge/<id>.png`` and PASCAL-Context's
``LabelMap`` alike as label maps, converts them with the BSDS
``seg2bmap`` (:func:`seg2bmap`) and thins the result (:func:`thin`), as
``edgesEvalImg`` does (:func:`prepare_boundary_gt`).
"""
from typing import Optional

import numpy as np

from ..utils import ArrayLike
from .io import as_map
from .thinning import thin


def seg2bmap(label_map: ArrayLike) -> np.ndarray:
    """Boundary map of a segmentation (BSDS / SEISM ``seg2bmap``).

    A pixel is a boundary pixel if its label differs from its right, lower
    or lower-right neighbour (boundaries sit half a pixel towards the
    origin). Last row: only the right neighbour counts; last column: only
    the lower neighbour; the bottom-right pixel is never a boundary.

    Args:
        label_map (ArrayLike): (H, W) or (1, H, W) labels.

    Returns:
        np.ndarray: (H, W) bool.
    """
    seg = as_map(label_map, 'seg2bmap label map')
    right = np.zeros_like(seg)
    below = np.zeros_like(seg)
    diag = np.zeros_like(seg)
    right[:, :-1] = seg[:, 1:]
    below[:-1, :] = seg[1:, :]
    diag[:-1, :-1] = seg[1:, 1:]
    bmap = (seg != right) | (seg != below) | (seg != diag)
    bmap[-1, :] = seg[-1, :] != right[-1, :]
    bmap[:, -1] = seg[:, -1] != below[:, -1]
    bmap[-1, -1] = False
    return bmap


def prepare_boundary_gt(gt: ArrayLike,
                        gt_format: str = 'label',
                        ignore_index: Optional[float] = None) -> np.ndarray:
    """SEISM ground truth: thinned ``seg2bmap`` of a label map.

    Args:
        gt (ArrayLike): (H, W) or (1, H, W) ground truth.
        gt_format (str): ``'label'``: a label map (PASCAL-Context
            ``LabelMap``; NYUD's binary ``edge`` map, which SEISM also
            reads as labels), converted with :func:`seg2bmap` then
            thinned, as SEISM's ``edgesEvalImg`` does. ``'boundary'``: a
            boundary map already (nonzero = boundary), only thinned.
        ignore_index (float, optional): Pixels with this value are set to
            0 first (e.g. 255 padding of ``gt_boundary``; 0 = background
            in the boundary targets).

    Returns:
        np.ndarray: (H, W) bool thinned boundary map.
    """
    gt = as_map(gt, 'boundary ground truth')
    if ignore_index is not None:
        gt = np.where(gt == ignore_index, 0, gt)
    if gt_format == 'label':
        return thin(seg2bmap(gt))
    if gt_format == 'boundary':
        return thin(gt != 0)
    raise ValueError(f"gt_format must be 'label' or 'boundary', got "
                     f'{gt_format!r}.')
