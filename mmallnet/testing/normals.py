"""Random surface normals in the 8-bit PNG code of the NYUD-v2 layout."""
from typing import Tuple

import numpy as np

from mmallnet.utils.dense_maps import decode_normals, encode_normals


def random_normals_png(rng: np.random.Generator,
                       shape: Tuple[int, int]) -> np.ndarray:
    """Random unit normals coded as ``round((n + 1) / 2 * 255)``.

    Draws random RGB bytes (one ``rng.integers`` call, as for a random
    image) and codes the unit vector each one decodes to, so the map passes
    the loaders' normals check. No byte decodes to the zero vector, so
    every pixel is valid.

    Args:
        rng (np.random.Generator): Generator.
        shape (tuple[int, int]): ``(H, W)``.

    Returns:
        np.ndarray: (H, W, 3) uint8, channels R, G, B = x, y, z.
    """
    n = decode_normals(rng.integers(0, 256, tuple(shape) + (3, ),
                                    dtype=np.uint8))
    return encode_normals(n / np.linalg.norm(n, axis=-1, keepdims=True))
