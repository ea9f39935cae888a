"""The dataset of a degraded benchmark: the clean set and every stored set."""
import copy
import inspect
from typing import Optional, Sequence

from mmengine.dataset import ConcatDataset
from mmseg.registry import DATASETS

from .manifest import load_manifest


@DATASETS.register_module()
class DegradedBenchmarkDataset(ConcatDataset):
    """The clean set and every stored degraded copy of it, concatenated.

    Builds ``dataset_type(**dataset_kwargs)`` once clean (samples labelled
    ``degradation_type='clean'``) and once per set with
    ``degraded_root``/``degradation``, so
    ``MultiTaskMetric(per_degradation=True)`` reports the clean set, each
    set and (``all``) everything pooled. The pipeline must hold
    :class:`~mmallnet.datasets.transforms.LoadDegradedImage` after
    ``LoadImageFromFile``. Its keyword arguments are those of the wrapped
    dataset, so a config can turn a test dataset into a benchmark by
    changing ``type`` and adding ``dataset_type`` and ``degraded_root``.

    A dataset class without ``degraded_root`` / ``degradation`` arguments
    (MMSeg's ``ADE20KDataset``, ``CityscapesDataset``, ...) reads each set
    through :class:`~.copy_dataset.DegradedCopyDataset`; its pipeline then
    ends with ``PackSegInputs`` listing ``degradation_type`` and
    ``degradation_params`` in ``meta_keys``, for
    :class:`~mmallnet.evaluation.PerDegradationIoUMetric`.

    Args:
        dataset_type (str): Registered dataset class (a multi-task dataset
            or any other, e.g. ``'ADE20KDataset'``).
        degraded_root (str): Benchmark directory written by
            :func:`make_degraded_benchmark`.
        sets (Sequence[str], optional): Sets to evaluate, in order. None:
            every set of the manifest.
        include_clean (bool): Also evaluate the clean images. Defaults to
            True.
        verify_sha256 (bool): Check every stored image against the
            manifest's SHA-256 when the sets are built (once per image per
            process; a mismatch raises a ValueError naming set, id and
            file). Defaults to True.
        lazy_init (bool): See :class:`mmengine.dataset.ConcatDataset`.
        **dataset_kwargs: Arguments of ``dataset_type`` (``data_root``,
            ``split``, ``tasks``, ``pipeline``, ...).
    """

    def __init__(self,
                 dataset_type: str,
                 degraded_root: str,
                 sets: Optional[Sequence[str]] = None,
                 include_clean: bool = True,
                 verify_sha256: bool = True,
                 lazy_init: bool = False,
                 **dataset_kwargs) -> None:
        for key in ('degraded_root', 'degradation', 'type'):
            dataset_kwargs.pop(key, None)
        manifest = load_manifest(degraded_root)
        if sets is None:
            sets = list(manifest['sets'])
        unknown = [s for s in sets if s not in manifest['sets']]
        if unknown:
            raise KeyError(f'DegradedBenchmarkDataset: sets {unknown} are '
                           f'not in the degraded copy {degraded_root}; it '
                           f'has {list(manifest["sets"])}.')
        if not sets and not include_clean:
            raise ValueError('DegradedBenchmarkDataset: no set to evaluate '
                             '(sets is empty and include_clean is False).')
        self.degraded_root = degraded_root
        self.sets = list(sets)
        self.include_clean = include_clean
        self.verify_sha256 = verify_sha256
        cfgs = [dict(type=dataset_type, **dataset_kwargs)
                ] if include_clean else []
        if reads_degraded_copy(dataset_type):
            cfgs += [
                dict(type=dataset_type, degraded_root=degraded_root,
                     degradation=name, verify_sha256=verify_sha256,
                     **dataset_kwargs) for name in self.sets
            ]
        else:
            cfgs += [
                dict(type='DegradedCopyDataset',
                     dataset=dict(type=dataset_type, **dataset_kwargs),
                     degraded_root=degraded_root, degradation=name,
                     verify_sha256=verify_sha256) for name in self.sets
            ]
        super().__init__(
            datasets=[copy.deepcopy(cfg) for cfg in cfgs],
            lazy_init=lazy_init)


def reads_degraded_copy(dataset_type) -> bool:
    """Whether a dataset class takes ``degraded_root`` and ``degradation``.

    Args:
        dataset_type (str | type): Registered name or class.

    Returns:
        bool: True for the multi-task datasets, False for e.g. MMSeg's.

    Raises:
        KeyError: An unknown dataset name.
    """
    cls = DATASETS.get(dataset_type) if isinstance(dataset_type,
                                                   str) else dataset_type
    if cls is None:
        raise KeyError(f'DegradedBenchmarkDataset: dataset_type '
                       f'{dataset_type!r} is not a registered dataset.')
    for klass in inspect.getmro(cls):
        params = inspect.signature(klass.__init__).parameters
        if 'degraded_root' in params and 'degradation' in params:
            return True
    return False
