"""FLOP, activation and parameter counts with this project's op handles.

MMEngine's :class:`~mmengine.analysis.FlopAnalyzer` traces the model with
``torch.jit`` and counts only the ops it has a handle for; every other op
contributes 0. Convention (fvcore's, kept by MMEngine): one fused
multiply-add is one FLOP, and ops that are not multiply-adds (activations,
element-wise ``add``/``mul``, ``softmax``) are not counted. Out of the box
it misses:

- the DCNv3 core, a custom autograd function that the trace records as a
  single ``prim::PythonOp.DCNv3Function`` node whose inner ops are hidden
  in a sub-graph (without a handle it counts 0);
- ``aten::scaled_dot_product_attention`` (its two batched matrix products
  would be counted if the attention were written with ``matmul``).

:data:`EXTRA_FLOP_HANDLES` and :data:`EXTRA_ACTIVATION_HANDLES` add them.
Handles for further ops (e.g. new attention kernels) go into these dicts,
keyed by the op name the trace reports (``aten::<op>`` or
``prim::PythonOp.<FunctionClassName>``), or are passed per call to
:func:`get_model_complexity`.

DCNv3 convention (OpenGVLab/InternImage ``segmentation/get_flops.py``,
``dcnv3_flops``): the core costs ``5 * Ho * Wo * P * C`` per image,
``P = K * K`` sampling points and ``C`` channels: every sampled channel
value is a bilinear interpolation of 4 neighbours (4 multiply-adds) times
its modulation mask (1 multiply-add). The offset / mask / projection
linears and the depthwise conv of a DCNv3 layer are ordinary ops, counted
by MMEngine's handles.
"""
import os
import typing
from collections import Counter
from contextlib import contextmanager
from math import prod
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.analysis import (
    ActivationAnalyzer,
    FlopAnalyzer,
    parameter_count,
)
from mmengine.analysis.jit_handles import Handle, generic_activation_jit
from mmengine.analysis.print_helper import (
    _format_size,
    complexity_stats_str,
    complexity_stats_table,
)
from mmengine.model import BaseModel
from torch import Tensor

#: Trace name of :class:`mmallnet.models.layers.DCNv3Function`.
DCNV3_OP_NAME = 'prim::PythonOp.DCNv3Function'


def _shape(value: Any, what: str) -> List[int]:
    """Complete shape of a traced value or a clear error."""
    if not value.isCompleteTensor():
        raise ValueError(f'FLOP handle: the shape of {what} is unknown in '
                         'the trace')
    return list(value.type().sizes())


def dcnv3_flop_jit(inputs: List[Any],
                   outputs: List[Any]) -> typing.Counter[str]:
    """FLOPs of the DCNv3 core, ``5 * N * Ho * Wo * P * C``.

    The handle of ``prim::PythonOp.DCNv3Function`` (MMEngine's handle
    signature). Tensor inputs are ``value (N, H, W, C)``, ``offset`` and
    ``mask (N, Ho, Wo, G * P)``; the non-tensor arguments
    ``(kernel_size, stride, pad, dilation, group, offset_scale)`` are read
    from the op node (``scalar_args``), which is the producer of
    ``outputs[0]``.

    Args:
        inputs (list[torch._C.Value]): ``value``, ``offset``, ``mask``.
        outputs (list[torch._C.Value]): The ``(N, Ho, Wo, C)`` output.

    Returns:
        Counter[str]: ``{'dcnv3': flops}``: 4 multiply-adds of the bilinear
        interpolation plus 1 of the mask per sampled channel value.
    """
    n, out_h, out_w, channels = _shape(outputs[0], 'the DCNv3 output')
    mask_channels = _shape(inputs[2], 'the DCNv3 mask')[-1]
    kernel_size = outputs[0].node().scalar_args()[0]
    points = kernel_size * kernel_size
    if mask_channels % points:
        raise ValueError(
            f'DCNv3 FLOP handle: mask channels ({mask_channels}) are not a '
            f'multiple of kernel_size**2 ({points})')
    return Counter({'dcnv3': 5 * n * out_h * out_w * points * channels})


def softmax_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """One FLOP per element of a softmax (opt-in, see the module docstring).

    ``exp``, the sum and the division are not multiply-adds, so by the
    default convention a softmax is free. This handle puts it on the
    footing of MMEngine's element-wise counters (e.g. one FLOP per output
    element of ``upsample_nearest2d``).

    Args:
        inputs (list[torch._C.Value]): The softmax input first.
        outputs (list[torch._C.Value]): The output.

    Returns:
        int: The number of elements of the input.
    """
    return prod(_shape(inputs[0], 'the softmax input'))


def sdpa_flop_counter(count_softmax: bool = False) -> Handle:
    """Handle of ``aten::scaled_dot_product_attention``.

    ``q (..., L, E)``, ``k (..., S, E)``, ``v (..., S, Ev)``: ``Q K^T``
    costs ``B * L * S * E`` and ``A V`` ``B * L * S * Ev`` multiply-adds,
    ``B`` the product of the batch / head dimensions of ``q`` — the count
    MMEngine gives the same attention written with ``matmul``.

    Args:
        count_softmax (bool): Add one FLOP per attention weight
            (``B * L * S``), as :func:`softmax_flop_jit`. Defaults to False.

    Returns:
        Callable: The handle.
    """

    def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
        q_shape = _shape(inputs[0], 'the attention query')
        k_shape = _shape(inputs[1], 'the attention key')
        v_shape = _shape(inputs[2], 'the attention value')
        batch = prod(q_shape[:-2])
        length, dim = q_shape[-2:]
        source, value_dim = k_shape[-2], v_shape[-1]
        flops = batch * length * source * (dim + value_dim)
        if count_softmax:
            flops += batch * length * source
        return flops

    return sdpa_flop_jit


#: FLOP handles this project adds to MMEngine's defaults.
EXTRA_FLOP_HANDLES: Dict[str, Handle] = {
    DCNV3_OP_NAME: dcnv3_flop_jit,
    'aten::scaled_dot_product_attention': sdpa_flop_counter(),
}

#: FLOP handles used on top of :data:`EXTRA_FLOP_HANDLES` when
#: ``count_softmax=True``.
SOFTMAX_FLOP_HANDLES: Dict[str, Handle] = {
    'aten::softmax': softmax_flop_jit,
    'aten::scaled_dot_product_attention': sdpa_flop_counter(True),
}

#: Activation handles this project adds to MMEngine's defaults (which count
#: the outputs of convs and matrix products): the DCNv3 core output and the
#: attention output.
EXTRA_ACTIVATION_HANDLES: Dict[str, Handle] = {
    DCNV3_OP_NAME: generic_activation_jit('dcnv3'),
    'aten::scaled_dot_product_attention': generic_activation_jit(),
}


class TensorModeWrapper(nn.Module):
    """Trace-friendly view of a segmentor: ``model(inputs, mode='tensor')``.

    The wrapper shares the model's children (and its own parameters) under
    the same names, so per-module statistics are keyed like the model
    (``backbone.levels.0``, ``decode_head``...). Its forward returns the
    tensors of the model's raw output (a tensor, or a possibly nested dict
    / list / tuple of them, e.g. the task dict of
    :class:`~mmallnet.models.segmentors.MultiTaskEncoderDecoder`) as a flat
    tuple.

    Args:
        model (nn.Module): The model. An MMEngine ``BaseModel`` is called
            with ``mode='tensor'``, other modules with the inputs only.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        # A list keeps the model out of the module tree (no name prefix).
        self._wrapped = [model]
        for name, child in model.named_children():
            self.add_module(name, child)
        for name, param in model.named_parameters(recurse=False):
            self.register_parameter(name, param)

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """Run the model and flatten its tensor outputs.

        Args:
            inputs (Tensor): The model input ``(N, C, H, W)``.

        Returns:
            tuple[Tensor]: Every output tensor, in output order.
        """
        model = self._wrapped[0]
        if isinstance(model, BaseModel):
            outputs = model(inputs, mode='tensor')
        else:
            outputs = model(inputs)
        return tuple(_flatten_tensors(outputs))


def _flatten_tensors(outputs: Any) -> List[Tensor]:
    if isinstance(outputs, Tensor):
        return [outputs]
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if isinstance(outputs, (list, tuple)):
        return [t for item in outputs for t in _flatten_tensors(item)]
    return []


def _zero_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """Handle of an op that is deliberately not counted."""
    return 0


def _resolve_handles(
        handles: Dict[str, Optional[Handle]]) -> Dict[str, Handle]:
    """Turn ``None`` ("ignore this op") into a handle that counts 0.

    MMEngine's own ``set_op_handle(name, None)`` neither removes a default
    handle nor silences ``prim::PythonOp.*`` ops (its ignore list is
    matched against the bare node kind ``prim::PythonOp``).
    """
    return {
        name: _zero_flop_jit if handle is None else handle
        for name, handle in handles.items()
    }


@contextmanager
def _wide_tables(width: int = 160) -> Iterator[None]:
    """Let MMEngine's rich tables be ``width`` wide unless ``COLUMNS`` is
    set (rich falls back to 80 columns off a terminal and cuts names)."""
    if 'COLUMNS' in os.environ:
        yield
        return
    os.environ['COLUMNS'] = str(width)
    try:
        yield
    finally:
        os.environ.pop('COLUMNS', None)


def get_model_complexity(
        model: nn.Module,
        inputs: Union[Tensor, Tuple[Any, ...]],
        flop_handles: Optional[Dict[str, Optional[Handle]]] = None,
        activation_handles: Optional[Dict[str, Optional[Handle]]] = None,
        count_softmax: bool = False,
        with_activations: bool = True,
        show_table: bool = False,
        show_arch: bool = False,
        max_depth: int = 3) -> Dict[str, Any]:
    """FLOPs, activations and parameters of ``model(*inputs)``.

    MMEngine's analyzers with :data:`EXTRA_FLOP_HANDLES` /
    :data:`EXTRA_ACTIVATION_HANDLES` added. The model is traced under
    ``torch.no_grad()`` as it is (put it in eval mode first for inference
    counts: batch norms in training mode are counted as training norms).
    Counts are for the whole batch of ``inputs``.

    Args:
        model (nn.Module): The model; wrap a segmentor in
            :class:`TensorModeWrapper`.
        inputs (Tensor | tuple): Input(s) of ``model``.
        flop_handles (dict, optional): More FLOP handles, op name ->
            handle; they override the defaults (MMEngine's too) and
            ``None`` counts an op as 0 without reporting it as unsupported.
        activation_handles (dict, optional): The same for activations.
        count_softmax (bool): Count softmax (one FLOP per element, also
            inside ``scaled_dot_product_attention``). Defaults to False,
            which keeps totals comparable with the published InternImage /
            OpenMMLab numbers.
        with_activations (bool): Also count activations (a second trace).
            Defaults to True.
        show_table (bool): Build the per-module table. Defaults to False.
        show_arch (bool): Build the per-module model print-out. Defaults to
            False.
        max_depth (int): Module depth of the table. Defaults to 3.

    Returns:
        dict: ``flops``, ``params``, ``activations`` (None without
        ``with_activations``) and their ``*_str`` forms (``'1.23G'``),
        ``flops_by_operator`` (Counter), ``unsupported_ops`` (Counter of the
        traced ops counted as 0 FLOPs), ``table`` and ``arch`` (strings,
        empty unless requested) and the analyzers ``flop_analyzer`` /
        ``activation_analyzer``.
    """
    flop_set: Dict[str, Optional[Handle]] = dict(EXTRA_FLOP_HANDLES)
    if count_softmax:
        flop_set.update(SOFTMAX_FLOP_HANDLES)
    flop_set.update(flop_handles or {})
    act_set: Dict[str, Optional[Handle]] = dict(EXTRA_ACTIVATION_HANDLES)
    act_set.update(activation_handles or {})

    flop_analyzer = FlopAnalyzer(model, inputs).set_op_handle(
        **_resolve_handles(flop_set))
    flop_analyzer.unsupported_ops_warnings(False)
    flop_analyzer.uncalled_modules_warnings(False)
    act_analyzer = None
    if with_activations:
        act_analyzer = ActivationAnalyzer(model, inputs).set_op_handle(
            **_resolve_handles(act_set))
        act_analyzer.unsupported_ops_warnings(False)
        act_analyzer.uncalled_modules_warnings(False)

    with torch.no_grad(), _wide_tables():
        flops = flop_analyzer.total()
        activations = act_analyzer.total() if act_analyzer else None
        table = arch = ''
        if show_table:
            table = complexity_stats_table(
                flops=flop_analyzer,
                max_depth=max_depth,
                activations=act_analyzer,
                show_param_shapes=False)
        if show_arch:
            arch = complexity_stats_str(
                flops=flop_analyzer, activations=act_analyzer)
    params = parameter_count(model)['']
    return dict(
        flops=flops,
        flops_str=_format_size(flops),
        params=params,
        params_str=_format_size(params),
        activations=activations,
        activations_str=(None if activations is None else
                         _format_size(activations)),
        flops_by_operator=flop_analyzer.by_operator(),
        unsupported_ops=flop_analyzer.unsupported_ops(),
        table=table,
        arch=arch,
        flop_analyzer=flop_analyzer,
        activation_analyzer=act_analyzer)
