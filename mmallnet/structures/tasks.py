"""Names, field keys and ignore values of every dense task.

One table so that transforms, the data preprocessor, models, metrics and the
visualizer agree on where each task lives:

============  ================  ==============  ===============  ==========
task          pipeline key      gt field        pred field       pad/ignore
============  ================  ==============  ===============  ==========
semseg        ``gt_seg_map``    ``gt_sem_seg``  ``pred_sem_seg`` 255
depth         ``gt_depth``      ``gt_depth``    ``pred_depth``   0 (metres)
normals       ``gt_normal``     ``gt_normal``   ``pred_normal``  0 vector
boundary      ``gt_boundary``   ``gt_boundary`` ``pred_boundary``255
parts         ``gt_parts``      ``gt_parts``    ``pred_parts``   255
saliency      ``gt_saliency``   ``gt_saliency`` ``pred_saliency``255
============  ================  ==============  ===============  ==========

Images: the degraded network input is ``img`` in the pipeline (``inputs``
after packing); the clean image is ``gt_clean_img`` in the pipeline and a
``gt_clean_img`` PixelData (RGB, [0, 1]) after the data preprocessor, which
also stores the degraded image as ``degraded_img`` (RGB, [0, 1]). The model
writes the restored image to ``pred_restored`` (RGB, [0, 1]).
"""
from dataclasses import dataclass
from typing import Dict, Iterable, List, Tuple


@dataclass(frozen=True)
class TaskSpec:
    """Where one dense task is stored and how it is padded.

    Args:
        name (str): Task name used in configs (``tasks=[...]``).
        pipeline_key (str): Key of the target in the transform results dict.
        gt_field (str): Name of the ground-truth PixelData in a data sample.
        pred_field (str): Name of the prediction PixelData in a data sample.
        ignore_value (float): Value of padded / invalid target pixels.
        channels (int): Channels of the target map.
        dtype (str): ``'long'`` for label maps, ``'float'`` for others.
    """

    name: str
    pipeline_key: str
    gt_field: str
    pred_field: str
    ignore_value: float
    channels: int
    dtype: str


TASK_SPECS: Dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec('semseg', 'gt_seg_map', 'gt_sem_seg', 'pred_sem_seg', 255,
                 1, 'long'),
        TaskSpec('depth', 'gt_depth', 'gt_depth', 'pred_depth', 0, 1,
                 'float'),
        TaskSpec('normals', 'gt_normal', 'gt_normal', 'pred_normal', 0, 3,
                 'float'),
        TaskSpec('boundary', 'gt_boundary', 'gt_boundary', 'pred_boundary',
                 255, 1, 'float'),
        TaskSpec('parts', 'gt_parts', 'gt_parts', 'pred_parts', 255, 1,
                 'long'),
        TaskSpec('saliency', 'gt_saliency', 'gt_saliency', 'pred_saliency',
                 255, 1, 'long'),
    )
}

ALL_TASKS: Tuple[str, ...] = tuple(TASK_SPECS)

#: Images carried next to the targets (pipeline key == data-sample field).
CLEAN_IMG_KEY = 'gt_clean_img'
DEGRADED_IMG_KEY = 'degraded_img'
RESTORED_IMG_KEY = 'pred_restored'


def check_tasks(tasks: Iterable[str], where: str = 'tasks') -> List[str]:
    """Validate task names.

    Args:
        tasks (Iterable[str]): Task names.
        where (str): Config key named in the error message.

    Returns:
        list[str]: The task names, in the given order.

    Raises:
        KeyError: If a name is not one of :data:`ALL_TASKS`.
    """
    tasks = list(tasks)
    for task in tasks:
        if task not in TASK_SPECS:
            raise KeyError(f'Unknown task {task!r} in `{where}`; expected one '
                           f'of {list(ALL_TASKS)}.')
    if len(set(tasks)) != len(tasks):
        raise ValueError(f'Duplicate task names in `{where}`: {tasks}.')
    return tasks
