"""A ``CheckpointHook`` whose saves are never half-written.

MMEngine 0.10.7's ``CheckpointHook`` removes the oldest checkpoint before it
writes the new one, writes the new one in place and then rewrites
``last_checkpoint`` in place: a process killed while saving can leave a
cut-off ``iter_N.pth``, no older checkpoint and a ``last_checkpoint`` naming
the broken file. :class:`AtomicCheckpointHook` saves every checkpoint to a
hidden temporary file in the same folder, fsyncs it, renames it onto its
final name with ``os.replace`` (atomic within one file system), fsyncs the
folder, then updates ``last_checkpoint`` the same way, and only then removes
the checkpoints beyond ``max_keep_ckpts``. A kill at any moment therefore
leaves the previous checkpoint or the new one complete, and
``last_checkpoint`` naming a complete file.

Limits:

- Only for a local ``out_dir`` (MMEngine's ``LocalBackend``). For other
  backends (``out_dir='s3://...'``, ``backend_args`` of another backend,
  ``file_client_args``) the hook warns once and behaves as
  ``CheckpointHook``.
- Best checkpoints (``save_best``) are written atomically too, and the
  previous best is removed only once the new one exists. A kill between the
  two can leave an extra ``best_*.pth`` on disk; it is never a broken one.
- Checkpoints saved as folders (DeepSpeed / FSDP runners) are not
  supported: the temporary name must be a file.
- Files published at the end of training (``published_keys``) are
  written by the parent, in place: they are copies, the originals stay.
"""
import logging
import os
import os.path as osp
import shutil
from typing import Any, Dict, List, Sequence

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

#: Prefix of the temporary files (hidden; never matches ``iter_*.pth``).
TEMP_PREFIX = '.tmp-ckpt-'


def temp_path_for(path: str) -> str:
    """The temporary file a save of ``path`` writes first.

    Args:
        path (str): Final path of the file.

    Returns:
        str: ``<dir>/.tmp-ckpt-<name>.<pid>``, in the same folder so that
        ``os.replace`` stays on one file system.
    """
    folder, name = osp.split(path)
    return osp.join(folder, f'{TEMP_PREFIX}{name}.{os.getpid()}')


def fsync_path(path: str) -> None:
    """Flush a file's or a folder's data and metadata to disk.

    Folders cannot be opened on Windows; there the call does nothing for
    them.

    Args:
        path (str): A file or a folder.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except (IsADirectoryError, PermissionError):
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_atomically(temp: str, path: str) -> None:
    """fsync ``temp``, rename it onto ``path`` and fsync the folder.

    Args:
        temp (str): A complete file written next to ``path``.
        path (str): The final name.
    """
    fsync_path(temp)
    os.replace(temp, path)
    fsync_path(osp.dirname(osp.abspath(path)))


def write_text_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file.

    Args:
        path (str): The file to write.
        text (str): Its new content.
    """
    temp = temp_path_for(path)
    try:
        with open(temp, 'w') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        replace_atomically(temp, path)
    except BaseException:
        _remove_quietly(temp)
        raise


def remove_temp_files(folder: str) -> List[str]:
    """Remove the temporary files a killed save left in ``folder``.

    Args:
        folder (str): A checkpoint or work folder (missing is fine).

    Returns:
        list[str]: The removed paths.
    """
    if not osp.isdir(folder):
        return []
    removed = []
    for name in sorted(os.listdir(folder)):
        path = osp.join(folder, name)
        if name.startswith(TEMP_PREFIX) and osp.isfile(path):
            os.remove(path)
            removed.append(path)
    return removed


def _remove_quietly(path: str) -> None:
    """Remove a file if it exists."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _remove_checkpoint(path: str) -> bool:
    """Remove a checkpoint file or folder; return whether it existed."""
    if osp.isfile(path):
        os.remove(path)
        return True
    if osp.isdir(path):
        shutil.rmtree(path)
        return True
    return False


class _AtomicSaveRunner:
    """The runner, with ``save_checkpoint`` going through the hook.

    Lets the parent's best-checkpoint logic run unchanged while every file
    it saves is written atomically.
    """

    def __init__(self, runner: Any, hook: 'AtomicCheckpointHook') -> None:
        self._runner = runner
        self._hook = hook

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runner, name)

    def save_checkpoint(self, out_dir: str, filename: str, *args,
                        **kwargs) -> None:
        self._hook._save_atomically(self._runner, out_dir, filename, *args,
                                    **kwargs)


class _DeferredRemovalBackend:
    """A file backend whose ``remove`` / ``rmtree`` only record the path."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.pending: List[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def remove(self, path: str) -> None:
        self.pending.append(str(path))

    def rmtree(self, path: str) -> None:
        self.pending.append(str(path))


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` with crash-safe saving (see the module docstring).

    Takes ``CheckpointHook``'s arguments. At ``before_train`` it removes the
    temporary files (``.tmp-ckpt-*``) a killed run left in ``out_dir`` and
    the work dir.
    """

    _warned_non_local = False

    def before_train(self, runner) -> None:
        """Set up the parent's state; clean up leftover temporary files.

        Args:
            runner (Runner): The runner of the training process.
        """
        super().before_train(runner)
        self.atomic = (self.file_client_args is None
                       and isinstance(self.file_backend, LocalBackend))
        if not self.atomic:
            if not AtomicCheckpointHook._warned_non_local:
                AtomicCheckpointHook._warned_non_local = True
                print_log(
                    f'AtomicCheckpointHook: out_dir {self.out_dir!r} is not '
                    'a local folder (or file_client_args is set); '
                    'checkpoints are saved as CheckpointHook saves them, '
                    'not atomically.',
                    logger='current',
                    level=logging.WARNING)
            return
        if is_main_process():
            folders = {osp.abspath(self.out_dir), osp.abspath(runner.work_dir)}
            for folder in sorted(folders):
                for path in remove_temp_files(folder):
                    runner.logger.info(
                        f'Removed {path}, left by an interrupted save.')

    def _save_atomically(self, runner, out_dir: str, filename: str, *args,
                         **kwargs) -> None:
        """``runner.save_checkpoint`` to a temporary file, then renamed.

        Args:
            runner (Runner): The runner (not a wrapper of it).
            out_dir (str): The checkpoint folder.
            filename (str): The final file name.
            *args, **kwargs: The rest of ``Runner.save_checkpoint``'s
                arguments.
        """
        path = osp.join(out_dir, filename)
        temp = temp_path_for(path)
        try:
            runner.save_checkpoint(out_dir, osp.basename(temp), *args,
                                   **kwargs)
            if is_main_process():
                if not osp.isfile(temp):
                    raise RuntimeError(
                        f'AtomicCheckpointHook: runner.save_checkpoint did '
                        f'not write the file {temp} (expected a single '
                        'file; checkpoints saved as folders are not '
                        'supported)')
                replace_atomically(temp, path)
        except BaseException:
            if is_main_process():
                _remove_quietly(temp)
            raise

    def _save_checkpoint_with_step(self, runner, step: int,
                                   meta: Dict[str, Any]) -> None:
        """Save ``filename_tmpl.format(step)``; then drop the old ones.

        The saved checkpoint's ``keep_ckpt_ids`` still lists the steps to be
        removed, so a run killed before the removal and resumed from it
        removes them in ``before_train`` (the parent's resume logic).

        Args:
            runner (Runner): The runner of the training process.
            step (int): The epoch or iteration of the checkpoint.
            meta (dict): Meta information saved with it.
        """
        if not getattr(self, 'atomic', False):
            super()._save_checkpoint_with_step(runner, step, meta)
            return
        if isinstance(runner, _AtomicSaveRunner):
            runner = runner._runner
        stale: Sequence[int] = ()
        if self.max_keep_ckpts > 0:
            ids = list(self.keep_ckpt_ids)
            if not ids or ids[-1] != step:
                ids.append(step)
                runner.message_hub.update_info('keep_ckpt_ids', ids)
            stale = ids[:-self.max_keep_ckpts]

        ckpt_filename = self.filename_tmpl.format(step)
        last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', last_ckpt)
        try:
            self._save_atomically(
                runner,
                self.out_dir,
                ckpt_filename,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args)
        except BaseException:
            # Nothing changed on disk: put the bookkeeping back as well.
            runner.message_hub.update_info('last_ckpt', self.last_ckpt)
            if self.max_keep_ckpts > 0:
                runner.message_hub.update_info('keep_ckpt_ids',
                                               list(self.keep_ckpt_ids))
            raise
        self.last_ckpt = last_ckpt

        if self.max_keep_ckpts > 0:
            kept = ids[-self.max_keep_ckpts:]
            self.keep_ckpt_ids.clear()
            self.keep_ckpt_ids.extend(kept)
            runner.message_hub.update_info('keep_ckpt_ids', kept)
        if not is_main_process():
            return
        write_text_atomically(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old in stale:
            _remove_checkpoint(
                osp.join(self.out_dir, self.filename_tmpl.format(old)))

    def _save_best_checkpoint(self, runner, metrics: Dict[str,
                                                          Any]) -> None:
        """The parent's best-checkpoint logic with atomic saves.

        The previous best checkpoint is removed after the new one and the
        updated step checkpoint are saved.

        Args:
            runner (Runner): The runner of the training process.
            metrics (dict): Evaluation results of all metrics.
        """
        if not getattr(self, 'atomic', False) or not self.save_best:
            super()._save_best_checkpoint(runner, metrics)
            return
        deferred = _DeferredRemovalBackend(self.file_backend)
        self.file_backend = deferred
        try:
            super()._save_best_checkpoint(
                _AtomicSaveRunner(runner, self), metrics)
        finally:
            self.file_backend = deferred.backend
        if not is_main_process():
            return
        current = set(getattr(self, 'best_ckpt_path_dict', {}).values())
        current.add(getattr(self, 'best_ckpt_path', None))
        for path in deferred.pending:
            if path not in current:
                _remove_checkpoint(path)
