"""Pick a complete checkpoint to resume from, even after a crash.

MMEngine resumes from the file named in ``<work_dir>/last_checkpoint``
without looking at it. :func:`find_resumable_checkpoint` checks that file
and, when it is missing, empty or cut off (a run killed while saving with
MMEngine's plain ``CheckpointHook``), falls back to the newest complete
``iter_*.pth`` / ``epoch_*.pth`` in the work dir. ``tools/train.py
--resume`` uses it.
"""
import os
import os.path as osp
import re
import warnings
import zipfile
from typing import List, Optional, Tuple

#: Names of the step checkpoints MMEngine's ``CheckpointHook`` writes.
STEP_CHECKPOINT = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')


class NoResumableCheckpointError(RuntimeError):
    """The work dir holds checkpoints, but none of them is complete."""


class ResumeFallbackWarning(UserWarning):
    """Resuming from another file than ``last_checkpoint`` names."""


def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a complete checkpoint in torch's zip format.

    A cheap check, without unpickling: the file is not empty, its zip
    central directory (written last) can be read and it lists a
    ``data.pkl`` entry. A file cut off while being written fails it.
    Checkpoints in torch's legacy (non-zip) format also fail it.

    Args:
        path (str): The file.

    Returns:
        bool: True when complete.
    """
    try:
        if not osp.isfile(path) or osp.getsize(path) == 0:
            return False
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
    return any(n == 'data.pkl' or n.endswith('/data.pkl') for n in names)


def step_checkpoints(folder: str) -> List[Tuple[int, str]]:
    """The ``iter_<N>.pth`` / ``epoch_<N>.pth`` files of ``folder``.

    Args:
        folder (str): A work dir (missing is fine).

    Returns:
        list[tuple[int, str]]: ``(N, path)``, newest (largest N) first.
    """
    if not osp.isdir(folder):
        return []
    found = []
    for name in os.listdir(folder):
        match = STEP_CHECKPOINT.match(name)
        path = osp.join(folder, name)
        if match and osp.isfile(path):
            found.append((int(match.group(1)), path))
    return sorted(found, key=lambda item: (-item[0], item[1]))


def _read_last_checkpoint(work_dir: str) -> Optional[str]:
    """The path ``<work_dir>/last_checkpoint`` names, or None."""
    save_file = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(save_file):
        return None
    with open(save_file) as f:
        return f.read().strip()


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint to resume the run in ``work_dir`` from.

    - ``last_checkpoint`` names a complete file: that file.
    - It names a missing, empty or cut-off file, or it is missing or empty
      itself: the newest complete ``iter_*.pth`` / ``epoch_*.pth`` (by the
      number in the name) in ``work_dir`` and in the folder the named file
      was in, with a :class:`ResumeFallbackWarning` naming both files.
    - No checkpoint at all: None (MMEngine then trains from scratch).

    Args:
        work_dir (str): The run's work dir.

    Returns:
        str | None: A complete checkpoint, or None when there is none and
        nothing was ever saved.

    Raises:
        NoResumableCheckpointError: Checkpoints exist (or
            ``last_checkpoint`` names one) but none is complete; the
            message names the work dir and the broken files.
    """
    named = _read_last_checkpoint(work_dir)
    if named and is_complete_checkpoint(named):
        return named

    folders = [work_dir]
    if named and osp.abspath(osp.dirname(named)) != osp.abspath(work_dir):
        folders.append(osp.dirname(named))
    candidates = sorted(
        (item for folder in folders for item in step_checkpoints(folder)),
        key=lambda item: -item[0])
    broken = [named] if named else []
    for _, path in candidates:
        if osp.abspath(path) == osp.abspath(named or ''):
            continue
        if is_complete_checkpoint(path):
            save_file = osp.join(work_dir, 'last_checkpoint')
            if named:
                reason = (f'{save_file} names {named}, which is missing, '
                          'empty or incomplete')
            else:
                reason = f'{save_file} is missing or empty'
            warnings.warn(
                f'{reason}; resuming from {path}, the newest complete '
                'checkpoint.',
                ResumeFallbackWarning,
                stacklevel=2)
            return path
        broken.append(path)
    if not broken:
        return None
    raise NoResumableCheckpointError(
        f'Cannot resume the run in {work_dir}: no complete checkpoint is '
        f'left. Missing, empty or incomplete: {", ".join(broken)}. Remove '
        'them (and last_checkpoint) to train from scratch.')
