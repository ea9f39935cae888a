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

Runs with several seeds (one group of runs per model):
    python tools/analysis_tools/compare_results.py \
        --run baseline work_dirs/mtl_s0 work_dirs/mtl_s1 work_dirs/mtl_s2 \
        --run allnet work_dirs/allnet_s0 work_dirs/allnet_s1 \
        --run stl work_dirs/stl-semseg_s0 work_dirs/stl-depth_s0 ... \
        --reference baseline --stl stl --plot compare.png

prints every run with its seed, then one table: per metric and model the
mean ± sample std [min, max] over the group's runs, the change of the
means against ``--reference`` in % (positive = better), marked ``~`` when
the gap is inside the seed spread (``|mean_a − mean_b| <= max(std_a,
std_b)``; with one run per group the std is 0, so only ties are marked),
then Δ_MTL of every run, overall and per degradation type (``mt/<type>/``
keys), summarised the same way. Δ_MTL is taken against single-task
references: ``--stl NAME`` names a group of STL runs (configs/stl), each
contributing the metrics of its one task (seeds of a task averaged), or
``--stl-json`` gives the values (keys as ``MultiTaskMetric``'s
``single_task_refs``, e.g. ``{"semseg.mIoU": 40.0, "noise/depth.rmse":
0.8}``); without either, against the reference model's means. A type
without its own reference uses the overall one. ``--save-stl-refs`` writes
the STL references in the ``single_task_refs`` form. The seed of a run is
read from its work dir (the ``seed:`` line that MMEngine logs in
``<timestamp>/<timestamp>.log``, a training run's log first, else the
``randomness`` of ``<timestamp>/vis_data/config.py``), else taken from
``--seeds``, else ``unknown``.
"""
import argparse
import glob
import json
import math
import os.path as osp
import re
import statistics
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
from mmallnet.evaluation.functional import (  # noqa: E402
    DEFAULT_LOWER_IS_BETTER,
    delta_mtl,
)
from mmallnet.evaluation.metrics.multi_task_metric import (  # noqa: E402
    DEGRADATION_ORDER,
)

#: Table cell of a metric a model does not report.
NOT_REPORTED = '-'

#: The primary metric of each task and of restoration, in table order.
PRIMARY_METRICS = ('semseg.mIoU', 'parts.mIoU', 'saliency.maxF',
                   'depth.rmse', 'normals.mean', 'boundary.odsF_proxy',
                   'boundary.odsF', 'restoration.psnr')
RESTORATION_METRICS = ('restoration.psnr', )


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Compare test metrics against a baseline (Δ_MTL).')
    parser.add_argument(
        'results', nargs='*',
        help='metrics JSON files of tools/test.py (or their work dirs); '
        'the first is the baseline (one run per model; see --run)')
    parser.add_argument('--names', nargs='+', help='a column name per file')
    parser.add_argument(
        '--run', nargs='+', action='append', metavar=('NAME', 'PATH'),
        help='a model NAME and its runs (seeds), each a metrics JSON or a '
        'work dir; repeat per model')
    parser.add_argument('--seeds', nargs='+',
                        help='seeds of runs whose work dir does not say: '
                        'one per run of each group, or one per run in all')
    parser.add_argument('--reference', help='the model the Δ %% are taken '
                        'against (default: the first)')
    stl = parser.add_mutually_exclusive_group()
    stl.add_argument('--stl', metavar='NAME',
                     help='the --run group of single-task (STL) runs, the '
                     'references of Δ_MTL')
    stl.add_argument('--stl-json', metavar='FILE',
                     help='JSON of single-task reference values')
    parser.add_argument('--save-stl-refs', metavar='FILE',
                        help='write the STL references (single_task_refs '
                        'form) to FILE')
    parser.add_argument('--plot', metavar='PNG',
                        help='plot the means with std error bars per metric')
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


# ---------------------------------------------------------------------------
# Several runs (seeds) per model
# ---------------------------------------------------------------------------

#: ``seed: 0`` in the "Runtime environment" block MMEngine logs.
_LOG_SEED = re.compile(r'^\s+seed: (-?\d+)\s*$', re.MULTILINE)
#: ``randomness = dict(seed=0, ...)`` of a dumped config.
_CFG_RANDOMNESS = re.compile(r'^randomness\s*=\s*dict\(([^)]*)\)',
                             re.MULTILINE)
_CFG_SEED = re.compile(r'\bseed\s*=\s*(-?\d+)')
#: Marks a Δ whose gap is inside the seed spread (see :func:`in_spread`).
IN_SPREAD_MARK = '~'


@dataclass
class Run:
    """One evaluated run.

    Args:
        group (str): The model (``--run`` NAME) it belongs to.
        path (str): Its metrics JSON.
        seed (str): Its seed, or ``'unknown'``.
        metrics (dict[str, float]): Its metrics.
    """

    group: str
    path: str
    seed: str
    metrics: Dict[str, float]


@dataclass
class Stats:
    """Summary of one value over a group's runs.

    Args:
        mean (float): Mean.
        std (float): Sample standard deviation (ddof 1; 0 for one run).
        min (float): Smallest value.
        max (float): Largest value.
        n (int): Number of runs.
    """

    mean: float
    std: float
    min: float
    max: float
    n: int

    def cell(self) -> str:
        """``mean ± std [min, max]`` (rounding noise below 1e-9 shown as
        0)."""
        mean, low, high = (0.0 if abs(v) < 1e-9 else v
                           for v in (self.mean, self.min, self.max))
        return f'{mean:.4g} ± {self.std:.2g} [{low:.4g}, {high:.4g}]'


def summarise(values: Sequence[float]) -> Stats:
    """Mean, sample std, min, max and count of ``values``.

    Args:
        values (Sequence[float]): One value per run (at least one).

    Returns:
        Stats: The summary; ``std`` is 0 for a single value.
    """
    values = [float(v) for v in values]
    if not values:
        raise ValueError('compare_results: no value to summarise.')
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return Stats(math.fsum(values) / len(values), std, min(values),
                 max(values), len(values))


def in_spread(a: Stats, b: Stats) -> bool:
    """Whether the gap of two means is inside the seed spread.

    Args:
        a (Stats): One model's summary.
        b (Stats): The other's.

    Returns:
        bool: ``|a.mean − b.mean| <= max(a.std, b.std)``.
    """
    return abs(a.mean - b.mean) <= max(a.std, b.std)


def _seed_in_log(folder: str) -> Optional[str]:
    for log in sorted(glob.glob(osp.join(folder, '*.log'))):
        with open(log, errors='replace') as f:
            match = _LOG_SEED.search(f.read())
        if match:
            return match.group(1)
    return None


def _seed_in_config(folder: str) -> Optional[str]:
    path = osp.join(folder, 'vis_data', 'config.py')
    if not osp.isfile(path):
        return None
    with open(path, errors='replace') as f:
        randomness = _CFG_RANDOMNESS.search(f.read())
    match = randomness and _CFG_SEED.search(randomness.group(1))
    return match.group(1) if match else None


def _is_training_run(folder: str) -> bool:
    """A ``<timestamp>`` folder of ``tools/train.py``: its log has training
    iterations (``Iter(train)``; with ``--no-validate`` a training run
    writes no ``<timestamp>.json``)."""
    name = osp.basename(folder.rstrip('/'))
    path = osp.join(folder, f'{name}.log')
    if not osp.isfile(path):
        return False
    with open(path, errors='replace') as f:
        return any('Iter(train)' in line for line in f)


def read_seed(metrics_file: str) -> Optional[str]:
    """The seed of the run that ``metrics_file`` evaluates, if recorded.

    Looked up, in order: the newest training run of the same work dir
    (``<work_dir>/<timestamp>/<timestamp>.log``, the ``seed:`` line of
    MMEngine's runtime environment), since testing may run without the
    training's ``--cfg-options randomness.seed=...``; the log beside the
    file; the ``randomness`` of ``<timestamp>/vis_data/config.py`` beside
    it.

    Args:
        metrics_file (str): A ``<work_dir>/<timestamp>/<timestamp>.json``.

    Returns:
        str or None: The seed as text, None if nothing records it.
    """
    folder = osp.dirname(osp.abspath(metrics_file))
    training = [
        d for d in sorted(glob.glob(osp.join(osp.dirname(folder), '*', '')))
        if _is_training_run(d)
    ]
    for candidate in reversed(training):
        seed = _seed_in_log(candidate) or _seed_in_config(candidate)
        if seed is not None:
            return seed
    return _seed_in_log(folder) or _seed_in_config(folder)


def load_groups(groups: Sequence[Sequence[str]],
                seeds: Optional[Sequence[str]] = None) -> List[Run]:
    """Load every run of the ``--run`` groups.

    Args:
        groups (Sequence[Sequence[str]]): ``[NAME, PATH, ...]`` per model.
        seeds (Sequence[str], optional): Fallback seeds: one per run of
            each group (the same seeds for every group), or one per run in
            the order given.

    Returns:
        list[Run]: The runs, in order.
    """
    names = [g[0] for g in groups]
    for group in groups:
        if len(group) < 2:
            raise SystemExit(f'compare_results: --run {group[0]} has no '
                             'PATH; give --run NAME PATH [PATH ...].')
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise SystemExit(f'compare_results: --run names {duplicated} are '
                         'given twice; one --run per model.')
    total = sum(len(g) - 1 for g in groups)
    runs = []
    index = 0
    for group in groups:
        for i, path in enumerate(group[1:]):
            file = find_metrics_file(path)
            seed = read_seed(file)
            if seed is None and seeds:
                if len(seeds) == total:
                    seed = seeds[index]
                elif all(len(g) - 1 == len(seeds) for g in groups):
                    seed = seeds[i]
                else:
                    raise SystemExit(
                        f'compare_results: {len(seeds)} --seeds fit neither '
                        f'the {total} runs nor every group\'s run count '
                        f'{[len(g) - 1 for g in groups]}.')
            runs.append(Run(group[0], file, seed or 'unknown',
                            load_metrics(file)))
            index += 1
    return runs


def _task(metric: str) -> str:
    return metric.split('.', 1)[0]


def stl_references(runs: Sequence[Run], prefix: str = 'mt/',
                   metrics: Sequence[str] = PRIMARY_METRICS
                   ) -> Dict[str, float]:
    """Single-task references from STL runs, one task per run.

    Each run contributes every key of its task (``<prefix><task>.*`` and
    ``<prefix><type>/<task>.*``); the task is the one of ``metrics``
    (restoration aside) that the run reports. Runs of the same task
    (seeds) are averaged.

    Args:
        runs (Sequence[Run]): The STL runs.
        prefix (str): Key prefix. Defaults to ``'mt/'``.
        metrics (Sequence[str]): The primary metrics.

    Returns:
        dict[str, float]: Full key (with prefix) -> mean over the task's
        runs.
    """
    values: Dict[str, List[float]] = {}
    for run in runs:
        tasks = sorted({
            _task(m)
            for m in metrics
            if prefix + m in run.metrics and m not in RESTORATION_METRICS
        })
        if len(tasks) != 1:
            raise ValueError(
                f'compare_results: STL run {run.path!r} must report the '
                f'primary metric of exactly one task under {prefix!r}, got '
                f'{tasks or "none"}.')
        for key, value in run.metrics.items():
            if not key.startswith(prefix):
                continue
            name = key[len(prefix):].rsplit('/', 1)[-1]
            if _task(name) == tasks[0]:
                values.setdefault(key, []).append(value)
    return {k: math.fsum(v) / len(v) for k, v in values.items()}


def load_stl_json(path: str, prefix: str = 'mt/') -> Dict[str, float]:
    """Read single-task references from a JSON object.

    Args:
        path (str): Keys as ``MultiTaskMetric(single_task_refs=...)``
            takes them (``'semseg.mIoU'``, ``'noise/depth.rmse'``) or with
            the prefix (``'mt/semseg.mIoU'``).
        prefix (str): Key prefix added where missing.

    Returns:
        dict[str, float]: Full key -> value.
    """
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, dict) or not all(
            isinstance(v, (int, float)) for v in data.values()):
        raise ValueError(f'compare_results: {path!r} must hold one JSON '
                         'object of metric name -> number.')
    return {(k if k.startswith(prefix) else prefix + k): float(v)
            for k, v in data.items()}


def single_task_refs(refs: Dict[str, float], prefix: str = 'mt/',
                     metrics: Sequence[str] = PRIMARY_METRICS
                     ) -> Dict[str, float]:
    """The primary-metric references in ``single_task_refs`` form.

    Args:
        refs (dict[str, float]): Full keys (with prefix) -> value.
        prefix (str): The prefix to strip.
        metrics (Sequence[str]): The primary metrics kept.

    Returns:
        dict[str, float]: e.g. ``{'semseg.mIoU': 40.0,
        'noise/semseg.mIoU': 30.0}``, for ``MultiTaskMetric``.
    """
    return {
        k[len(prefix):]: v
        for k, v in refs.items() if k.startswith(prefix)
        and k[len(prefix):].rsplit('/', 1)[-1] in metrics
    }


def degradation_types(runs: Sequence[Run], prefix: str,
                      metrics: Sequence[str]) -> List[str]:
    """The degradation types every run reports all ``metrics`` of.

    Args:
        runs (Sequence[Run]): The runs.
        prefix (str): Key prefix, e.g. ``'mt/'``.
        metrics (Sequence[str]): Metric names.

    Returns:
        list[str]: Types of ``<prefix><type>/<metric>`` keys, known types
        (:data:`DEGRADATION_ORDER`) first, then sorted.
    """
    types = None
    for run in runs:
        found = {
            k[len(prefix):].split('/')[0]
            for k in run.metrics
            if k.startswith(prefix) and k[len(prefix):].count('/') == 1
        }
        found = {
            t for t in found
            if all(f'{prefix}{t}/{m}' in run.metrics for m in metrics)
        }
        types = found if types is None else types & found
    types = types or set()
    known = [t for t in DEGRADATION_ORDER if t in types]
    return known + sorted(types - set(known))


def run_delta(run: Run, refs: Dict[str, float], prefix: str,
              metrics: Sequence[str], group: str = '') -> float:
    """Δ_MTL of one run, overall or for one degradation type.

    Args:
        run (Run): The run.
        refs (dict[str, float]): Full keys -> reference values.
        prefix (str): Key prefix, e.g. ``'mt/'``.
        metrics (Sequence[str]): One metric per task.
        group (str): Degradation type, '' for all images. A type without
            its own reference uses the overall one.

    Returns:
        float: Δ_MTL in %.
    """
    sub = f'{prefix}{group}/' if group else prefix
    baselines = {}
    for m in metrics:
        key = sub + m
        if key in refs:
            baselines[m] = refs[key]
        elif prefix + m in refs:
            baselines[m] = refs[prefix + m]
        else:
            raise KeyError(f'compare_results: no reference for {key!r} '
                           f'(nor {prefix + m!r}).')
    return delta_mtl({m: run.metrics[sub + m] for m in metrics}, baselines)


def compare_groups(runs: Sequence[Run],
                   reference: Optional[str] = None,
                   refs: Optional[Dict[str, float]] = None,
                   prefix: str = 'mt/',
                   metrics: Sequence[str] = PRIMARY_METRICS,
                   delta_includes_restoration: bool = False
                   ) -> Tuple[str, Dict[str, Dict[str, Stats]]]:
    """Build the table of means and spreads of several runs per model.

    Args:
        runs (Sequence[Run]): The models' runs (not the STL runs).
        reference (str, optional): The model the Δ % are taken against.
            Defaults to the first group.
        refs (dict[str, float], optional): Single-task references (full
            keys) for Δ_MTL; None: the reference model's means.
        prefix (str): Key prefix of the compared metrics.
        metrics (Sequence[str]): Metric names after the prefix. A model
            whose runs do not all report a metric gets ``-`` in its row
            (e.g. a restorer has no task metric, a semseg-only model no
            depth), and Δ_MTL only when it reports every Δ_MTL metric;
            metrics no model reports are left out, and the table says so.
        delta_includes_restoration (bool): Include PSNR in Δ_MTL.

    Returns:
        tuple: The Markdown text (runs, table, notes) and the summaries,
        row label -> model -> :class:`Stats` (only the models with that
        row's metric).
    """
    order = list(dict.fromkeys(r.group for r in runs))
    reference = reference or order[0]
    if reference not in order:
        raise SystemExit(f'compare_results: --reference {reference!r} is '
                         f'not a --run name ({order}).')
    order.remove(reference)
    order.insert(0, reference)
    by_group = {g: [r for r in runs if r.group == g] for g in order}

    def reports(group: str, keys: Sequence[str]) -> bool:
        return all(k in r.metrics for r in by_group[group] for k in keys)

    keys = [m for m in metrics if any(reports(g, [prefix + m]) for g in order)]
    if not keys:
        raise KeyError(f'compare_results: none of {list(metrics)} is in all '
                       f'the runs of any model under the prefix {prefix!r}.')
    unknown = [m for m in keys if m not in DEFAULT_LOWER_IS_BETTER]
    if unknown:
        raise KeyError(f'compare_results: no known direction for {unknown}.')

    summaries: Dict[str, Dict[str, Stats]] = {}
    rows: List[Tuple[str, bool, bool]] = []  # (label, lower better, is Δ)
    for m in keys:
        label = f'{m} {"↓" if DEFAULT_LOWER_IS_BETTER[m] else "↑"}'
        summaries[label] = {
            g: summarise([r.metrics[prefix + m] for r in by_group[g]])
            for g in order if reports(g, [prefix + m])
        }
        rows.append((label, DEFAULT_LOWER_IS_BETTER[m], False))

    # one metric per task for Δ_MTL (the first of `metrics` per task)
    delta_metrics: Dict[str, str] = {}
    for m in keys:
        if delta_includes_restoration or m not in RESTORATION_METRICS:
            delta_metrics.setdefault(_task(m), m)
    against = 'STL'
    if refs is None:
        against = reference
        refs = {
            k: summarise([r.metrics[k] for r in by_group[reference]]).mean
            for k in by_group[reference][0].metrics
            if reports(reference, [k])
        }
    delta_keys = [m for m in delta_metrics.values() if prefix + m in refs]
    # Δ_MTL only for the models that report every metric it averages
    delta_groups = [g for g in order
                    if reports(g, [prefix + m for m in delta_keys])]
    if not delta_groups:
        delta_keys = []
    notes = []
    missing = sorted(set(delta_metrics.values()) - set(delta_keys))
    if missing:
        notes.append('(no reference, left out of Δ_MTL: '
                     f'{", ".join(missing)})')
    if delta_keys:
        types = degradation_types(
            [r for r in runs if r.group in delta_groups], prefix, delta_keys)
        for group in [''] + types:
            label = f'Δ_MTL vs {against}' + (f' {group}' if group else '') \
                + ' (%)'
            summaries[label] = {
                g: summarise([
                    run_delta(r, refs, prefix, delta_keys, group)
                    for r in by_group[g]
                ])
                for g in delta_groups
            }
            rows.append((label, False, True))

    header = ['metric', f'{reference} (n={len(by_group[reference])})']
    for g in order[1:]:
        header += [f'{g} (n={len(by_group[g])})', f'Δ vs {reference}']
    lines = [header, ['---'] * len(header)]
    for label, lower, is_delta in rows:
        ref = summaries[label].get(reference)
        row = [label, ref.cell() if ref else NOT_REPORTED]
        for g in order[1:]:
            stats = summaries[label].get(g)
            if stats is None or ref is None:
                row += [stats.cell() if stats else NOT_REPORTED,
                        NOT_REPORTED]
                continue
            if is_delta:  # difference in points of Δ_MTL
                change = stats.mean - ref.mean
            else:
                change = delta_mtl({'m': stats.mean}, {'m': ref.mean},
                                   {'m': lower})
            mark = f' {IN_SPREAD_MARK}' if in_spread(stats, ref) else ''
            row += [stats.cell(), f'{change:+.2f}{mark}']
        lines.append(row)
    table = ['| ' + ' | '.join(r) + ' |' for r in lines]
    skipped = [m for m in metrics if m not in keys]
    if skipped:
        notes.append(f'(in no model\'s runs, left out: {", ".join(skipped)})')
    partial = [g for g in order
               if any(g not in summaries[label] for label, _, _ in rows)]
    if partial:
        notes.append(f'{NOT_REPORTED}: not reported by every run of '
                     f'{", ".join(partial)} (or no Δ without the reference).')
    notes.append(
        'Cells: mean ± sample std [min, max] over the runs. Δ: change of '
        f'the means against {reference} in % (positive = better; for '
        'Δ_MTL rows the difference in points). '
        f'{IN_SPREAD_MARK}: the gap is inside the seed spread, '
        '|mean difference| <= the larger of the two stds. '
        f'Δ_MTL over {", ".join(delta_keys) or "no metric"}.')
    return '\n'.join(table + notes), summaries


def runs_table(runs: Sequence[Run]) -> str:
    """Every run with its model, seed and file, as a Markdown table."""
    lines = ['| model | seed | metrics file |', '| --- | --- | --- |']
    lines += [f'| {r.group} | {r.seed} | {r.path} |' for r in runs]
    return '\n'.join(lines)


def plot_groups(summaries: Dict[str, Dict[str, Stats]],
                runs: Sequence[Run], path: str,
                prefix: str = 'mt/') -> None:
    """Plot the means with std error bars (and each run) per metric.

    Args:
        summaries (dict): Row label -> model -> :class:`Stats`, as
            :func:`compare_groups` returns them.
        runs (Sequence[Run]): The models' runs, drawn as points.
        path (str): Output image (PNG).
        prefix (str): Key prefix of the metric rows.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    labels = [k for k in summaries if not k.startswith('Δ_MTL')]
    labels += [k for k in summaries if k.startswith('Δ_MTL')][:1]  # overall
    cols = min(3, len(labels))
    rows = math.ceil(len(labels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows),
                             squeeze=False)
    for ax, label in zip(axes.flat, labels):
        groups = list(summaries[label])
        x = list(range(len(groups)))
        means = [summaries[label][g].mean for g in groups]
        stds = [summaries[label][g].std for g in groups]
        ax.errorbar(x, means, yerr=stds, fmt='o', capsize=4, color='C0')
        if not label.startswith('Δ_MTL'):
            metric = prefix + label.rsplit(' ', 1)[0]
            for i, g in enumerate(groups):
                values = [r.metrics[metric] for r in runs if r.group == g]
                ax.plot([i] * len(values), values, '.', color='C1',
                        alpha=0.6)
        ax.set_xticks(x)
        ax.set_xticklabels(groups, rotation=20)
        ax.set_xlim(-0.5, len(groups) - 0.5)
        ax.set_title(label, fontsize=10)
        ax.grid(axis='y', alpha=0.3)
    for ax in list(axes.flat)[len(labels):]:
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main_grouped(args: argparse.Namespace) -> str:
    """Run the several-runs-per-model comparison of ``args``."""
    groups = [list(g) for g in (args.run or [])]
    if args.results:
        if groups:
            raise SystemExit('compare_results: give runs either as '
                             'positional files or with --run, not both.')
        names = args.names or [
            f'model{i}' if i else 'baseline'
            for i in range(len(args.results))
        ]
        if len(names) != len(args.results):
            raise SystemExit(f'compare_results: {len(names)} --names for '
                             f'{len(args.results)} result files.')
        groups = [[n, p] for n, p in zip(names, args.results)]
    if not groups:
        raise SystemExit('compare_results: give --run NAME PATH [PATH ...] '
                         '(or result files).')
    runs = load_groups(groups, args.seeds)
    names = [g[0] for g in groups]
    refs = None
    stl_runs: List[Run] = []
    if args.stl is not None:
        if args.stl not in names:
            raise SystemExit(f'compare_results: --stl {args.stl!r} is not a '
                             f'--run name ({names}).')
        stl_runs = [r for r in runs if r.group == args.stl]
        runs = [r for r in runs if r.group != args.stl]
        refs = stl_references(stl_runs, args.prefix, args.metrics)
    elif args.stl_json is not None:
        refs = load_stl_json(args.stl_json, args.prefix)
    if not runs:
        raise SystemExit('compare_results: no model runs besides the STL '
                         'group.')
    if args.save_stl_refs:
        if refs is None:
            raise SystemExit('compare_results: --save-stl-refs needs --stl '
                             'or --stl-json.')
        with open(args.save_stl_refs, 'w') as f:
            json.dump(single_task_refs(refs, args.prefix, args.metrics), f,
                      indent=2, sort_keys=True)
    table, summaries = compare_groups(runs, args.reference, refs, args.prefix,
                                      args.metrics,
                                      args.delta_includes_restoration)
    parts = [runs_table(stl_runs + runs), table]
    if args.stl is not None:
        primary = single_task_refs(
            {k: v for k, v in refs.items() if k[len(args.prefix):].count(
                '/') == 0}, args.prefix, args.metrics)
        parts.insert(1, 'STL references (mean over each task\'s runs): ' +
                     ', '.join(f'{k} {v:.4g}' for k, v in primary.items()))
    if args.plot:
        plot_groups(summaries, runs, args.plot, args.prefix)
        parts.append(f'plot: {args.plot}')
    text = '\n\n'.join(parts)
    print(text)
    return text


def main(argv: Optional[Sequence[str]] = None) -> str:
    args = parse_args(argv)
    grouped = any(
        v is not None for v in (args.run, args.seeds, args.reference,
                                args.stl, args.stl_json, args.save_stl_refs,
                                args.plot))
    if grouped:
        return main_grouped(args)
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
