"""Dense-map formats and operations shared by datasets and evaluation.

The low-level layer that :mod:`mmallnet.datasets` (building targets) and
:mod:`mmallnet.evaluation` (scoring and writing predictions) both import,
so that neither imports the other. It holds:

- binary thinning (:func:`thin_binary`): the two-sub-iteration parallel
  thinning of Guo & Hall (1989), the algorithm of MATLAB's
  ``bwmorph(., 'thin', Inf)`` and ``skimage.morphology.thin``, with its
  deletion tables (:data:`THIN_TABLES`) and neighbour bit order
  (:data:`NEIGHBOUR_BITS`), which the sparse SEISM thinning reuses;
- the normals PNG code of the NYUD-v2 layout (:func:`encode_normals`,
  :func:`decode_normals`): channels R, G, B = x, y, z,
  ``v = round((n + 1) / 2 * 255)`` and ``n = 2 v / 255 - 1``;
- MATLAB ``.mat`` reading (:func:`load_mat`) and the 459-class
  PASCAL-Context ``LabelMap`` (:func:`load_context_label_map`), the ground
  truth of both the boundary target and SEISM;
- :class:`AnnotationError`, raised by every reader of an annotation file
  that does not hold what its format says, and :func:`sample_context`,
  which adds the sample id to such an error.

Maps are numpy arrays, (H, W) or (H, W, C); nothing here registers
anything.
"""
import os.path as osp
from contextlib import contextmanager
from typing import Iterator, Optional, Tuple

import numpy as np
import scipy.io

#: Neighbour offsets (dy, dx) and code weights of the thinning: bit k is
#: neighbour x_{k+1}, counter-clockwise from the east (x1 = E, x2 = NE, ...,
#: x8 = SE).
NEIGHBOUR_BITS: Tuple[Tuple[int, int, int], ...] = (
    (0, 1, 1), (-1, 1, 2), (-1, 0, 4), (-1, -1, 8), (0, -1, 16), (1, -1, 32),
    (1, 0, 64), (1, 1, 128))


def thinning_tables() -> Tuple[np.ndarray, np.ndarray]:
    """Deletion tables of the two sub-iterations of Guo & Hall (1989).

    Returns:
        tuple[np.ndarray, np.ndarray]: Two (256,) bool tables indexed by the
        8-neighbourhood code (see :data:`NEIGHBOUR_BITS`).
    """
    first = np.zeros(256, bool)
    second = np.zeros(256, bool)
    for code in range(256):
        x = [bool(code >> k & 1) for k in range(8)]
        # C(p): number of 8-connected foreground runs around p must be 1.
        crossings = sum(not x[i] and (x[i + 1] or x[(i + 2) % 8])
                        for i in (0, 2, 4, 6))
        n1 = sum(x[k - 1] or x[k] for k in (1, 3, 5, 7))
        n2 = sum(x[k] or x[(k + 1) % 8] for k in (1, 3, 5, 7))
        removable = crossings == 1 and min(n1, n2) in (2, 3)
        # sub-iteration 1 keeps p when (x2 or x3 or not x8) and x1;
        # sub-iteration 2 is the 180-degree rotation of that rule.
        first[code] = removable and not ((x[1] or x[2] or not x[7]) and x[0])
        second[code] = removable and not ((x[5] or x[6] or not x[3])
                                          and x[4])
    return first, second


#: The tables of :func:`thinning_tables`, one per sub-iteration.
THIN_TABLES: Tuple[np.ndarray, np.ndarray] = thinning_tables()


def thin_binary(mask: np.ndarray) -> np.ndarray:
    """Thin a binary map to one-pixel-wide curves.

    Two-sub-iteration parallel thinning of Guo & Hall (1989), the algorithm
    of ``skimage.morphology.thin`` (pixels outside the image count as
    background), repeated until nothing changes.

    Args:
        mask (np.ndarray): (H, W) map; nonzero = foreground.

    Returns:
        np.ndarray: (H, W) bool thinned map.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f'thin_binary expects a 2-D map, got shape '
                         f'{mask.shape}.')
    skel = mask != 0
    h, w = skel.shape
    count = int(skel.sum())
    while True:
        for table in THIN_TABLES:
            padded = np.pad(skel, 1).astype(np.uint8)
            code = np.zeros((h, w), np.uint8)
            for dy, dx, weight in NEIGHBOUR_BITS:
                code += padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] * \
                    np.uint8(weight)
            skel = skel & ~table[code]
        new_count = int(skel.sum())
        if new_count == count:
            return skel
        count = new_count


def encode_normals(normals: np.ndarray) -> np.ndarray:
    """Encode unit normals as the NYUD uint8 RGB map.

    Args:
        normals (np.ndarray): (H, W, 3) float normals in [-1, 1].

    Returns:
        np.ndarray: (H, W, 3) uint8, ``round((n + 1) / 2 * 255)``; decode
        with :func:`decode_normals`.
    """
    return np.round((np.clip(normals, -1, 1) + 1) / 2 * 255).astype(np.uint8)


def decode_normals(rgb: np.ndarray) -> np.ndarray:
    """Decode the NYUD uint8 RGB normals map: ``n = 2 v / 255 - 1``.

    Args:
        rgb (np.ndarray): (H, W, 3) uint8 values, channels R, G, B = x, y,
            z (as :func:`encode_normals` writes them).

    Returns:
        np.ndarray: (H, W, 3) float32 (not re-normalised).
    """
    return np.asarray(rgb).astype(np.float32) * (2.0 / 255.0) - 1.0


class AnnotationError(ValueError):
    """An annotation file that does not hold what its format expects.

    The message reads ``<path> (sample '<id>'): <detail>``. Called with a
    single argument, that argument is the whole message (so the error
    survives pickling and DataLoader workers).

    Args:
        path (str): The file.
        detail (str, optional): What is wrong and what was expected.
        sample_id (str, optional): The sample whose file it is.
    """

    def __init__(self,
                 path: str,
                 detail: Optional[str] = None,
                 sample_id: Optional[str] = None) -> None:
        self.path = path
        self.detail = detail
        self.sample_id = sample_id
        super().__init__(self._message())

    def _message(self) -> str:
        if self.detail is None:
            return str(self.path)
        where = self.path
        if self.sample_id is not None:
            where = f'{where} (sample {self.sample_id!r})'
        return f'{where}: {self.detail}'

    def set_sample_id(self, sample_id: str) -> None:
        """Name the sample in the message, unless one is named already.

        Args:
            sample_id (str): The sample id.
        """
        if self.detail is None or self.sample_id is not None:
            return
        self.sample_id = sample_id
        self.args = (self._message(), )


@contextmanager
def sample_context(sample_id: Optional[str]) -> Iterator[None]:
    """Add ``sample_id`` to an :class:`AnnotationError` raised inside.

    Args:
        sample_id (str, optional): The sample being loaded; None adds
            nothing.
    """
    try:
        yield
    except AnnotationError as err:
        if sample_id is not None:
            err.set_sample_id(str(sample_id))
        raise


def load_mat(path: str) -> dict:
    """Read a MATLAB ``.mat`` file with :func:`scipy.io.loadmat`.

    Args:
        path (str): The file.

    Returns:
        dict: Variable name -> value.

    Raises:
        FileNotFoundError: The file does not exist.
        AnnotationError: scipy cannot read it (e.g. a truncated file).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Annotation file not found: {path}')
    try:
        return scipy.io.loadmat(path)
    except Exception as err:  # scipy raises several types on bad files
        raise AnnotationError(
            path, f'Could not read MATLAB file ({type(err).__name__}: '
            f'{err}); expected a complete .mat file.') from err


def load_context_label_map(path: str) -> np.ndarray:
    """Read the 459-class PASCAL-Context ``LabelMap`` of a ``.mat`` file.

    Args:
        path (str): ``pascal-context/trainval/<id>.mat``.

    Returns:
        np.ndarray: (H, W) int64 Context class ids.
    """
    mat = load_mat(path)
    if 'LabelMap' not in mat:
        keys = sorted(k for k in mat if not k.startswith('__'))
        raise KeyError(f'{path}: no field "LabelMap" (fields: {keys}).')
    label = np.asarray(mat['LabelMap'])
    if label.ndim != 2 or not np.issubdtype(label.dtype, np.number):
        raise ValueError(f'{path}: "LabelMap" must be a 2-D numeric array, '
                         f'got shape {label.shape} and dtype {label.dtype}.')
    return label.astype(np.int64)


__all__ = [
    'NEIGHBOUR_BITS', 'THIN_TABLES', 'thinning_tables', 'thin_binary',
    'encode_normals', 'decode_normals', 'AnnotationError', 'sample_context',
    'load_mat', 'load_context_label_map'
]
