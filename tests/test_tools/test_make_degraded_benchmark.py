"""tools/misc/make_degraded_benchmark.py: identical, resumable, guarded."""
import hashlib
import importlib.util
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose

from mmallnet.datasets.degraded_benchmark import (
    benchmark_sets,
    make_degraded_benchmark,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'misc', 'make_degraded_benchmark.py')
NYUD_CONFIG = osp.join(REPO, 'configs', '_base_', 'datasets',
                       'nyud_multi_task.py')
DEFAULT_SETS = ['noise_15', 'noise_25', 'noise_50', 'rain', 'fog', 'blur']


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('make_degraded_benchmark',
                                                  TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tree_hashes(root: str) -> dict:
    """Relative path -> sha256 of every file under ``root``."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = hashlib.sha256(
                    f.read()).hexdigest()
    return out


def run(tool, nyud_root, out, *extra):
    return tool.main([
        NYUD_CONFIG, '--data-root', nyud_root['root'], '--out', str(out),
        '--no-progress', *extra
    ])


@pytest.fixture
def reference(tool, nyud_root, tmp_path):
    """A complete copy of the fixture's val split, written in-process."""
    out = tmp_path / 'ref'
    manifest = run(tool, nyud_root, out, '--workers', '0')
    return dict(out=str(out), manifest=manifest, hashes=tree_hashes(out))


def test_layout_manifest_and_worker_independence(tool, nyud_root, tmp_path,
                                                  reference):
    manifest = reference['manifest']
    assert list(manifest['sets']) == DEFAULT_SETS
    assert manifest['ids'] == ['0003', '0004']
    settings = manifest['settings']
    assert settings['seed'] == 0
    assert settings['dataset']['type'] == 'NYUDMultiTaskDataset'
    assert settings['dataset']['split'] == 'val'
    assert settings['tool'] == 'tools/misc/make_degraded_benchmark.py'
    expected_files = {'manifest.json'} | {
        osp.join(s, 'images', f'{i}.png')
        for s in DEFAULT_SETS for i in ('0003', '0004')
    }
    assert set(reference['hashes']) == expected_files
    for name in DEFAULT_SETS:
        for img_id, record in manifest['images'][name].items():
            path = osp.join(name, 'images', f'{img_id}.png')
            assert record['sha256'] == reference['hashes'][path]
    noise = manifest['images']['noise_25']['0003']['degradation_params']
    assert noise == {'sigma': 25.0, 'seed': 0}
    fog = manifest['images']['fog']['0004']['degradation_params']
    assert fog['depth_source'] == 'gt' and 0.6 <= fog['beta'] <= 1.8
    assert 'depth_sha256' in manifest['images']['fog']['0004']
    for key in ('density', 'length', 'angle'):
        assert key in manifest['images']['rain']['0003']['degradation_params']
    # two worker processes: the same bytes, the same manifest
    other = tmp_path / 'workers2'
    run(tool, nyud_root, other, '--workers', '2')
    assert tree_hashes(other) == reference['hashes']


def test_stored_images_equal_the_on_the_fly_transforms(nyud_root, reference):
    """Each stored PNG is the set's transform applied in a pipeline."""
    out = reference['out']
    for name, cfg in (('noise_50', dict(type='GaussianNoise', sigmas=50)),
                      ('fog', dict(type='Fog')),
                      ('blur', dict(type='MotionBlur'))):
        pipeline = Compose([
            dict(type='LoadImageFromFile'),
            dict(type='LoadMultiTaskAnnotations', tasks=['depth']),
            dict(cfg, seed=0),
        ])
        for img_id in ('0003', '0004'):
            results = pipeline(
                dict(
                    img_path=osp.join(nyud_root['root'], 'images',
                                      f'{img_id}.png'),
                    img_id=img_id,
                    ann_paths=dict(
                        depth=osp.join(nyud_root['root'], 'depth',
                                       f'{img_id}.npy'))))
            stored = cv2.imread(osp.join(out, name, 'images',
                                         f'{img_id}.png'))
            np.testing.assert_array_equal(stored, results['img'])
            record = reference['manifest']['images'][name][img_id]
            assert record['degradation_params'] == results[
                'degradation_params']
            clean = nyud_root['samples'][img_id]['img'][..., ::-1]
            assert not np.array_equal(stored, clean)


def test_interrupted_run_resumes_to_identical_output(tool, nyud_root,
                                                     tmp_path, reference):
    out = tmp_path / 'partial'
    shutil.copytree(reference['out'], out)
    # simulate an interruption: the last sets never started, one image of
    # 'rain' was written but not yet recorded, one was never written, a
    # temporary file was left behind; and one kept file was corrupted
    with open(out / 'manifest.json') as f:
        manifest = json.load(f)
    for name in ('fog', 'blur'):
        manifest['images'][name] = {}
        shutil.rmtree(out / name)
    del manifest['images']['rain']['0004']
    os.remove(out / 'noise_25' / 'images' / '0003.png')
    (out / 'rain' / 'images' / '0003.png.tmp-123').write_bytes(b'partial')
    (out / 'noise_50' / 'images' / '0004.png').write_bytes(b'garbage')
    with open(out / 'manifest.json', 'w') as f:
        json.dump(manifest, f)
    kept = out / 'noise_15' / 'images' / '0003.png'
    kept_mtime = os.stat(kept).st_mtime_ns

    run(tool, nyud_root, out, '--workers', '2')
    assert tree_hashes(out) == reference['hashes']
    # verified images are not rewritten
    assert os.stat(kept).st_mtime_ns == kept_mtime


def test_other_settings_on_an_existing_dir_raise(tool, nyud_root, tmp_path,
                                                 reference):
    out = reference['out']
    with pytest.raises(ValueError, match='seed: 0 != 1'):
        run(tool, nyud_root, out, '--seed', '1')
    with pytest.raises(ValueError, match="dataset.split: 'val' != 'train'"):
        run(tool, nyud_root, out, '--split', 'train')
    # another definition of an existing set
    sets = benchmark_sets(['rain'], transforms=dict(rain=dict(length=15)))
    with pytest.raises(ValueError, match='sets.rain'):
        make_degraded_benchmark(
            dict(type='NYUDMultiTaskDataset', data_root=nyud_root['root'],
                 split='val'), out, sets=sets, progress=False)
    assert tree_hashes(out) == reference['hashes']  # nothing was touched

    # a clean image that changed since the copy was made
    moved = tmp_path / 'changed_data'
    shutil.copytree(nyud_root['root'], moved)
    img = cv2.imread(str(moved / 'images' / '0004.png'))
    cv2.imwrite(str(moved / 'images' / '0004.png'), 255 - img)
    with pytest.raises(ValueError, match='0004.*differs from the one'):
        tool.main([NYUD_CONFIG, '--data-root', str(moved), '--out', out,
                   '--no-progress'])

    # a non-empty directory that is no benchmark
    other = tmp_path / 'not_a_benchmark'
    other.mkdir()
    (other / 'notes.txt').write_text('mine')
    with pytest.raises(ValueError, match='no manifest.json'):
        run(tool, nyud_root, other)


def test_new_sets_merge_into_an_existing_dir(tool, nyud_root, reference):
    out = reference['out']
    manifest = run(tool, nyud_root, out, '--types', 'fog', 'blur',
                   '--fog-levels', '0.6', '1.8', '--blur-levels', '9')
    assert list(manifest['sets']) == DEFAULT_SETS + [
        'fog_0.6', 'fog_1.8', 'blur_9'
    ]
    hashes = tree_hashes(out)
    for path, digest in reference['hashes'].items():
        if path != 'manifest.json':
            assert hashes[path] == digest
    for img_id in ('0003', '0004'):
        assert manifest['images']['fog_0.6'][img_id]['degradation_params'][
            'beta'] == 0.6
        assert manifest['images']['blur_9'][img_id]['degradation_params'][
            'kernel_size'] == 9
    assert manifest['sets']['fog_1.8']['transform'] == dict(type='Fog',
                                                            beta=1.8)


def test_datasets_without_depth_fog_with_the_prior(tool, tmp_path):
    from mmallnet.testing import write_pascal_context
    root = str(tmp_path / 'PASCALContext')
    write_pascal_context(root)
    out = tmp_path / 'pascal_degraded'
    manifest = tool.main([
        'PascalContextMultiTaskDataset', '--data-root', root, '--out',
        str(out), '--types', 'noise', 'fog', '--noise-levels', '25',
        '--no-progress'
    ])
    assert list(manifest['sets']) == ['noise_25', 'fog']
    assert manifest['ids'] == ['2008_000007', '2008_000008']
    for record in manifest['images']['fog'].values():
        assert record['degradation_params']['depth_source'] == 'prior'
        assert 'depth_sha256' not in record


def test_benchmark_sets_levels_and_errors():
    sets = benchmark_sets()
    assert list(sets) == DEFAULT_SETS
    assert sets['noise_15']['transform'] == dict(type='GaussianNoise',
                                                 sigmas=15)
    assert sets['rain'] == dict(type='rain', level=None,
                                level_param='density',
                                transform=dict(type='RainStreaks'))
    sets = benchmark_sets(['noise', 'rain'], levels=dict(
        noise=None, rain=[0.002, 0.008]))
    assert list(sets) == ['noise', 'rain_0.002', 'rain_0.008']
    assert sets['rain_0.008']['transform']['density'] == 0.008
    with pytest.raises(ValueError, match='Unknown degradation type'):
        benchmark_sets(['snow'])
    with pytest.raises(ValueError, match='listed twice'):
        benchmark_sets(['fog', 'fog'])
    with pytest.raises(ValueError, match='cannot be built'):
        benchmark_sets(['blur'], levels=dict(blur=[8]))  # even kernel
    with pytest.raises(ValueError, match='expected'):
        benchmark_sets(['fog'], transforms=dict(fog=dict(type='MotionBlur')))


# ---------------------------------------------------------------------------
# MMSeg's own datasets (ADE20K layout)
# ---------------------------------------------------------------------------
ADE_PREFIX = ['img_path=images/validation',
              'seg_map_path=annotations/validation']


def test_mmseg_dataset_class_and_config(tool, tmp_path):
    from mmallnet.datasets.transforms import Fog
    from mmallnet.testing.ade20k import write_ade20k, write_tiny_seg_config
    ade = write_ade20k(str(tmp_path / 'ADE'))
    out = tmp_path / 'ade_degraded'
    manifest = tool.main([
        'ADE20KDataset', '--data-root', ade['root'], '--data-prefix',
        *ADE_PREFIX, '--out', str(out), '--types', 'noise', 'fog',
        '--noise-levels', '25', '--no-progress'
    ])
    # ids: the image paths relative to the image folder, no extension
    assert manifest['ids'] == ade['ids']
    dataset = manifest['settings']['dataset']
    assert dataset['type'] == 'ADE20KDataset' and dataset['split'] is None
    assert dataset['img_dir'] == osp.join(ade['root'], 'images/validation')
    for set_name in ('noise_25', 'fog'):
        for img_id in ade['ids']:
            assert osp.isfile(out / set_name / 'images' / f'{img_id}.png')
    # fog without depth: the prior, as on the fly
    for img_id, record in manifest['images']['fog'].items():
        params = record['degradation_params']
        assert params['depth_source'] == 'prior'
        clean = cv2.imread(
            osp.join(ade['root'], 'images/validation', img_id + '.jpg'))
        on_the_fly = Fog(seed=0)(dict(img=clean, img_id=img_id))['img']
        np.testing.assert_array_equal(
            cv2.imread(str(out / 'fog' / 'images' / f'{img_id}.png')),
            on_the_fly)
    # the same copy from a stock MMSeg config (its test set); it resumes
    config = write_tiny_seg_config(str(tmp_path / 'tiny.py'), ade['root'])
    again = tool.main([
        config, '--dataloader', 'test', '--out', str(out), '--types',
        'noise', 'fog', '--noise-levels', '25', '--no-progress'
    ])
    assert again['images'] == manifest['images']
    with pytest.raises(ValueError, match='ADE20KDataset has no split'):
        tool.main(['ADE20KDataset', '--data-root', ade['root'], '--split',
                   'val', '--out', str(tmp_path / 'x')])


def test_mmseg_copy_read_back_keeps_the_annotations(tmp_path):
    from mmseg.registry import DATASETS

    from mmallnet.testing.ade20k import write_ade20k
    ade = write_ade20k(str(tmp_path / 'ADE'))
    out = str(tmp_path / 'ade_degraded')
    kwargs = dict(data_root=ade['root'],
                  data_prefix=dict(img_path='images/validation',
                                   seg_map_path='annotations/validation'))
    make_degraded_benchmark(dict(type='ADE20KDataset', **kwargs), out,
                            sets=benchmark_sets(['noise', 'rain']),
                            progress=False)
    pipeline = [
        dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
        dict(type='LoadDegradedImage'),
        dict(type='PackSegInputs', meta_keys=(
            'img_path', 'seg_map_path', 'degradation_type',
            'degradation_params'))
    ]
    bench = DATASETS.build(dict(
        type='DegradedBenchmarkDataset', dataset_type='ADE20KDataset',
        degraded_root=out, pipeline=pipeline, **kwargs))
    clean = DATASETS.build(dict(type='ADE20KDataset', pipeline=pipeline,
                                **kwargs))
    assert len(bench) == 5 * 3
    for k, set_name in enumerate(['clean', 'noise_15', 'noise_25',
                                  'noise_50', 'rain']):
        for i, img_id in enumerate(ade['ids']):
            sample = bench[3 * k + i]
            meta = sample['data_samples'].metainfo
            assert meta['degradation_type'] == set_name
            # annotation path and labels of the clean dataset
            assert meta['seg_map_path'] == osp.join(
                ade['root'], 'annotations/validation', img_id + '.png')
            assert torch.equal(sample['data_samples'].gt_sem_seg.data,
                               clean[i]['data_samples'].gt_sem_seg.data)
            if set_name != 'clean':
                stored = cv2.imread(osp.join(out, set_name, 'images',
                                             img_id + '.png'))
                assert torch.equal(sample['inputs'], torch.from_numpy(
                    stored.transpose(2, 0, 1).copy()))
    assert bench.metainfo['classes'] == clean.metainfo['classes']
