"""Embed ALLNet's restoration and refined task features and score clusters.

Runs a trained ALLNet (MaE neck + TCR head with CTI) over its test split
and records, per image, the MaE neck's restoration features ``P`` and the
refined task features ``P''_t`` of the cross-task interaction, at one
scale, averaged over space. Both sets are standardised and embedded in
2-D (t-SNE from scikit-learn by default, UMAP with umap-learn, PCA as the
fallback when neither is installed) and drawn: ``P`` coloured by
degradation type, ``P''_t`` coloured by task (marker: degradation type).
Silhouette scores in the standardised feature space (not the 2-D
embedding) say how well each labelling separates each set; the paper's
reading is that ``P`` clusters by degradation and ``P''_t`` by task.

Writes ``<out-dir>/features_P_by_degradation.png``,
``features_P2_by_task.png`` and ``features.json`` (scores, method, counts)
and prints the scores.

Example:
    python tools/analysis_tools/feature_embedding.py \
        configs/allnet/allnet_r18-w32_1xb8-500_synthscenes-96x128.py \
        work_dirs/allnet_r18-w32_1xb8-500_synthscenes-96x128/iter_500.pth \
        --out-dir work_dirs/features
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import List, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from mmengine.utils import ProgressBar  # noqa: E402

import mmallnet  # noqa: E402,F401  (registers the models and datasets)
from mmallnet.apis import init_model  # noqa: E402
from mmallnet.utils import (  # noqa: E402
    TRUST_FLAG,
    TRUST_HELP,
    resolve_config_path,
    trust_checkpoints,
)
from mmallnet.visualization.feature_embedding import (  # noqa: E402
    EMBEDDING_METHODS,
    FeatureCollector,
    embed_2d,
    plot_embedding,
    silhouette_score,
    standardise,
)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Embed ALLNet features P (by degradation) and P\'\'_t '
        '(by task) and print silhouette scores.')
    parser.add_argument('config', help='config file (or mmseg::<path>)')
    parser.add_argument('checkpoint', help='checkpoint of the whole model')
    parser.add_argument('--out-dir', default='work_dirs/feature_embedding',
                        help='where the plots and features.json go')
    parser.add_argument('--scale', type=int, default=None,
                        help='scale index (0 = 1/4); default: the coarsest '
                        'scale with cross-task interaction')
    parser.add_argument('--method', choices=EMBEDDING_METHODS,
                        default='auto',
                        help='2-D embedding (auto: t-SNE if scikit-learn '
                        'is installed, else PCA)')
    parser.add_argument('--max-images', type=int, default=None,
                        help='stop after this many test images')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of t-SNE / UMAP')
    parser.add_argument('--device', default='cpu', help='e.g. cuda:0')
    parser.add_argument(TRUST_FLAG, action='store_true', help=TRUST_HELP)
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args(argv)


def collect(model, dataloader, scale: Optional[int],
            max_images: Optional[int]):
    """Run the model over the dataloader and keep P, P''_t and the types.

    Returns:
        tuple: ``P`` ``(N, C)``, task -> ``P''_t`` ``(N, N_tokens)``, the
        ``N`` degradation types, and the scale used.
    """
    types: List[str] = []
    total = len(dataloader.dataset)
    if max_images is not None:
        total = min(total, max_images)
    progress = ProgressBar(total)
    with FeatureCollector(model, scale) as collector, torch.no_grad():
        for data in dataloader:
            predictions = model.test_step(data)
            for sample in predictions:
                if 'degradation_type' not in sample:
                    raise KeyError(
                        f'{sample.get("img_path", "a test image")} has no '
                        '"degradation_type": the test pipeline needs a '
                        'degradation transform (e.g. RandomDegradation or '
                        'a degraded benchmark).')
                types.append(str(sample.degradation_type))
                progress.update()
            if max_images is not None and len(types) >= max_images:
                break
    restoration, tasks = collector.arrays()
    n = len(types) if max_images is None else min(len(types), max_images)
    return (restoration[:n], {t: v[:n] for t, v in tasks.items()},
            types[:n], collector.scale)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    if args.trust_checkpoint:
        trust_checkpoints()
    cfg = Config.fromfile(resolve_config_path(args.config))
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = init_model(cfg, args.checkpoint, device=args.device)
    dataloader = Runner.build_dataloader(cfg.test_dataloader)
    restoration, tasks, types, scale = collect(model, dataloader, args.scale,
                                               args.max_images)
    task_names = sorted(tasks)
    p = standardise(restoration)
    p2 = standardise(np.concatenate([tasks[t] for t in task_names]))
    p2_tasks = [t for t in task_names for _ in types]
    p2_types = types * len(task_names)
    scores = {}
    if len(set(types)) > 1:
        scores['P_by_degradation'] = silhouette_score(p, types)
        scores['P2_by_degradation'] = silhouette_score(p2, p2_types)
    if len(task_names) > 1:
        scores['P2_by_task'] = silhouette_score(p2, p2_tasks)
    p_xy, method = embed_2d(p, args.method, args.seed)
    p2_xy, _ = embed_2d(p2, method, args.seed)
    os.makedirs(args.out_dir, exist_ok=True)
    where = f'1/{4 * 2**scale}'
    plot_embedding(
        p_xy, types, f'P (MaE restoration features, {where}) by '
        f'degradation, {method}',
        osp.join(args.out_dir, 'features_P_by_degradation.png'))
    plot_embedding(
        p2_xy, p2_tasks, f"P''_t (CTI refined task features, {where}) by "
        f'task, {method}',
        osp.join(args.out_dir, 'features_P2_by_task.png'), markers=p2_types)
    result = dict(
        config=args.config, checkpoint=args.checkpoint, scale=scale,
        method=method, images=len(types), tasks=task_names,
        degradation_types=sorted(set(types)), silhouette=scores)
    with open(osp.join(args.out_dir, 'features.json'), 'w') as f:
        json.dump(result, f, indent=2)
    print(f'\n{len(types)} images, scale {where}, embedding: {method}')
    print('silhouette (standardised features; 1 = separated, 0 = mixed):')
    for key, value in scores.items():
        print(f'  {key:<18} {value:+.3f}')
    print(f'plots and features.json in {args.out_dir}')
    return result


if __name__ == '__main__':
    main()
