"""Load checkpoints with torch's ``weights_only`` protection kept.

torch >= 2.6 loads with ``weights_only=True``: unpickling may only build
tensors, containers and allow-listed globals, so a file cannot run code.
MMEngine 0.10.7 calls ``torch.load`` without the argument, and its runner
checkpoints hold a few Python objects beyond tensors (``message_hub`` keeps
:class:`~mmengine.logging.HistoryBuffer` objects, whose statistics methods
are pickled as ``getattr(HistoryBuffer, 'mean')``, and NumPy arrays and
scalars), so without help a runner cannot resume under torch >= 2.6.

:func:`load_local_checkpoint` is MMEngine's local-file loader with exactly
those globals allowed for the duration of the load
(:data:`RUNNER_CHECKPOINT_GLOBALS`, through ``torch.serialization
.safe_globals``; torch's global allow-list is not changed). ``getattr`` is
allowed only in the form runner checkpoints use it: a statistics method of
``HistoryBuffer``. Any other global makes the load fail with
:class:`UntrustedCheckpointError`, naming the file and the globals. A file
you trust can be loaded the unprotected way (``weights_only=False``) with
``--trust-checkpoint`` on ``tools/train.py`` / ``tools/test.py`` or the
environment variable ``MMALLNET_TRUST_CHECKPOINTS=1``; never by default.

``import mmallnet`` registers the loader for local paths (MMEngine's
``CheckpointLoader`` scheme ``''``), so ``init_cfg=dict(type='Pretrained')``,
``load_from``, ``resume`` and ``tools/test.py`` all go through it.
"""
import os
import os.path as osp
import pickle
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

#: Environment variable that, set to ``1``, loads every checkpoint with
#: ``weights_only=False`` (only for files you trust: unpickling can run
#: code).
TRUST_ENV = 'MMALLNET_TRUST_CHECKPOINTS'
#: The command-line switch of ``tools/train.py`` and ``tools/test.py``.
TRUST_FLAG = '--trust-checkpoint'
#: Its help text.
TRUST_HELP = (f'load checkpoints with weights_only=False, as {TRUST_ENV}=1 '
              'does: only for files you trust (unpickling can run code)')

_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'mean', 'current')


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint needs globals outside the allow-list."""


def history_buffer_getattr(obj: Any, name: str) -> Callable:
    """``getattr`` restricted to ``HistoryBuffer``'s statistics methods.

    Pickle stores a method such as ``HistoryBuffer.mean`` as
    ``getattr(HistoryBuffer, 'mean')``; this stands in for
    ``builtins.getattr`` while a checkpoint is loaded and allows nothing
    else.

    Args:
        obj: The object whose attribute is read; must be ``HistoryBuffer``.
        name (str): The attribute; a statistics method's name.

    Returns:
        Callable: ``getattr(HistoryBuffer, name)``.
    """
    allowed = set(_HISTORY_BUFFER_STATISTICS) | set(
        HistoryBuffer._statistics_methods)
    if obj is not HistoryBuffer or name not in allowed:
        raise pickle.UnpicklingError(
            f'getattr({obj!r}, {name!r}) is not allowed: checkpoints may '
            "only use getattr for HistoryBuffer's statistics methods "
            f'{sorted(allowed)}')
    return getattr(HistoryBuffer, name)


def _numpy_globals() -> List[Tuple[Any, str]]:
    """NumPy's array and scalar reconstructors under both module paths.

    NumPy 2 pickles them from ``numpy._core.multiarray``, NumPy 1 from
    ``numpy.core.multiarray``; both names map to the installed functions.
    """
    multiarray = getattr(np, '_core', None)
    multiarray = (multiarray.multiarray if multiarray is not None else
                  np.core.multiarray)
    entries: List[Tuple[Any, str]] = [(np.ndarray, 'numpy.ndarray'),
                                      (np.dtype, 'numpy.dtype')]
    for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        entries.append((multiarray._reconstruct, f'{module}._reconstruct'))
        entries.append((multiarray.scalar, f'{module}.scalar'))
    # ``numpy.dtype(...)`` is rebuilt, then its state set (pickle BUILD),
    # which needs the concrete dtype classes (numpy.dtypes.Float64DType..).
    for code in '?bBhHiIlLqQefdgFDGUS':
        dtype_class = type(np.dtype(code))
        entries.append((dtype_class,
                        f'{dtype_class.__module__}.{dtype_class.__name__}'))
    return entries


#: Globals that MMEngine runner checkpoints hold, allowed while loading.
RUNNER_CHECKPOINT_GLOBALS: List[Union[Any, Tuple[Any, str]]] = [
    HistoryBuffer,
    (history_buffer_getattr, 'builtins.getattr'),
    *_numpy_globals(),
]


def checkpoint_trusted() -> bool:
    """Whether ``MMALLNET_TRUST_CHECKPOINTS`` turns the protection off.

    Returns:
        bool: True for ``1`` / ``true`` / ``yes`` (any case).

    Raises:
        ValueError: For a value that is neither on nor off.
    """
    value = os.environ.get(TRUST_ENV, '').strip().lower()
    if value in ('', '0', 'false', 'no'):
        return False
    if value in ('1', 'true', 'yes'):
        return True
    raise ValueError(f'{TRUST_ENV}={os.environ[TRUST_ENV]!r}: expected 1 '
                     '(trust every checkpoint this process loads) or 0.')


def trust_checkpoints() -> None:
    """Turn the protection off for this process and its children.

    Sets ``MMALLNET_TRUST_CHECKPOINTS=1``; what ``--trust-checkpoint``
    does.
    """
    os.environ[TRUST_ENV] = '1'


def _torch_reason(error: Exception) -> str:
    """The lines of torch's weights-only error that say what failed."""
    lines = [
        line.strip() for line in str(error).splitlines()
        if line.strip() and not line.startswith(
            ('Weights only load failed', 'Check the documentation'))
    ]
    return ' '.join(lines) or type(error).__name__


def _unsafe_globals(filename: str) -> List[str]:
    """Globals of the file outside the allow-list (best effort)."""
    allowed = {
        entry[1] if isinstance(entry, tuple) else
        f'{entry.__module__}.{entry.__qualname__}'
        for entry in RUNNER_CHECKPOINT_GLOBALS
    }
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except Exception:  # legacy (non-zip) files are not scanned
        return []
    return [name for name in found if name not in allowed]


def load_local_checkpoint(filename: str, map_location=None) -> Any:
    """Load a local checkpoint file; ``weights_only`` unless trusted.

    Args:
        filename (str): Path of the checkpoint.
        map_location (str | callable, optional): As in :func:`torch.load`.

    Returns:
        The loaded object (a dict for checkpoints).

    Raises:
        FileNotFoundError: When the file does not exist.
        UntrustedCheckpointError: When the file needs a global outside
            :data:`RUNNER_CHECKPOINT_GLOBALS`.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'Checkpoint file {filename} can not be found.')
    if checkpoint_trusted():
        return torch.load(
            filename, map_location=map_location, weights_only=False)
    try:
        with torch.serialization.safe_globals(RUNNER_CHECKPOINT_GLOBALS):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        names = _unsafe_globals(filename)
        what = (f'needs the globals {names}, which are not' if names else
                'needs something that is not')
        raise UntrustedCheckpointError(
            f'{filename} {what} allowed in a weights-only load, so it was '
            'not loaded (unpickling it could run code). If you trust this '
            f'file, pass {TRUST_FLAG} to tools/train.py or tools/test.py, '
            f'or set {TRUST_ENV}=1. torch says: {_torch_reason(error)}'
        ) from None


def register_checkpoint_loader() -> None:
    """Make :func:`load_local_checkpoint` MMEngine's loader for local paths.

    Idempotent; called by ``import mmallnet``.
    """
    if CheckpointLoader._schemes.get('') is not load_local_checkpoint:
        CheckpointLoader.register_scheme(
            prefixes='', loader=load_local_checkpoint, force=True)
