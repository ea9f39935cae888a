"""tools/analysis_tools/compare_results.py: table values and Δ_MTL."""
import importlib.util
import json
import os
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'compare_results.py')

BASELINE = {
    'mt/semseg.mIoU': 20.0, 'mt/depth.rmse': 2.0, 'mt/normals.mean': 40.0,
    'mt/boundary.odsF_proxy': 50.0, 'mt/restoration.psnr': 20.0,
    'mt/fog/semseg.mIoU': 10.0, 'mt/fog/depth.rmse': 1.0
}
MODEL = {
    'mt/semseg.mIoU': 22.0, 'mt/depth.rmse': 1.5, 'mt/normals.mean': 44.0,
    'mt/boundary.odsF_proxy': 50.0, 'mt/restoration.psnr': 25.0,
    'mt/fog/semseg.mIoU': 12.0, 'mt/fog/depth.rmse': 1.5
}


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('compare_results', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_run(work_dir: str, timestamp: str, metrics: dict) -> str:
    """Write ``metrics`` where tools/test.py writes them."""
    folder = osp.join(work_dir, timestamp)
    os.makedirs(folder)
    path = osp.join(folder, f'{timestamp}.json')
    with open(path, 'w') as f:
        json.dump(metrics, f)
    return path


def cells(table: str, metric: str):
    """The cells of the row that starts with ``metric``."""
    for line in table.splitlines():
        parts = [p.strip() for p in line.strip('|').split('|')]
        if parts[0].startswith(metric):
            return parts[1:]
    raise AssertionError(f'no row {metric!r} in\n{table}')


def test_table_and_delta(tool, tmp_path):
    base = write_run(str(tmp_path / 'base'), '20260101_000000', BASELINE)
    model = write_run(str(tmp_path / 'model'), '20260101_000001', MODEL)
    table = tool.main([base, model, '--names', 'mtl', 'allnet'])
    assert cells(table, 'semseg.mIoU') == ['20', '22', '+10.00']
    # lower is better: 2.0 -> 1.5 is +25 %, 40 -> 44 degrees is -10 %
    assert cells(table, 'depth.rmse') == ['2', '1.5', '+25.00']
    assert cells(table, 'normals.mean') == ['40', '44', '-10.00']
    assert cells(table, 'restoration.psnr') == ['20', '25', '+25.00']
    # Δ_MTL over the four tasks (PSNR excluded): (10 + 25 - 10 + 0) / 4
    assert cells(table, 'Δ_MTL')[-1] == '+6.25'
    assert 'skipped: parts.mIoU, saliency.maxF' in table
    with_psnr = tool.main([base, model, '--delta-includes-restoration'])
    assert cells(with_psnr, 'Δ_MTL')[-1] == '+10.00'  # (25 + 25) / 5


def test_work_dir_and_prefix(tool, tmp_path):
    base_dir = tmp_path / 'base'
    write_run(str(base_dir), '20260101_000000', BASELINE)
    # A training run's scalars (one line per logged iteration) are skipped.
    train_dir = base_dir / '20260101_000005'
    train_dir.mkdir()
    (train_dir / '20260101_000005.json').write_text(
        '{"lr": 0.1, "iter": 25}\n{"lr": 0.1, "iter": 50}\n')
    model = write_run(str(tmp_path / 'model'), '20260101_000001', MODEL)
    table = tool.main([str(base_dir), model, '--prefix', 'mt/fog/'])
    assert cells(table, 'semseg.mIoU') == ['10', '12', '+20.00']
    assert cells(table, 'depth.rmse') == ['1', '1.5', '-50.00']
    assert cells(table, 'Δ_MTL')[-1] == '-15.00'


def test_errors(tool, tmp_path):
    base = write_run(str(tmp_path / 'base'), '20260101_000000', BASELINE)
    with pytest.raises(FileNotFoundError, match='neither'):
        tool.main([base, str(tmp_path / 'missing.json')])
    with pytest.raises(FileNotFoundError, match='no test metrics'):
        tool.main([base, str(tmp_path)])
    other = tmp_path / 'other.json'
    other.write_text(json.dumps({'mIoU': 1.0}))
    with pytest.raises(ValueError, match="no multi-task metrics"):
        tool.main([base, str(other)])
    with pytest.raises(KeyError, match='none of'):
        tool.main([base, base, '--metrics', 'parts.mIoU'])
    with pytest.raises(SystemExit, match='--names'):
        tool.main([base, base, '--names', 'a'])


# --- several runs (seeds) per model --------------------------------------

def write_seeded_run(work_dir, timestamp: str, metrics: dict,
                     seed=None, where: str = 'log') -> str:
    """A test run as tools/test.py leaves it; the seed in the log MMEngine
    writes (``seed: N`` of the runtime environment) or in the dumped
    ``vis_data/config.py``."""
    path = write_run(str(work_dir), timestamp, metrics)
    folder = osp.dirname(path)
    if seed is not None and where == 'log':
        with open(osp.join(folder, f'{timestamp}.log'), 'w') as f:
            f.write('System environment:\n    sys.platform: linux\n\n'
                    'Runtime environment:\n    cudnn_benchmark: False\n'
                    f'    seed: {seed}\n    deterministic: False\n')
    elif seed is not None:
        os.makedirs(osp.join(folder, 'vis_data'))
        with open(osp.join(folder, 'vis_data', 'config.py'), 'w') as f:
            f.write(f"default_scope = 'mmseg'\nrandomness = dict(seed={seed})"
                    '\n')
    return path


def metrics_of(semseg, depth, noise_semseg, noise_depth, psnr=20.0):
    return {
        'mt/semseg.mIoU': semseg, 'mt/depth.rmse': depth,
        'mt/noise/semseg.mIoU': noise_semseg,
        'mt/noise/depth.rmse': noise_depth, 'mt/restoration.psnr': psnr
    }


@pytest.fixture
def seeded(tmp_path):
    """Two MTL seeds, two ALLNet seeds, one STL run per task."""
    files = dict(
        mtl=[
            write_seeded_run(tmp_path / 'mtl_s0', '20260101_000000',
                             metrics_of(40.0, 0.50, 30.0, 0.80), seed=0),
            write_seeded_run(tmp_path / 'mtl_s1', '20260101_000000',
                             metrics_of(42.0, 0.54, 32.0, 0.84), seed=1,
                             where='config'),
        ],
        allnet=[
            write_seeded_run(tmp_path / 'allnet_s0', '20260101_000000',
                             metrics_of(42.0, 0.45, 33.0, 0.72)),
            write_seeded_run(tmp_path / 'allnet_s1', '20260101_000000',
                             metrics_of(46.0, 0.55, 36.0, 0.88)),
        ],
        stl=[
            write_seeded_run(tmp_path / 'stl_semseg', '20260101_000000', {
                'mt/semseg.mIoU': 40.0, 'mt/semseg.aAcc': 70.0,
                'mt/noise/semseg.mIoU': 30.0}, seed=0),
            write_seeded_run(tmp_path / 'stl_depth', '20260101_000000', {
                'mt/depth.rmse': 0.5, 'mt/noise/depth.rmse': 0.8}, seed=0),
        ])
    return files


def run_args(files, *extra):
    args = []
    for name in ('mtl', 'allnet', 'stl'):
        args += ['--run', name] + files[name]
    return args + list(extra)


def test_groups_mean_std_and_delta_against_stl(tool, seeded):
    text = tool.main(run_args(seeded, '--stl', 'stl', '--seeds', '7', '8'))
    # mtl: semseg 40, 42 -> mean 41, std sqrt(2) = 1.414; allnet 42, 46
    # -> 44 ± 2.828; Δ = (44 - 41) / 41 = +7.32 %, outside the spread
    assert cells(text, 'semseg.mIoU') == [
        '41 ± 1.4 [40, 42]', '44 ± 2.8 [42, 46]', '+7.32'
    ]
    # depth: 0.52 ± 0.028 vs 0.50 ± 0.071: Δ = +3.85 %, inside the spread
    assert cells(text, 'depth.rmse') == [
        '0.52 ± 0.028 [0.5, 0.54]', '0.5 ± 0.071 [0.45, 0.55]', '+3.85 ~'
    ]
    # Δ_MTL vs STL (semseg 40, depth 0.5), per run:
    #   mtl s0: (0 + 0) / 2 = 0; s1: (+5 - 8) / 2 = -1.5 -> -0.75 ± 1.06
    #   allnet s0: (+5 + 10) / 2 = 7.5; s1: (+15 - 10) / 2 = 2.5 -> 5 ± 3.54
    assert cells(text, 'Δ_MTL vs STL (%)') == [
        '-0.75 ± 1.1 [-1.5, 0]', '5 ± 3.5 [2.5, 7.5]', '+5.75'
    ]
    # noise: refs semseg 30, depth 0.8
    #   mtl s0: 0; s1: (+6.667 - 5) / 2 = 0.8333
    #   allnet s0: (+10 + 10) / 2 = 10; s1: (+20 - 10) / 2 = 5
    assert cells(text, 'Δ_MTL vs STL noise (%)') == [
        '0.4167 ± 0.59 [0, 0.8333]', '7.5 ± 3.5 [5, 10]', '+7.08'
    ]
    assert 'STL references (mean over each task\'s runs): semseg.mIoU 40, ' \
        'depth.rmse 0.5' in text
    # restoration PSNR is reported, not in Δ_MTL; STL runs are no column
    assert cells(text, 'restoration.psnr')[-1] == '+0.00 ~'
    assert 'Δ_MTL over semseg.mIoU, depth.rmse.' in text
    assert '| stl (n=' not in text


def test_delta_mtl_against_stl_is_exact(tool, seeded):
    runs = tool.load_groups([['allnet'] + seeded['allnet'],
                             ['stl'] + seeded['stl']])
    refs = tool.stl_references([r for r in runs if r.group == 'stl'])
    assert refs == {
        'mt/semseg.mIoU': 40.0, 'mt/semseg.aAcc': 70.0,
        'mt/noise/semseg.mIoU': 30.0, 'mt/depth.rmse': 0.5,
        'mt/noise/depth.rmse': 0.8
    }
    keys = ['semseg.mIoU', 'depth.rmse']
    assert tool.run_delta(runs[0], refs, 'mt/', keys) == pytest.approx(7.5)
    assert tool.run_delta(runs[1], refs, 'mt/', keys,
                          'noise') == pytest.approx(5.0)
    stats = tool.summarise([7.5, 2.5])
    assert (stats.mean, stats.min, stats.max, stats.n) == (5.0, 2.5, 7.5, 2)
    assert stats.std == pytest.approx(12.5**0.5)


def test_stl_seeds_are_averaged_and_stl_json(tool, seeded, tmp_path):
    extra = write_seeded_run(tmp_path / 'stl_semseg_s1', '20260101_000000', {
        'mt/semseg.mIoU': 44.0, 'mt/noise/semseg.mIoU': 34.0}, seed=1)
    runs = tool.load_groups([['stl'] + seeded['stl'] + [extra]])
    refs = tool.stl_references(runs)
    assert refs['mt/semseg.mIoU'] == 42.0
    assert refs['mt/noise/semseg.mIoU'] == 32.0
    out = tmp_path / 'refs.json'
    tool.main(run_args(seeded, '--stl', 'stl', '--save-stl-refs', str(out)))
    # the single_task_refs form of MultiTaskMetric: primary metrics only
    assert json.loads(out.read_text()) == {
        'semseg.mIoU': 40.0, 'noise/semseg.mIoU': 30.0, 'depth.rmse': 0.5,
        'noise/depth.rmse': 0.8
    }
    with_json = tool.main(
        ['--run', 'mtl'] + seeded['mtl'] + ['--run', 'allnet'] +
        seeded['allnet'] + ['--stl-json', str(out)])
    assert cells(with_json, 'Δ_MTL vs STL (%)')[1] == '5 ± 3.5 [2.5, 7.5]'
    # a type without its own reference falls back to the overall one
    (tmp_path / 'overall.json').write_text(
        json.dumps({'mt/semseg.mIoU': 40.0, 'depth.rmse': 0.5}))
    fallback = tool.main(['--run', 'allnet'] + seeded['allnet'] +
                         ['--stl-json', str(tmp_path / 'overall.json')])
    # allnet noise vs 40 / 0.5: s0 (-17.5 - 44) / 2, s1 (-10 - 76) / 2
    assert cells(fallback, 'Δ_MTL vs STL noise (%)')[0] == (
        '-36.88 ± 8.7 [-43, -30.75]')
    with pytest.raises(ValueError, match='exactly one task'):
        tool.stl_references(tool.load_groups([['x'] + seeded['mtl']]))


def test_seeds_are_listed(tool, seeded, tmp_path):
    text = tool.main(run_args(seeded, '--stl', 'stl'))
    listing = {}
    for line in text.splitlines():
        parts = [p.strip() for p in line.strip('|').split('|')]
        if len(parts) == 3 and parts[2].endswith('.json'):
            listing[parts[2]] = (parts[0], parts[1])
    assert listing[seeded['mtl'][0]] == ('mtl', '0')  # from the log
    assert listing[seeded['mtl'][1]] == ('mtl', '1')  # from vis_data/config
    assert listing[seeded['allnet'][0]] == ('allnet', 'unknown')
    assert len(listing) == 6
    # --seeds: one per run of each group, for runs that record none
    text = tool.main(run_args(seeded, '--stl', 'stl', '--seeds', '3', '4'))
    assert f'| allnet | 3 | {seeded["allnet"][0]} |' in text
    assert f'| allnet | 4 | {seeded["allnet"][1]} |' in text
    assert f'| mtl | 1 | {seeded["mtl"][1]} |' in text  # recorded wins
    with pytest.raises(SystemExit, match='--seeds fit neither'):
        tool.main(run_args(seeded, '--seeds', '1', '2', '3'))
    # a training run of the same work dir gives its seed (a test run may
    # have been started without the training's randomness.seed)
    work = tmp_path / 'trained'
    test_file = write_seeded_run(work, '20260102_000000',
                                 metrics_of(1, 1, 1, 1), seed=0)
    # (trained with --no-validate: a log, no <timestamp>.json)
    train = work / '20260101_000000'
    train.mkdir()
    (train / '20260101_000000.log').write_text(
        'Runtime environment:\n    seed: 5\n'
        'mmengine - INFO - Iter(train) [ 1/500]  loss: 1.0\n')
    assert tool.read_seed(test_file) == '5'
    # a folder whose log has no training iterations is not a training run
    (train / '20260101_000000.log').write_text('    seed: 5\n')
    assert tool.read_seed(test_file) == '0'
    assert tool.find_metrics_file(str(work)) == test_file


def test_in_spread_flag(tool):
    a = tool.summarise([10.0, 12.0])  # 11 ± 1.414
    assert tool.in_spread(a, tool.summarise([12.0, 12.0]))  # gap 1 <= 1.41
    assert not tool.in_spread(a, tool.summarise([13.0, 13.0]))  # gap 2
    # the larger std counts: gap 2 <= 2.83
    assert tool.in_spread(a, tool.summarise([11.0, 15.0]))
    # one run each: std 0, only a tie is inside
    assert tool.in_spread(tool.summarise([1.0]), tool.summarise([1.0]))
    assert not tool.in_spread(tool.summarise([1.0]), tool.summarise([1.1]))


def test_reference_and_plot(tool, seeded, tmp_path):
    png = tmp_path / 'cmp.png'
    text = tool.main(run_args(seeded, '--stl', 'stl', '--reference',
                              'allnet', '--plot', str(png)))
    assert text.splitlines()[-1] == f'plot: {png}'
    assert '| metric | allnet (n=2) | mtl (n=2) | Δ vs allnet |' in text
    # (41 - 44) / 44 = -6.82 %
    assert cells(text, 'semseg.mIoU')[-1] == '-6.82'
    import cv2
    data = png.read_bytes()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    image = cv2.imread(str(png))
    assert image is not None and image.ndim == 3 and min(image.shape[:2]) > 50
    # without STL references: Δ_MTL against the reference model's means
    text = tool.main(['--run', 'mtl'] + seeded['mtl'] + ['--run', 'allnet'] +
                     seeded['allnet'] + ['--reference', 'mtl'])
    # allnet vs (41, 0.52): s0 (+2.439 + 13.46) / 2 = 7.95,
    # s1 (+12.20 - 5.769) / 2 = 3.213; mtl's own runs: ±0.7036 around 0
    assert cells(text, 'Δ_MTL vs mtl (%)') == [
        '0 ± 0.99 [-0.7036, 0.7036]', '5.582 ± 3.3 [3.213, 7.95]', '+5.58'
    ]
    assert cells(text, 'Δ_MTL vs mtl noise (%)')[0].startswith('0 ± ')


def test_grouped_errors(tool, seeded):
    with pytest.raises(SystemExit, match='not a --run name'):
        tool.main(run_args(seeded, '--stl', 'other'))
    with pytest.raises(SystemExit, match='--reference'):
        tool.main(run_args(seeded, '--stl', 'stl', '--reference', 'x'))
    with pytest.raises(SystemExit, match='given twice'):
        tool.main(['--run', 'a', seeded['mtl'][0], '--run', 'a',
                   seeded['mtl'][1]])
    with pytest.raises(SystemExit, match='has no PATH'):
        tool.main(['--run', 'a'])
    with pytest.raises(SystemExit, match='not both'):
        tool.main([seeded['mtl'][0], '--run', 'a', seeded['mtl'][1]])


def test_help_prints(tool, capsys):
    """Help strings with a literal % are escaped for argparse."""
    with pytest.raises(SystemExit) as exit_info:
        tool.parse_args(['--help'])
    assert exit_info.value.code == 0
    out = ' '.join(capsys.readouterr().out.split())
    assert 'the model the Δ % are taken against (default: the first)' in out


def test_models_with_some_metrics_get_dashes(tool, seeded, tmp_path):
    """A restorer (PSNR only) and a semseg-only model sit in the same table:
    ``-`` where they report nothing, Δ_MTL only for the models with every
    Δ_MTL metric."""
    restorer = [
        write_seeded_run(tmp_path / f'restorer_s{s}', '20260101_000000', {
            'mt/restoration.psnr': psnr, 'mt/noise/restoration.psnr': psnr})
        for s, psnr in ((0, 24.0), (1, 26.0))
    ]
    semseg_only = [write_seeded_run(
        tmp_path / 'seg', '20260101_000000', {
            'mt/semseg.mIoU': 41.0, 'mt/noise/semseg.mIoU': 31.0})]
    text = tool.main(run_args(seeded, '--stl', 'stl') + [
        '--run', 'restorer'] + restorer + ['--run', 'seg'] + semseg_only)
    assert ('| metric | mtl (n=2) | allnet (n=2) | Δ vs mtl | restorer (n=2) '
            '| Δ vs mtl | seg (n=1) | Δ vs mtl |') in text
    # PSNR: mtl 20 (both seeds) vs restorer 25 ± 1.414: +25 %
    assert cells(text, 'restoration.psnr')[3:5] == ['25 ± 1.4 [24, 26]',
                                                    '+25.00']
    assert cells(text, 'restoration.psnr')[5:] == ['-', '-']
    # semseg: the restorer has none; seg 41 vs mtl 41: +0 %
    assert cells(text, 'semseg.mIoU')[3:] == ['-', '-', '41 ± 0 [41, 41]',
                                              '+0.00 ~']
    assert cells(text, 'depth.rmse')[3:] == ['-', '-', '-', '-']
    # Δ_MTL needs semseg and depth: mtl and allnet only, unchanged
    assert cells(text, 'Δ_MTL vs STL (%)') == [
        '-0.75 ± 1.1 [-1.5, 0]', '5 ± 3.5 [2.5, 7.5]', '+5.75', '-', '-',
        '-', '-'
    ]
    assert '-: not reported by every run of restorer, seg' in text
