"""Helpers shared by the per-task metric files: inputs and exact pooling.

Inputs are numpy arrays or torch tensors, converted on the CPU; a dense
map is (H, W) or (1, H, W). Pooling is order independent: integer
statistics are summed in int64, float statistics with :func:`math.fsum`
(exactly rounded), so any split of the images over processes gives the
same result bit for bit.
"""
import math
from typing import Dict, Iterable, Sequence, Tuple, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]
Stats = Dict[str, np.ndarray]


def to_numpy(x: ArrayLike, dtype=None) -> np.ndarray:
    """Convert a tensor or array to a numpy array (on the CPU)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    return x if dtype is None else x.astype(dtype, copy=False)


def to_label_map(x: ArrayLike,
                 name: str = 'label map',
                 shapes: str = '(1, H, W) or (H, W)') -> np.ndarray:
    """Return a (H, W) array from a (H, W) or (1, H, W) map.

    Args:
        x (ArrayLike): The map.
        name (str): What it is, for the error message.
        shapes (str): The accepted shapes as the error message names them.

    Raises:
        ValueError: If the map has another shape.
    """
    x = to_numpy(x)
    if x.ndim == 3 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 2:
        raise ValueError(f'{name}: expected a {shapes} map, got shape '
                         f'{tuple(x.shape)}.')
    return x


def fsum(values: Iterable[float]) -> float:
    """Exactly rounded sum of scalars."""
    return math.fsum(float(v) for v in values)


def sum_int(stats_list: Sequence[Stats], key: str) -> np.ndarray:
    """Element-wise int64 sum of ``key`` over the per-image statistics."""
    return np.sum(
        np.stack([np.asarray(s[key], dtype=np.int64) for s in stats_list]),
        axis=0)


def sum_float(stats_list: Sequence[Stats], key: str) -> np.ndarray:
    """Exactly rounded element-wise sum (order independent)."""
    arr = np.stack([np.asarray(s[key], dtype=np.float64) for s in stats_list])
    flat = arr.reshape(len(stats_list), -1)
    out = np.array([math.fsum(col) for col in flat.T], dtype=np.float64)
    return out.reshape(arr.shape[1:])


def count_at_least(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Number of ``values >= t`` for every threshold ``t``."""
    values = np.sort(values.ravel())
    return (values.size -
            np.searchsorted(values, thresholds, side='left')).astype(np.int64)


def check_binary(gt: np.ndarray, ignore_index: float, name: str) -> None:
    """Raise a ValueError unless ``gt`` holds only 0, 1 and ignore."""
    ok = (gt == 0) | (gt == 1) | (gt == ignore_index)
    if not ok.all():
        bad = np.unique(gt[~ok])[:5].tolist()
        raise ValueError(f'{name}: ground truth must be 0, 1 or '
                         f'{ignore_index} (ignore), found {bad}.')


def check_prob(pred: np.ndarray, name: str) -> None:
    """Raise a ValueError unless ``pred`` lies in [0, 1]."""
    if pred.size and not (pred.min() >= 0 and pred.max() <= 1):
        raise ValueError(f'{name}: prediction must be a probability in '
                         f'[0, 1], found values in [{pred.min()}, '
                         f'{pred.max()}].')


def binary_task_inputs(pred: ArrayLike, gt: ArrayLike,
                       thresholds: Sequence[float], ignore_index: float,
                       name: str) -> Tuple[np.ndarray, ...]:
    """Checked inputs of a binary task (boundary proxy, saliency).

    Args:
        pred (ArrayLike): Probability in [0, 1], (H, W) or (1, H, W).
        gt (ArrayLike): Ground truth in {0, 1, ignore_index}.
        thresholds (Sequence[float]): Thresholds.
        ignore_index (float): Ignored ground-truth value.
        name (str): Task name used in error messages.

    Returns:
        tuple[np.ndarray, ...]: ``pred`` (float64), ``gt``, ``thresholds``
        (float64) and ``valid`` (the pixels whose ground truth is not
        ignored).
    """
    pred = to_label_map(pred, f'{name} prediction').astype(np.float64)
    gt = to_label_map(gt, f'{name} ground truth')
    thresholds = np.asarray(thresholds, dtype=np.float64)
    check_binary(gt, ignore_index, name)
    valid = gt != ignore_index
    check_prob(pred[valid], name)
    return pred, gt, thresholds, valid
