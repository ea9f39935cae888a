"""Golden model outputs: a config's maths and state-dict keys on one file.

A refactor that must not change the maths is checked by recording, before
it, what every config's model computes, and comparing after it. To make the
record independent of the order in which modules are built (which decides
what a seeded random init gives each parameter), every parameter and
floating buffer is refilled from a generator seeded by its *state-dict
name* (:func:`fill_by_name`). The record then depends only on the key
names, the shapes and the forward/backward maths.

What is recorded (:func:`model_record`), for a fixed padded batch of two
images from :func:`mmallnet.testing.multi_task_batch`:

* ``keys``: the SHA-256 of the sorted ``name:shape`` list of the state
  dict and its length;
* ``tensor``: every raw output in eval mode (``mode='tensor'``);
* ``predict``: the routing a routed model writes into each sample's
  metainfo (eval mode), if any;
* ``loss``: every loss / log value in train mode (``torch.manual_seed(0)``
  first, so routing noise and drop-path are fixed), and the sum of absolute
  gradients of the total loss per top-level module (summed exactly, so the
  order of the parameters does not matter).

A tensor is summarised (:func:`summarise`) by its shape, the SHA-256 of its
float32 bytes, its float64 sum and absolute sum and a few values.
:func:`compare_records` compares the sums and values to a relative
tolerance by default: two machines with the same torch build and the same
``torch.backends.cpu.get_cpu_capability`` may still pick different
vectorised kernels (oneDNN and MKL block by cache size), and then round
differently (about 1e-6 relative in outputs and losses, up to 1e-4 in the
gradient sums of a randomly initialised model). ``exact=True`` asserts the
hashes and floats bit for bit, for a developer checking a refactor on the
machine that recorded the goldens (``MMALLNET_GOLDEN_EXACT=1`` in the test,
``--exact`` in ``tools/misc/record_golden_outputs.py``).
"""
import hashlib
import math
import zlib
from typing import Dict, List

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict
from torch import Tensor

from ..structures.expert_routing import ROUTING_METAINFO_KEYS
from .samples import multi_task_batch

#: Format of the golden JSON files.
GOLDEN_FORMAT = 1
#: Values stored per tensor besides its hash and sums.
NUM_SAMPLES = 8
#: Tolerance, in percentage points, of logged accuracies when not exact
#: (one pixel of the recorded semseg batch is about 0.015 points).
ACC_ATOL = 0.25


def fill_by_name(model: nn.Module) -> None:
    """Refill every parameter and floating buffer from its state-dict name.

    Each tensor gets values from a ``torch.Generator`` seeded with the
    CRC-32 of its name: weights of 2-D and more ``N(0, 1/fan_in)``, other
    ``*weight`` tensors (normalisation scales) and running variances
    ``U(0.5, 1.5)``, everything else ``N(0, 0.1^2)``. Integer buffers (BN's
    ``num_batches_tracked``) are left alone.

    Args:
        model (nn.Module): The model, changed in place.
    """
    with torch.no_grad():
        for name, tensor in model.state_dict(keep_vars=True).items():
            if not tensor.is_floating_point():
                continue
            g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
            shape = tensor.shape
            if tensor.dim() >= 2:
                fan_in = max(1, tensor[0].numel())
                value = torch.randn(shape, generator=g) / fan_in**0.5
            elif name.endswith(('weight', 'running_var')):
                value = torch.rand(shape, generator=g) + 0.5
            else:
                value = 0.1 * torch.randn(shape, generator=g)
            tensor.copy_(value.to(tensor.dtype))


def sync_bn_to_bn(cfg):
    """``cfg`` with every ``SyncBN`` norm config turned into ``BN``."""
    if isinstance(cfg, dict):
        out = ConfigDict({k: sync_bn_to_bn(v) for k, v in cfg.items()})
        if out.get('type') == 'SyncBN':
            out.type = 'BN'
        return out
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(sync_bn_to_bn(v) for v in cfg)
    return cfg


def summarise(tensor: Tensor) -> dict:
    """Shape, float32 SHA-256, float64 sums and a few values of a tensor."""
    array = np.ascontiguousarray(
        tensor.detach().to(torch.float32).cpu().numpy())
    flat = array.reshape(-1).astype(np.float64)
    index = np.linspace(0, max(flat.size - 1, 0),
                        min(NUM_SAMPLES, flat.size)).astype(np.int64)
    return dict(
        shape=list(array.shape),
        sha256=hashlib.sha256(array.tobytes()).hexdigest(),
        sum=float(flat.sum()),
        abs_sum=float(np.abs(flat).sum()),
        values=[float(v) for v in flat[index]])


def _keys_record(model: nn.Module) -> dict:
    entries = sorted(f'{name}:{list(t.shape)}'
                     for name, t in model.state_dict().items())
    return dict(count=len(entries),
                sha256=hashlib.sha256('\n'.join(entries).encode()).hexdigest())


def _summarise_outputs(outputs) -> Dict[str, dict]:
    if isinstance(outputs, Tensor):
        return {'output': summarise(outputs)}
    return {key: summarise(value) for key, value in sorted(outputs.items())}


def model_record(cfg: Config, size: int = 64) -> dict:
    """Build ``cfg.model`` with name-seeded weights and record its outputs.

    Args:
        cfg (Config): A loaded config (its ``model`` is built; no
            pretrained file is read: ``init_weights`` is not called).
        size (int): Side of the padded input batch. Defaults to 64.

    Returns:
        dict: The record described in the module docstring.
    """
    from mmseg.registry import MODELS
    model_cfg = sync_bn_to_bn(cfg.model)
    model = MODELS.build(model_cfg)
    fill_by_name(model)
    head = model_cfg.decode_head
    num_classes = head.get('num_classes', 40)
    inputs, samples = multi_task_batch(
        shapes=((size, size), (size - 8, size - 16)), size=size,
        num_classes=num_classes, seed=0)
    if model_cfg.get('route_type_loss_weight', 0) > 0:
        # the routing type loss reads the degradation type of each sample
        for sample, kind in zip(samples, ('noise', 'fog')):
            sample.set_metainfo(dict(degradation_type=kind))
    record = dict(format=GOLDEN_FORMAT,
                  cpu_capability=torch.backends.cpu.get_cpu_capability(),
                  torch=torch.__version__.split('+')[0],
                  keys=_keys_record(model))
    model.eval()
    with torch.no_grad():
        record['tensor'] = _summarise_outputs(
            model(inputs, [s.clone() for s in samples], mode='tensor'))
        predicted = model(inputs, [s.clone() for s in samples],
                          mode='predict')
    routing = [{
        key: sample.metainfo[key]
        for key in ROUTING_METAINFO_KEYS
        if key in sample.metainfo
    } for sample in predicted]
    record['predict'] = routing if any(routing) else None
    model.train()
    torch.manual_seed(0)
    losses = model(inputs, [s.clone() for s in samples], mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    record['loss'] = {
        key: float(value.detach()) if value.numel() == 1 else summarise(value)
        for key, value in sorted(losses.items())
    }
    # fsum: exactly rounded, so independent of the parameters' order
    record['grad_abs_sum'] = {
        name: math.fsum(
            float(p.grad.detach().double().abs().sum())
            for p in child.parameters() if p.grad is not None)
        for name, child in model.named_children()
        if name != 'data_preprocessor'
    }
    return record


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    return abs(a - b) <= atol + rtol * abs(b)


def _compare_summary(name: str, got: dict, want: dict, exact: bool,
                     rtol: float, errors: List[str]) -> None:
    if got['shape'] != want['shape']:
        errors.append(f'{name}: shape {got["shape"]} != {want["shape"]}')
        return
    if exact:
        if got['sha256'] != want['sha256']:
            errors.append(
                f'{name}: values differ (sum {got["sum"]!r} vs '
                f'{want["sum"]!r}, abs_sum {got["abs_sum"]!r} vs '
                f'{want["abs_sum"]!r})')
        return
    scale = max(want['abs_sum'] / max(1, np.prod(want['shape'])), 1e-12)
    for key in ('sum', 'abs_sum'):
        if not _close(got[key], want[key], rtol, rtol * scale *
                      np.prod(want['shape'])):
            errors.append(f'{name}: {key} {got[key]!r} != {want[key]!r}')
    for i, (a, b) in enumerate(zip(got['values'], want['values'])):
        if not _close(a, b, rtol, rtol * scale):
            errors.append(f'{name}: value {i} {a!r} != {b!r}')


def compare_records(got: dict, want: dict, rtol: float = 1e-3,
                    exact: bool = False) -> List[str]:
    """Differences between two records (empty when they agree).

    Args:
        got (dict): A fresh :func:`model_record`.
        want (dict): The golden record.
        rtol (float): Relative tolerance where the comparison is not exact.
            Logged accuracies (``acc_*``, counts of argmax hits) move by
            whole pixels when near-tied random logits round differently;
            they are compared to within :data:`ACC_ATOL` percentage points.
        exact (bool): Compare hashes and floats bit for bit. Only
            meaningful on the machine (CPU, torch build, thread count) that
            made ``want``. Defaults to False.

    Returns:
        list[str]: One line per difference.
    """
    errors: List[str] = []
    if exact:
        machine = ('torch', 'cpu_capability')
        if any(got[k] != want[k] for k in machine):
            errors.append(
                'exact comparison across machines: recorded with ' +
                ', '.join(f'{k} {want[k]}' for k in machine) + '; now ' +
                ', '.join(f'{k} {got[k]}' for k in machine))
    if got['keys'] != want['keys']:
        errors.append(f'state-dict keys: {got["keys"]} != {want["keys"]}')
    # tensors are summaries (dicts); losses and gradient sums are floats
    # except a loss that is a map
    for section in ('tensor', 'loss', 'grad_abs_sum'):
        if sorted(got[section]) != sorted(want[section]):
            errors.append(f'{section}: keys {sorted(got[section])} != '
                          f'{sorted(want[section])}')
            continue
        for key, value in want[section].items():
            other = got[section][key]
            if isinstance(value, dict):
                _compare_summary(f'{section}.{key}', other, value, exact,
                                 rtol, errors)
            elif (other != value if exact else not _close(
                    other, value, rtol,
                    ACC_ATOL if _is_accuracy(key) else 1e-12)):
                errors.append(f'{section}.{key}: {other!r} != {value!r}')
    if got['predict'] != want['predict']:
        if exact or not _nested_close(got['predict'], want['predict'], rtol):
            errors.append('predict: routing metainfo differs')
    return errors


def _is_accuracy(key: str) -> bool:
    return key.rsplit('.', 1)[-1].startswith('acc')


def _nested_close(a, b, rtol: float) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(
            _nested_close(x, y, rtol) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return sorted(a) == sorted(b) and all(
            _nested_close(a[k], b[k], rtol) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        return _close(float(a), float(b), rtol, 1e-7)
    return a == b
