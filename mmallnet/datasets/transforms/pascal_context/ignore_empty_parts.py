"""The transform that ignores a human-parts crop without any part pixel."""
from typing import Dict

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmallnet.structures import TASK_SPECS

_PARTS_KEY = TASK_SPECS['parts'].pipeline_key
_PARTS_IGNORE = int(TASK_SPECS['parts'].ignore_value)


@TRANSFORMS.register_module()
class IgnoreEmptyParts(BaseTransform):
    """Turn a human-parts map holding only background / ignore into ignore.

    The InvPT-family ``AddIgnoreRegions`` rule, applied after cropping: a
    crop without any part pixel (labels only 0 or 255) is entirely ignored,
    so part-less crops do not train the parts head on background only.
    Samples without ``gt_parts`` pass through unchanged.

    Args:
        ignore_index (int): Ignore label. Default 255.
    """

    def __init__(self, ignore_index: int = _PARTS_IGNORE) -> None:
        self.ignore_index = int(ignore_index)

    def transform(self, results: Dict) -> Dict:
        parts = results.get(_PARTS_KEY)
        if parts is None:
            return results
        if not np.any((parts != 0) & (parts != self.ignore_index)):
            results[_PARTS_KEY] = np.full_like(parts, self.ignore_index)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(ignore_index={self.ignore_index})'
