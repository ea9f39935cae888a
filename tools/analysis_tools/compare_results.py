"""Compare test results of models against a baseline, with Δ_MTL.

Example (the README demo's table):
    python tools/analysis_tools/compare_results.py \
        work_dirs/demo_baseline/20261128_061704/20261128_061704.json \
        work_dirs/demo/20261128_101500/20261128_101500.json \
        --names baseline ALLNet-tiny

Each input is the metrics JSON that ``tools/test.py`` writes into
``WORK_DIR/<timestamp>/<timestamp>.json`` (keys such as
``mt/semseg.mIoU``), or a work dir, whose newest such file with test
metrics is used. The first file is the baseline. The table has one row per
primary metric (those of ``--metrics`` present in every file), the value of
each model and its change relative to the baseline in percent, signed so
that positive is better. The last row is Δ_MTL
(:func:`mmallnet.evaluation.functional.delta_mtl`) over the task metrics
(restoration PSNR is reported but, as in the multi-task literature, left
out of Δ_MTL unless ``--delta-includes-restoration``). ``--prefix
mt/noise/`` compares one degradation type.
"""
import argparse
import glob
import json
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

from mmallnet.evaluation.functional import DEFAULT_LOWER_IS_BETTER, delta_mtl

#: The primary metric of each task and of restoration, in table order.
PRIMARY_METRICS = ('semseg.mIoU', 'parts.mIoU', 'saliency.maxF',
                   'depth.rmse', 'normals.mean', 'boundary.odsF_proxy',
                   'boundary.odsF', 'restoration.psnr')
RESTORATION_METRICS = ('restoration.psnr', )


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Compare test metrics against a baseline (Δ_MTL).')
    parser.add_argument(
        'results', nargs='+',
        help='metrics JSON files of tools/test.py (or their work dirs); '
        'the first is the baseline')
    parser.add_argument('--names', nargs='+', help='a column name per file')
    parser.add_argument('--prefix', default='mt/',
                        help='metric key prefix, e.g. mt/ or mt/fog/')
    parser.add_argument('--metrics', nargs='+', default=PRIMARY_METRICS,
                        help='metric names (after the prefix) to compare')
    parser.add_argument('--delta-includes-restoration', action='store_true',
                        help='count restoration PSNR in Δ_MTL too')
    return parser.parse_args(argv)


def find_metrics_file(path: str) -> str:
    """Resolve ``path`` (a JSON file or a work dir) to a metrics JSON file.

    Args:
        path (str): A ``<timestamp>.json`` of ``tools/test.py`` or a work
            dir holding ``<timestamp>/<timestamp>.json`` files.

    Returns:
        str: The file; for a work dir the newest one without training
        scalars (``tools/train.py`` writes per-iteration lines with
        ``"iter"``).
    """
    if osp.isfile(path):
        return path
    if not osp.isdir(path):
        raise FileNotFoundError(f'compare_results: {path!r} is neither a '
                                'metrics JSON file nor a work dir.')
    candidates = sorted(glob.glob(osp.join(path, '*', '*.json')))
    for candidate in reversed(candidates):
        with open(candidate) as f:
            first = f.readline()
        if first.strip() and '"iter"' not in first:
            return candidate
    raise FileNotFoundError(
        f'compare_results: no test metrics JSON under {path!r} (looked for '
        '<timestamp>/<timestamp>.json written by tools/test.py).')


def load_metrics(path: str) -> Dict[str, float]:
    """Read a metrics JSON of ``tools/test.py`` into a flat dict.

    Args:
        path (str): The JSON file (one object; the last line is used if
            the file has several, as a training run's scalars do).

    Returns:
        dict[str, float]: Metric key -> value.
    """
    with open(path) as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    if not lines:
        raise ValueError(f'compare_results: {path!r} is empty.')
    try:
        data = json.loads(lines[-1])
    except json.JSONDecodeError as e:
        raise ValueError(f'compare_results: {path!r} is not a metrics JSON '
                         f'of tools/test.py ({e}).') from e
    metrics = {
        k: float(v)
        for k, v in data.items() if isinstance(v, (int, float))
    }
    if not any(k.startswith('mt/') for k in metrics):
        raise ValueError(f'compare_results: {path!r} has no multi-task '
                         "metrics (keys starting with 'mt/').")
    return metrics


def compare(results: List[Dict[str, float]], names: List[str],
            prefix: str = 'mt/',
            metrics: Sequence[str] = PRIMARY_METRICS,
            delta_includes_restoration: bool = False) -> str:
    """Build the comparison table.

    Args:
        results (list[dict]): Metrics per model; the first is the baseline.
        names (list[str]): Column names, one per model.
        prefix (str): Key prefix of the compared metrics.
        metrics (Sequence[str]): Metric names after the prefix; those
            missing from any model are skipped, and the table says so.
        delta_includes_restoration (bool): Include PSNR in Δ_MTL.

    Returns:
        str: A Markdown table.
    """
    keys = [m for m in metrics if all(prefix + m in r for r in results)]
    if not keys:
        raise KeyError(f'compare_results: none of {list(metrics)} is in every '
                       f'file under the prefix {prefix!r}.')
    unknown = [m for m in keys if m not in DEFAULT_LOWER_IS_BETTER]
    if unknown:
        raise KeyError(f'compare_results: no known direction for {unknown}.')
    header = ['metric', names[0]]
    for name in names[1:]:
        header += [name, 'Δ %']
    rows = [header, ['---'] * len(header)]
    for m in keys:
        arrow = '↓' if DEFAULT_LOWER_IS_BETTER[m] else '↑'
        base = results[0][prefix + m]
        row = [f'{m} {arrow}', f'{base:.4g}']
        for r in results[1:]:
            value = r[prefix + m]
            # Δ_MTL of one metric is its signed relative change
            change = delta_mtl({m: value}, {m: base})
            row += [f'{value:.4g}', f'{change:+.2f}']
        rows.append(row)
    delta_keys = [
        prefix + m for m in keys
        if delta_includes_restoration or m not in RESTORATION_METRICS
    ]
    if delta_keys:
        baselines = {k: results[0][k] for k in delta_keys}
        row = ['Δ_MTL (%)', '0.00']
        for r in results[1:]:
            row += ['', f'{delta_mtl(r, baselines):+.2f}']
        rows.append(row)
    lines = ['| ' + ' | '.join(row) + ' |' for row in rows]
    skipped = [m for m in metrics if m not in keys]
    if skipped:
        lines.append(f'(not in every file, skipped: {", ".join(skipped)})')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> str:
    args = parse_args(argv)
    if len(args.results) < 2:
        raise SystemExit('compare_results: give the baseline and at least '
                         'one model.')
    names = args.names or [
        f'model{i}' if i else 'baseline' for i in range(len(args.results))
    ]
    if len(names) != len(args.results):
        raise SystemExit(f'compare_results: {len(names)} --names for '
                         f'{len(args.results)} result files.')
    files = [find_metrics_file(p) for p in args.results]
    table = compare([load_metrics(f) for f in files], names, args.prefix,
                    args.metrics, args.delta_includes_restoration)
    for name, f in zip(names, files):
        print(f'{name}: {f}')
    print(table)
    return table


if __name__ == '__main__':
    sys.exit(main() and 0)
