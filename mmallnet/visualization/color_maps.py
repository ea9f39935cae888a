"""Pure functions turning dense task maps into RGB ``uint8`` pictures.

Every function takes plain numpy arrays (channel-last where there are
channels) and returns an ``(H, W, 3)`` ``uint8`` RGB array. Invalid or
ignored pixels are drawn black.
"""
import colorsys
import math
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

#: Tolerance for probabilities slightly outside [0, 1] (rounding).
PROB_TOLERANCE = 1e-4


def generate_palette(num_classes: int) -> np.ndarray:
    """Generate a deterministic palette of distinct, non-black colours.

    Hues step by the golden ratio so neighbouring labels differ strongly;
    saturation and value alternate to separate colours of similar hue.

    Args:
        num_classes (int): Number of colours.

    Returns:
        np.ndarray: ``(num_classes, 3)`` ``uint8`` RGB palette.
    """
    if num_classes < 0:
        raise ValueError(f'num_classes must be >= 0, got {num_classes}.')
    golden = (math.sqrt(5) - 1) / 2
    colors = []
    for i in range(num_classes):
        hue = (0.05 + i * golden) % 1.0
        saturation = (0.85, 0.6, 0.95)[i % 3]
        value = (0.95, 0.75)[(i // 3) % 2]
        rgb = colorsys.hsv_to_rgb(hue, saturation, value)
        colors.append([round(c * 255) for c in rgb])
    return np.array(colors, dtype=np.uint8).reshape(num_classes, 3)


def label_to_rgb(label: np.ndarray,
                 palette: Sequence[Sequence[int]],
                 ignore_index: int = 255) -> np.ndarray:
    """Colour a label map with a palette.

    Args:
        label (np.ndarray): ``(H, W)`` integer label map.
        palette (Sequence[Sequence[int]]): RGB colour of each class.
        ignore_index (int): Label drawn black. Defaults to 255.

    Returns:
        np.ndarray: ``(H, W, 3)`` ``uint8`` RGB picture.

    Raises:
        ValueError: If the map is not 2-D, holds non-integer values, or a
            label other than ``ignore_index`` has no palette colour.
    """
    label = np.asarray(label)
    if label.ndim != 2:
        raise ValueError(f'label map must be (H, W), got shape '
                         f'{label.shape}.')
    if label.dtype.kind == 'f':
        if not np.all(np.isfinite(label)) or np.any(label != np.round(label)):
            raise ValueError('label map must hold integer labels, got '
                             'non-integer float values.')
    elif label.dtype.kind not in 'iub':
        raise ValueError(f'label map must be integer, got {label.dtype}.')
    label = label.astype(np.int64)
    palette = np.asarray(palette, dtype=np.int64).reshape(-1, 3)
    if np.any((palette < 0) | (palette > 255)):
        raise ValueError('palette colours must lie in [0, 255].')
    valid = label != ignore_index
    bad = valid & ((label < 0) | (label >= len(palette)))
    if np.any(bad):
        raise ValueError(
            f'labels {sorted(np.unique(label[bad]).tolist())} have no '
            f'colour in a palette of {len(palette)} entries (ignore index '
            f'{ignore_index}).')
    out = np.zeros(label.shape + (3, ), dtype=np.uint8)
    out[valid] = palette[label[valid]].astype(np.uint8)
    return out


def depth_value_range(*depths: np.ndarray) -> Optional[Tuple[float, float]]:
    """Shared ``(min, max)`` of several depth maps over their valid pixels.

    A depth pixel is valid when it is finite and ``> 0``.

    Args:
        *depths (np.ndarray): Depth maps of any shape.

    Returns:
        tuple[float, float] | None: The range, or ``None`` when no map has
        a valid pixel.
    """
    lows, highs = [], []
    for depth in depths:
        depth = np.asarray(depth, dtype=np.float64)
        values = depth[np.isfinite(depth) & (depth > 0)]
        if values.size:
            lows.append(values.min())
            highs.append(values.max())
    if not lows:
        return None
    return float(min(lows)), float(max(highs))


def depth_to_rgb(depth: np.ndarray,
                 value_range: Optional[Tuple[float, float]] = None,
                 colormap: int = cv2.COLORMAP_TURBO) -> np.ndarray:
    """Colour a depth map; invalid pixels (``<= 0`` or non-finite) black.

    Args:
        depth (np.ndarray): ``(H, W)`` depth in metres.
        value_range (tuple[float, float], optional): ``(min, max)`` mapped
            to the two ends of the colormap; values outside are clipped.
            Pass the range of ``depth_value_range(pred, gt)`` so that
            prediction and ground truth share colours. Defaults to the
            range of this map's valid pixels.
        colormap (int): OpenCV colormap id. Defaults to
            ``cv2.COLORMAP_TURBO`` (no black at either end).

    Returns:
        np.ndarray: ``(H, W, 3)`` ``uint8`` RGB picture.
    """
    depth = np.asarray(depth, dtype=np.float64)
    if depth.ndim != 2:
        raise ValueError(f'depth map must be (H, W), got shape '
                         f'{depth.shape}.')
    valid = np.isfinite(depth) & (depth > 0)
    if value_range is None:
        value_range = depth_value_range(depth)
    out = np.zeros(depth.shape + (3, ), dtype=np.uint8)
    if value_range is None:
        return out
    low, high = value_range
    if not high >= low:
        raise ValueError(f'depth value_range must satisfy min <= max, got '
                         f'{value_range}.')
    scale = 255.0 / (high - low) if high > low else 0.0
    level = np.zeros(depth.shape, dtype=np.float64)
    level[valid] = (np.clip(depth[valid], low, high) - low) * scale
    level = np.round(level).astype(np.uint8)
    colored = cv2.applyColorMap(level, colormap)[..., ::-1]
    out[valid] = colored[valid]
    return out


def normal_to_rgb(normal: np.ndarray) -> np.ndarray:
    """Colour surface normals as ``(n + 1) / 2`` RGB.

    ``x, y, z`` go to ``R, G, B``; components are clipped to [-1, 1]. Zero
    vectors and non-finite vectors (invalid) are drawn black.

    Args:
        normal (np.ndarray): ``(H, W, 3)`` normals.

    Returns:
        np.ndarray: ``(H, W, 3)`` ``uint8`` RGB picture.
    """
    normal = np.asarray(normal, dtype=np.float64)
    if normal.ndim != 3 or normal.shape[-1] != 3:
        raise ValueError(f'normal map must be (H, W, 3), got shape '
                         f'{normal.shape}.')
    valid = np.all(np.isfinite(normal), axis=-1) & np.any(
        normal != 0, axis=-1)
    rgb = np.round((np.clip(np.nan_to_num(normal), -1, 1) + 1) / 2 * 255)
    out = rgb.astype(np.uint8)
    out[~valid] = 0
    return out


def prob_to_gray(prob: np.ndarray, ignore_index: float = 255) -> np.ndarray:
    """Draw a probability (or binary) map in grayscale.

    Args:
        prob (np.ndarray): ``(H, W)`` values in [0, 1].
        ignore_index (float): Value drawn black. Defaults to 255.

    Returns:
        np.ndarray: ``(H, W, 3)`` ``uint8`` RGB picture, 0 black, 1 white.

    Raises:
        ValueError: If a value other than ``ignore_index`` lies outside
            [0, 1] or is not finite.
    """
    prob = np.asarray(prob, dtype=np.float64)
    if prob.ndim != 2:
        raise ValueError(f'probability map must be (H, W), got shape '
                         f'{prob.shape}.')
    valid = prob != ignore_index
    values = prob[valid]
    if values.size and (not np.all(np.isfinite(values))
                        or values.min() < -PROB_TOLERANCE
                        or values.max() > 1 + PROB_TOLERANCE):
        raise ValueError(
            f'probability map values must lie in [0, 1] (or equal the '
            f'ignore index {ignore_index}), got range '
            f'[{values.min()}, {values.max()}].')
    gray = np.zeros(prob.shape, dtype=np.uint8)
    gray[valid] = np.round(np.clip(values, 0, 1) * 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=-1)


def image_to_uint8(image: np.ndarray) -> np.ndarray:
    """Turn an ``(H, W, 3)`` float image in [0, 1] into ``uint8``.

    Args:
        image (np.ndarray): Float image, values clipped to [0, 1].

    Returns:
        np.ndarray: ``(H, W, 3)`` ``uint8`` image, same channel order.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f'image must be (H, W, 3), got shape '
                         f'{image.shape}.')
    image = np.nan_to_num(image)
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
