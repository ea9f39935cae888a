"""Packing of multi-task samples into ``inputs`` + ``MultiTaskDataSample``."""
from typing import Dict, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.registry import TRANSFORMS

from mmallnet.structures import CLEAN_IMG_KEY, TASK_SPECS, MultiTaskDataSample

DEFAULT_META_KEYS = ('img_path', 'img_id', 'sample_idx', 'ori_shape',
                     'img_shape', 'scale_factor', 'flip', 'flip_direction',
                     'reduce_zero_label', 'degradation_type',
                     'degradation_params')


def _image_to_tensor(img: np.ndarray, key: str) -> torch.Tensor:
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"results['{key}'] must be an (H, W, 3) image, got "
                         f'shape {img.shape}.')
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


@TRANSFORMS.register_module()
class PackMultiTaskInputs(BaseTransform):
    """Pack the degraded image, the clean image and every task's target.

    ``img`` becomes ``inputs`` (3, H, W); ``gt_clean_img`` (or a copy of
    ``img`` when no degradation ran) becomes the ``gt_clean_img`` PixelData;
    each task's pipeline key becomes its gt field (see
    :mod:`mmallnet.structures.tasks`). Label maps are int64, the others
    float32; normals are stored channel-first (3, H, W).

    Args:
        meta_keys (Sequence[str]): Keys copied to the metainfo when present.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: Dict) -> Dict:
        if 'img' not in results:
            raise KeyError("PackMultiTaskInputs needs results['img'].")
        img = results['img']
        data_sample = MultiTaskDataSample()
        clean = results.get(CLEAN_IMG_KEY, img)
        if clean.shape != img.shape:
            raise ValueError(f"results['{CLEAN_IMG_KEY}'] has shape "
                             f"{clean.shape} but results['img'] has "
                             f'{img.shape}.')
        data_sample.set_field(
            PixelData(data=_image_to_tensor(clean, CLEAN_IMG_KEY)),
            CLEAN_IMG_KEY)
        for spec in TASK_SPECS.values():
            if spec.pipeline_key not in results:
                continue
            target = np.asarray(results[spec.pipeline_key])
            target = target[None] if target.ndim == 2 else target.transpose(
                2, 0, 1)
            if target.shape != (spec.channels, ) + img.shape[:2]:
                raise ValueError(
                    f"results['{spec.pipeline_key}'] ({spec.name}) has shape "
                    f'{target.shape}, expected '
                    f'{(spec.channels, ) + img.shape[:2]}.')
            dtype = np.int64 if spec.dtype == 'long' else np.float32
            data_sample.set_field(
                PixelData(
                    data=torch.from_numpy(
                        np.ascontiguousarray(target, dtype=dtype))),
                spec.gt_field)
        metainfo = {k: results[k] for k in self.meta_keys if k in results}
        metainfo.setdefault('degradation_type', 'clean')
        metainfo.setdefault('degradation_params', {})
        data_sample.set_metainfo(metainfo)
        return dict(
            inputs=_image_to_tensor(img, 'img'), data_samples=data_sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
