"""Geometric augmentation applied consistently to images and all targets.

Images (``img`` and ``gt_clean_img`` when present) are resampled
bilinearly; every key in ``seg_fields`` is resampled with nearest
neighbour. Task-specific rules: depth is divided by the scale factor and the
x (y) component of normals is negated by a horizontal (vertical) flip.
"""
from typing import Dict, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.datasets.transforms import RandomCrop
from mmseg.registry import TRANSFORMS

from mmallnet.structures import CLEAN_IMG_KEY, TASK_SPECS

_DEPTH_KEY = TASK_SPECS['depth'].pipeline_key
_NORMAL_KEY = TASK_SPECS['normals'].pipeline_key


def _image_keys(results: Dict) -> Tuple[str, ...]:
    return tuple(k for k in ('img', CLEAN_IMG_KEY) if k in results)


@TRANSFORMS.register_module()
class MultiTaskRandomResize(BaseTransform):
    """Rescale by a factor s ~ U(ratio_range) relative to the current size.

    Depth maps are divided by s (an object seen s times larger is s times
    closer), as in the InvPT-family pipelines.

    Args:
        ratio_range (tuple[float, float]): Range of s. Default (0.5, 2.0).
    """

    def __init__(self, ratio_range: Tuple[float, float] = (0.5, 2.0)) -> None:
        low, high = ratio_range
        if not 0 < low <= high:
            raise ValueError('MultiTaskRandomResize.ratio_range must satisfy '
                             f'0 < low <= high, got {ratio_range}.')
        self.ratio_range = (float(low), float(high))

    @staticmethod
    def rescale(results: Dict, scale: float) -> Dict:
        """Rescale images and targets by ``scale`` in place.

        Args:
            results (dict): Pipeline results.
            scale (float): Scale factor s.

        Returns:
            dict: ``results`` with ``img_shape`` and ``scale_factor`` set.
        """
        h, w = results['img'].shape[:2]
        new_w, new_h = max(1, int(round(w * scale))), max(
            1, int(round(h * scale)))
        for key in _image_keys(results):
            results[key] = cv2.resize(
                results[key], (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        for key in results.get('seg_fields', []):
            resized = cv2.resize(
                results[key], (new_w, new_h), interpolation=cv2.INTER_NEAREST)
            if key == _DEPTH_KEY:
                resized = resized / np.float32(scale)
            results[key] = resized
        results['img_shape'] = (new_h, new_w)
        results['scale_factor'] = (new_w / w, new_h / h)
        return results

    def transform(self, results: Dict) -> Dict:
        scale = float(np.random.uniform(*self.ratio_range))
        return self.rescale(results, scale)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(ratio_range={self.ratio_range})'


@TRANSFORMS.register_module()
class MultiTaskRandomCrop(RandomCrop):
    """MMSeg's :class:`RandomCrop` that also crops ``gt_clean_img``.

    ``cat_max_ratio`` is applied to ``gt_seg_map`` when present and ignored
    otherwise (no semseg task).

    Args:
        crop_size (int | tuple[int, int]): (h, w) of the crop.
        cat_max_ratio (float): Max share of one category. Default 1.
        ignore_index (int): Ignored label for ``cat_max_ratio``. Default 255.
    """

    def __init__(self,
                 crop_size: Union[int, Tuple[int, int]],
                 cat_max_ratio: float = 1.,
                 ignore_index: int = 255) -> None:
        super().__init__(crop_size, cat_max_ratio, ignore_index)

    def crop_bbox(self, results: Dict) -> tuple:
        if 'gt_seg_map' not in results and self.cat_max_ratio < 1.:
            ratio, self.cat_max_ratio = self.cat_max_ratio, 1.
            try:
                return super().crop_bbox(results)
            finally:
                self.cat_max_ratio = ratio
        return super().crop_bbox(results)

    def transform(self, results: Dict) -> Dict:
        crop_bbox = self.crop_bbox(results)
        for key in _image_keys(results) + tuple(results.get('seg_fields', [])):
            results[key] = self.crop(results[key], crop_bbox)
        results['img_shape'] = results['img'].shape[:2]
        return results


@TRANSFORMS.register_module()
class MultiTaskRandomFlip(BaseTransform):
    """Flip images and all targets; negate the normals' matching component.

    Args:
        prob (float): Flip probability. Default 0.5.
        direction (str): 'horizontal' or 'vertical'. Default 'horizontal'.
    """

    _NORMAL_AXIS = {'horizontal': 0, 'vertical': 1}

    def __init__(self, prob: float = 0.5,
                 direction: str = 'horizontal') -> None:
        if not 0 <= prob <= 1:
            raise ValueError(
                f'MultiTaskRandomFlip.prob must be in [0, 1], got {prob}.')
        if direction not in self._NORMAL_AXIS:
            raise ValueError('MultiTaskRandomFlip.direction must be one of '
                             f'{list(self._NORMAL_AXIS)}, got {direction!r}.')
        self.prob = prob
        self.direction = direction

    def flip(self, results: Dict) -> Dict:
        """Flip every image and target in ``results`` in place."""
        axis = 1 if self.direction == 'horizontal' else 0
        for key in _image_keys(results) + tuple(results.get('seg_fields', [])):
            results[key] = np.ascontiguousarray(np.flip(results[key], axis))
        if _NORMAL_KEY in results:
            normals = results[_NORMAL_KEY].copy()
            normals[..., self._NORMAL_AXIS[self.direction]] *= -1
            results[_NORMAL_KEY] = normals
        return results

    def transform(self, results: Dict) -> Dict:
        flip = bool(np.random.rand() < self.prob)
        results['flip'] = flip
        results['flip_direction'] = self.direction if flip else None
        return self.flip(results) if flip else results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'direction={self.direction!r})')


@TRANSFORMS.register_module()
class MultiTaskPad(BaseTransform):
    """Pad images and targets bottom/right to a fixed size.

    Images get ``img_pad_val``; every target in ``seg_fields`` gets its
    task's ignore value (labels 255, depth 0, normals the zero vector), so
    padded pixels never count in losses or metrics. The data preprocessor
    pads batches the same way; this transform is for pipelines that need a
    fixed size before batching.

    Args:
        size (tuple[int, int]): Target (h, w); images larger than it raise.
        img_pad_val (int): Pad value of ``img`` and ``gt_clean_img``.
            Default 0.
    """

    def __init__(self, size: Tuple[int, int], img_pad_val: int = 0) -> None:
        self.size = tuple(size)
        self.img_pad_val = img_pad_val
        self._pad_values = {
            spec.pipeline_key: spec.ignore_value
            for spec in TASK_SPECS.values()
        }

    def transform(self, results: Dict) -> Dict:
        h, w = results['img'].shape[:2]
        pad_h, pad_w = self.size[0] - h, self.size[1] - w
        if pad_h < 0 or pad_w < 0:
            raise ValueError(f'MultiTaskPad: image {results.get("img_path")}'
                             f' of size {(h, w)} is larger than the pad size '
                             f'{self.size}.')
        pad_values = {key: self.img_pad_val for key in _image_keys(results)}
        for key in results.get('seg_fields', []):
            if key not in self._pad_values:
                raise KeyError(f'MultiTaskPad: no pad value for seg field '
                               f'{key!r}; known: {sorted(self._pad_values)}.')
            pad_values[key] = self._pad_values[key]
        for key, value in pad_values.items():
            array = results[key]
            widths = ((0, pad_h), (0, pad_w)) + ((0, 0), ) * (array.ndim - 2)
            results[key] = np.pad(array, widths, constant_values=value)
        results['pad_shape'] = self.size
        results['img_shape'] = self.size
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'img_pad_val={self.img_pad_val})')


__all__: Sequence[str] = [
    'MultiTaskRandomResize', 'MultiTaskRandomCrop', 'MultiTaskRandomFlip',
    'MultiTaskPad'
]
