"""Loading a stored degraded image of a fixed degraded benchmark."""
from typing import Dict, Optional

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmseg.registry import TRANSFORMS

from mmallnet.structures import CLEAN_IMG_KEY


@TRANSFORMS.register_module()
class LoadDegradedImage(BaseTransform):
    """Swap in the stored degraded image; keep the clean one as target.

    For a sample of a degraded copy (a dataset built with
    ``degraded_root``/``degradation``, see
    :func:`mmallnet.datasets.degraded_benchmark.attach_degraded_copy`),
    the clean image loaded by ``LoadImageFromFile`` becomes the restoration
    target ``gt_clean_img`` and the stored PNG becomes ``img``; the
    ``degradation_type`` (set name) and ``degradation_params`` (from the
    manifest) come with the data info. These are the keys the on-the-fly
    degradations (``RandomDegradation``) produce. A sample without
    ``degraded_img_path`` (the clean set) is marked clean:
    ``gt_clean_img`` is a copy of ``img``, ``degradation_type='clean'``,
    ``degradation_params={}``.

    Place it after ``LoadImageFromFile`` and any annotation loading, before
    ``PackMultiTaskInputs``; the test protocol applies no geometric
    transform.

    Required Keys:

    - img (clean, from ``LoadImageFromFile``)
    - degraded_img_path, degradation_type, degradation_params (degraded
      samples only)

    Modified Keys:

    - img

    Added Keys:

    - gt_clean_img
    - degradation_type, degradation_params (clean samples only)

    Args:
        imdecode_backend (str): Decoding backend, as ``LoadImageFromFile``.
            Defaults to 'cv2'.
        backend_args (dict, optional): File backend arguments, as
            ``LoadImageFromFile``. Defaults to None.
    """

    def __init__(self,
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None) -> None:
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args

    def transform(self, results: Dict) -> Dict:
        if 'img' not in results:
            raise KeyError("LoadDegradedImage needs results['img'] (the "
                           'clean image): put LoadImageFromFile before it.')
        clean = results['img']
        path = results.get('degraded_img_path')
        if path is None:
            results[CLEAN_IMG_KEY] = clean.copy()
            results['degradation_type'] = 'clean'
            results['degradation_params'] = {}
            return results
        for key in ('degradation_type', 'degradation_params'):
            if key not in results:
                raise KeyError(f'LoadDegradedImage: {path} has no {key!r} '
                               'in its data info; build the dataset with '
                               'degraded_root and degradation.')
        img = mmcv.imfrombytes(
            fileio.get(path, backend_args=self.backend_args),
            flag='color',
            backend=self.imdecode_backend)
        if not isinstance(img, np.ndarray):
            raise ValueError(f'LoadDegradedImage: could not decode {path}.')
        if img.shape != clean.shape:
            raise ValueError(
                f'LoadDegradedImage: degraded image {path} has shape '
                f'{img.shape} but the clean image {results.get("img_path")} '
                f'has {clean.shape}; the copy was made from other images.')
        results[CLEAN_IMG_KEY] = clean
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(imdecode_backend='
                f'{self.imdecode_backend!r}, backend_args='
                f'{self.backend_args})')
