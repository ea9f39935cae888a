"""Thinning of binary boundary maps: MATLAB ``bwmorph(., 'thin', Inf)``.

The passes of :func:`mmallnet.utils.dense_maps.thin_binary` (Guo & Hall,
1989; same tables, same result), re-run sparsely: each pass only
re-examines the pixels whose neighbourhood changed, which makes the 101
thinnings per image of the SEISM loop affordable. Images are handled
flat, zero-bordered (pixels outside the image are background).
"""
from typing import List, Optional

import numpy as np

from mmallnet.utils.dense_maps import NEIGHBOUR_BITS, THIN_TABLES


def thin_padded(img: np.ndarray, fg: np.ndarray, stride: int,
                scratch: Optional[np.ndarray] = None) -> None:
    """Thin, in place, a zero-bordered flat uint8 {0, 1} image.

    Args:
        img (np.ndarray): Flat uint8 (H + 2) x ``stride`` image whose
            border rows / columns are 0.
        fg (np.ndarray): Flat indices of its foreground pixels.
        stride (int): Row length ``W + 2``.
        scratch (np.ndarray, optional): Flat int64 array of ``img``'s size
            (any content) reused to drop duplicate indices.
    """
    if scratch is None:
        scratch = np.empty(img.size, dtype=np.int64)
    offsets = [dy * stride + dx for dy, dx, _ in NEIGHBOUR_BITS]
    bits = [np.uint8(bit) for _, _, bit in NEIGHBOUR_BITS]
    # pixels to (re-)examine with each sub-iteration's rule: all at first,
    # then only those next to a pixel deleted since their last examination
    pending: List[List[np.ndarray]] = [[fg], [fg]]
    sub = 0
    while pending[0] or pending[1]:
        cand = pending[sub]
        pending[sub] = []
        if len(cand) > 1:
            cand = np.concatenate(cand)
            # keep the first occurrence of each index (no sort)
            scratch[cand] = np.arange(cand.size)
            cand = cand[scratch[cand] == np.arange(cand.size)]
        else:
            cand = cand[0] if cand else fg[:0]
        cand = cand[img[cand] != 0]
        if not cand.size:
            sub = 1 - sub
            continue
        code = np.zeros(cand.size, dtype=np.uint8)
        for off, bit in zip(offsets, bits):
            code |= img[cand + off] * bit
        deleted = cand[THIN_TABLES[sub][code]]
        if deleted.size:
            img[deleted] = 0
            nbrs = np.concatenate([deleted + off for off in offsets])
            nbrs = nbrs[img[nbrs] != 0]
            if nbrs.size:
                pending[0].append(nbrs)
                pending[1].append(nbrs)
        sub = 1 - sub


def thin(mask: np.ndarray) -> np.ndarray:
    """Thin a binary map: MATLAB ``bwmorph(mask, 'thin', Inf)``.

    The same passes as :func:`mmallnet.utils.dense_maps.thin_binary` (the
    two-sub-iteration parallel thinning of Guo & Hall, 1989, described in
    Lam, Lee & Suen 1992 p. 879 and used by bwmorph and
    ``skimage.morphology.thin``; pixels outside the image are background;
    repeated until nothing changes), with an identical result; but each
    pass only re-examines the foreground pixels whose 3x3 neighbourhood
    changed since their last examination under that pass's rule (the
    others cannot change), which makes it much faster on sparse maps.

    Args:
        mask (np.ndarray): (H, W) map; nonzero = foreground.

    Returns:
        np.ndarray: (H, W) bool.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f'thin expects a 2-D map, got shape {mask.shape}.')
    h, w = mask.shape
    img = np.zeros((h + 2, w + 2), dtype=np.uint8)
    img[1:-1, 1:-1] = mask != 0
    flat = img.ravel()
    thin_padded(flat, np.flatnonzero(flat), w + 2)
    return img[1:-1, 1:-1].astype(bool)
