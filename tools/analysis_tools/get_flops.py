"""FLOPs and parameters of a model config of this project (or MMSeg's).

Example:
    python tools/analysis_tools/get_flops.py CONFIG --shape 512 512 \
        [--cfg-options KEY=VALUE ...] [--show-table] [--count-softmax]

Works for every segmentor whose ``forward(inputs, mode='tensor')`` returns
tensors: :class:`MultiTaskEncoderDecoder` (a dict of task maps) and MMSeg's
``EncoderDecoder`` (logits). One random image of ``--shape`` goes through
the model's data preprocessor (test-time padding, e.g. ``size_divisor``)
and then through ``mode='tensor'``, which is the network without post
processing: the auxiliary head of an ``EncoderDecoder`` is not run, but its
parameters are counted (and reported separately). The model is built on the
CPU in eval mode with SyncBN reverted to BN, traced with ``torch.no_grad()``.

Counting (see :mod:`mmallnet.utils.complexity`): one multiply-add is one
FLOP (fvcore / MMEngine); convs, linears, matrix products, norms,
upsampling and the DCNv3 core (``5 * Ho * Wo * K^2 * C`` per image, the
official InternImage convention) are counted; activations, element-wise
ops and (unless ``--count-softmax``) softmax are not. FLOPs are per image.

Why not MMSeg 1.2.2's ``tools/analysis_tools/get_flops.py``: it passes both
``input_shape`` and ``inputs`` to ``mmengine.analysis
.get_model_complexity_info``, which since the MMEngine release this project
pins (0.10.7) raises ``ValueError: "input_shape" and "inputs" cannot be both
set.`` for every config. Once that is bypassed, MMEngine's counter has no
handle for the DCNv3 autograd function (``prim::PythonOp.DCNv3Function``)
and reports InternImage's deformable sampling as 0 FLOPs; the tool also
assumes a ``decode_head`` (ours is fine) and drops the auxiliary head from
the parameter count while the published InternImage numbers include it.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.structures import BaseDataElement

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
from mmseg.registry import MODELS  # noqa: E402

import mmallnet  # noqa: E402,F401  (registers modules)
from mmallnet.utils import (  # noqa: E402
    TensorModeWrapper,
    get_model_complexity,
)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` if None.

    Returns:
        argparse.Namespace: The arguments.
    """
    parser = argparse.ArgumentParser(
        description='FLOPs and parameters of a segmentor config')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=[512, 512],
        help='input size: H W, or one value for a square input '
        '(default: 512 512)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs, e.g. '
        'model.backbone.depth=50 or key="[a,b]"')
    parser.add_argument(
        '--show-table',
        action='store_true',
        help='print the per-module table of parameters / FLOPs / '
        'activations')
    parser.add_argument(
        '--show-arch',
        action='store_true',
        help='print the model with per-module statistics')
    parser.add_argument(
        '--max-depth',
        type=int,
        default=3,
        help='module depth of the table (default: 3)')
    parser.add_argument(
        '--count-softmax',
        action='store_true',
        help='count softmax as one FLOP per element (not counted by '
        'default, like the published numbers)')
    args = parser.parse_args(argv)
    if len(args.shape) == 1:
        args.shape = args.shape * 2
    if len(args.shape) != 2:
        parser.error('--shape takes H W or a single size')
    return args


def build_model(cfg: Config) -> torch.nn.Module:
    """Build ``cfg.model`` on the CPU, in eval mode, SyncBN -> BN.

    Weights are not initialised (``init_weights`` would download
    pretrained checkpoints); FLOPs and parameter counts do not need them.

    Args:
        cfg (Config): The full config.

    Returns:
        nn.Module: The model.
    """
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = MODELS.build(cfg.model)
    model = revert_sync_batchnorm(model)
    return model.cpu().eval()


def make_inputs(model: torch.nn.Module, height: int,
                width: int) -> torch.Tensor:
    """One random image, through the model's data preprocessor if any.

    Args:
        model (nn.Module): The model.
        height (int): Image height.
        width (int): Image width.

    Returns:
        Tensor: ``(1, 3, H', W')``, padded as at test time.
    """
    image = torch.randint(0, 256, (3, height, width), dtype=torch.uint8)
    preprocessor = getattr(model, 'data_preprocessor', None)
    if preprocessor is None:
        return image[None].float()
    shape = (height, width)
    sample = BaseDataElement(
        metainfo=dict(ori_shape=shape, img_shape=shape, pad_shape=shape))
    data = preprocessor(
        dict(inputs=[image], data_samples=[sample]), training=False)
    return data['inputs']


def main(argv: Optional[List[str]] = None) -> dict:
    """Print the FLOPs and parameters of a config's model.

    Args:
        argv (list[str], optional): Command line; ``sys.argv[1:]`` if None.

    Returns:
        dict: The result of :func:`mmallnet.utils.get_model_complexity`
        plus ``input_shape`` (C, H, W) as traced.
    """
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    model = build_model(cfg)
    height, width = args.shape
    with torch.no_grad():
        inputs = make_inputs(model, height, width)
    result = get_model_complexity(
        TensorModeWrapper(model), (inputs, ),
        count_softmax=args.count_softmax,
        show_table=args.show_table,
        show_arch=args.show_arch,
        max_depth=args.max_depth)
    input_shape = tuple(inputs.shape[1:])
    result['input_shape'] = input_shape

    split_line = '=' * 40
    lines = [split_line]
    if input_shape[1:] != (height, width):
        lines.append(f'Input padded by the data preprocessor from '
                     f'{(height, width)} to {input_shape[1:]}')
    lines += [
        f'Input shape: {input_shape}',
        f'Flops: {result["flops"] / 1e9:.3f} G ({result["flops_str"]})',
        f'Params: {result["params"] / 1e6:.3f} M ({result["params_str"]})',
    ]
    aux = getattr(model, 'auxiliary_head', None)
    if isinstance(aux, torch.nn.Module):
        aux_params = sum(p.numel() for p in aux.parameters())
        lines.append(f'  of which auxiliary head (training only): '
                     f'{aux_params / 1e6:.3f} M')
    lines.append(f'Activations: {result["activations_str"]}')
    if result['unsupported_ops']:
        skipped = ', '.join(
            f'{op} x{n}'
            for op, n in sorted(result['unsupported_ops'].items()))
        lines.append(f'Not counted (0 FLOPs): {skipped}')
    lines.append(split_line)
    if args.show_table:
        lines.append(result['table'])
    if args.show_arch:
        lines.append(result['arch'])
    print('\n'.join(lines))
    return result


if __name__ == '__main__':
    main()
