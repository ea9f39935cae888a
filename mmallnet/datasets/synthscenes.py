"""SynthScenes: the embedded procedural dataset, in the NYUD-v2 layout."""
from typing import Optional, Sequence

from mmengine.dist import barrier, get_dist_info
from mmengine.logging import print_log
from mmseg.registry import DATASETS

from .nyud_multi_task import NYUDMultiTaskDataset
from .synthscenes_generator import (
    SYNTHSCENES_CLASSES,
    SYNTHSCENES_PALETTE,
    generate_synthscenes,
    is_synthscenes_complete,
)


@DATASETS.register_module()
class SynthScenesDataset(NYUDMultiTaskDataset):
    """Procedural indoor scenes with exact depth, normals, labels and edges.

    Same on-disk layout as :class:`NYUDMultiTaskDataset` (plus
    ``saliency/``). With ``generate`` set, a missing dataset is rendered on
    first use (by rank 0; other ranks wait) with
    :func:`generate_synthscenes`.

    Args:
        data_root (str): Dataset root, e.g. ``data/synthscenes``.
        split (str): 'train' or 'val'. Default 'train'.
        tasks (Sequence[str]): Default semseg, depth, normals, boundary,
            saliency.
        generate (dict, optional): Keyword arguments of
            :func:`generate_synthscenes` (``num_train``, ``num_val``,
            ``height``, ``width``, ``seed``) used when the data is missing.
            None: never generate (a missing dataset raises).
        **kwargs: Passed to :class:`NYUDMultiTaskDataset`.
    """

    METAINFO = dict(
        classes=tuple(SYNTHSCENES_CLASSES),
        palette=[list(c) for c in SYNTHSCENES_PALETTE])

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 tasks: Sequence[str] = ('semseg', 'depth', 'normals',
                                         'boundary', 'saliency'),
                 generate: Optional[dict] = None,
                 **kwargs) -> None:
        if generate is not None and not is_synthscenes_complete(data_root):
            rank, _ = get_dist_info()
            if rank == 0:
                print_log(
                    f'SynthScenes not found at {data_root}: generating it '
                    f'({generate}).',
                    logger='current')
                generate_synthscenes(data_root, **generate)
            barrier()
        super().__init__(data_root=data_root, split=split, tasks=tasks,
                         **kwargs)
