"""The SynthScenes pinhole camera: intrinsics and orientation.

OpenCV frame (x right, y down, z forward), horizontal field of view
:data:`~.settings.HFOV_DEG`, principal point at the image centre in
pixel-index coordinates.
"""
import math

import numpy as np

from .settings import HFOV_DEG, check_size


def camera_intrinsics(height: int, width: int) -> np.ndarray:
    """Pinhole intrinsics of a SynthScenes image.

    Args:
        height (int): Image height in pixels.
        width (int): Image width in pixels.

    Returns:
        np.ndarray: ``K`` (3, 3) float64 with ``fx = fy = (W / 2) /
        tan(HFOV / 2)`` and the principal point at the image centre
        ``((W - 1) / 2, (H - 1) / 2)`` in pixel-index coordinates.
    """
    check_size(height, width)
    f = (width / 2.0) / math.tan(math.radians(HFOV_DEG) / 2.0)
    return np.array([[f, 0.0, (width - 1) / 2.0],
                     [0.0, f, (height - 1) / 2.0],
                     [0.0, 0.0, 1.0]])


def camera_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Camera-to-world rotation (columns: right, down, forward)."""
    forward = np.array([math.sin(yaw) * math.cos(pitch),
                        math.cos(yaw) * math.cos(pitch), -math.sin(pitch)])
    right = np.array([math.cos(yaw), -math.sin(yaw), 0.0])
    down = np.cross(forward, right)
    c, s = math.cos(roll), math.sin(roll)
    right, down = c * right + s * down, -s * right + c * down
    return np.stack([right, down, forward], axis=1)
