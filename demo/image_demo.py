"""Predict every task on an image (or a folder of images); write outputs.

    python demo/image_demo.py IMG CONFIG [CHECKPOINT] [--out-dir DIR]

IMG is an image file or a folder (its image files, sorted). Every output
of each image goes below ``--out-dir`` (see demo/README.md); the script
prints each file it writes.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmengine.config import DictAction  # noqa: E402

from mmallnet.apis import MultiTaskInferencer  # noqa: E402
from mmallnet.utils import (  # noqa: E402
    TRUST_FLAG,
    TRUST_HELP,
    CheckpointMismatchError,
    UntrustedCheckpointError,
    trust_checkpoints,
)

#: Errors of the user's input, reported without a traceback.
INPUT_ERRORS = (FileNotFoundError, ValueError, CheckpointMismatchError,
                UntrustedCheckpointError)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Multi-task prediction (semseg, depth, normals, '
        'boundary, saliency, parts, restoration) on images')
    parser.add_argument('img', help='image file, or a folder of images')
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        help='checkpoint of the whole model (e.g. the last one of '
        'tools/train.py); may be left out for a TwoStageCascade whose '
        'stage checkpoints are set in the config, otherwise the model '
        'keeps random weights (a warning says so)')
    parser.add_argument(
        '--out-dir',
        default='work_dirs/image_demo',
        help='folder receiving every output (default: %(default)s)')
    parser.add_argument(
        '--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument(
        '--batch-size', type=int, default=1, help='images per forward pass')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs')
    parser.add_argument(TRUST_FLAG, action='store_true', help=TRUST_HELP)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.trust_checkpoint:
        trust_checkpoints()
    try:
        inferencer = MultiTaskInferencer(
            args.config, args.checkpoint, device=args.device,
            cfg_options=args.cfg_options)
        result = inferencer([args.img], batch_size=args.batch_size,
                            out_dir=args.out_dir)
    except INPUT_ERRORS as error:
        sys.exit(f'image_demo.py: error: {error}')
    for files in result['files']:
        for kind, path in files.items():
            print(f'{kind:>13}: {path}')
    print(f'Wrote the outputs of {len(result["files"])} image(s) to '
          f'{args.out_dir}.')


if __name__ == '__main__':
    main()
